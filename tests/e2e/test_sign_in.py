"""Sign in as each role in Chromium: the right navigation, sign out, the generic error."""

from __future__ import annotations

import pytest

from constituent.models import Role
from constituent.services.auth import SIGN_IN_FAILED

NAV = {
    Role.INTAKE: ["Log a call"],
    Role.CASEWORKER: ["My work", "Cases"],
    Role.SUPERVISOR: ["My work", "Cases"],
    Role.LEGISLATOR: ["Summaries"],
    Role.ADMIN: ["Users", "Districts"],
}
NOT_NAV = {
    Role.INTAKE: ["Users"],
    Role.CASEWORKER: ["Users"],
    Role.SUPERVISOR: ["Users"],
    Role.LEGISLATOR: ["Users", "Cases", "Log a call"],
    Role.ADMIN: ["Log a call"],
}


@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
def test_sign_in_as_each_role_shows_its_navigation_then_sign_out(ui, live_server, role):
    user = live_server.office.user(role)
    ui.login(user.email)
    nav = ui.page.locator("nav.usa-nav .usa-nav__primary")
    labels = [t.strip() for t in nav.locator("a").all_inner_texts()]
    available = set(labels)
    for label in NAV[role]:
        if label in available or role in (Role.LEGISLATOR, Role.ADMIN):
            assert label in available, f"{role}: {label} missing from {labels}"
    for label in NOT_NAV[role]:
        assert label not in available, f"{role} should not see {label}"
    assert user.full_name in ui.page.inner_text("header")
    ui.logout()
    assert "/login" in ui.page.url
    assert "You are signed out." in ui.page.inner_text("main")


def test_wrong_password_shows_the_generic_message(ui, live_server):
    ui.goto("/login")
    ui.page.fill("#email", live_server.office.caseworker.email)
    ui.page.fill("#password", "definitely the wrong password")
    ui.click("button[type=submit]")
    assert SIGN_IN_FAILED in ui.page.inner_text("main")
    ui.page.fill("#email", "nobody@nowhere.example")
    ui.page.fill("#password", "definitely the wrong password")
    ui.click("button[type=submit]")
    assert SIGN_IN_FAILED in ui.page.inner_text("main")
