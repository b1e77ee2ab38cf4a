"""The capability map: one place says who may do what; the rest of the code asks it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from constituent.models import Role
from constituent.services import permissions
from constituent.services.permissions import Action, Capability, may
from tests import factories
from tests.case_helpers import open_case

PACKAGE = Path(__file__).resolve().parent.parent / "constituent"
# Where roles may be named: the map itself, the model, and the demo data that creates users.
ROLE_HOMES = {"services/permissions.py", "models/users.py", "services/demo.py"}
ROLE_TEST = re.compile(r"Role\.[A-Z]+|\.role\s*(==|!=|in\b|not\s+in\b)")


def test_no_role_is_named_outside_the_capability_map():
    """Views, services, search and templates ask ``may``; none tests a role of its own."""
    found = []
    for path in sorted(PACKAGE.rglob("*")):
        relative = path.relative_to(PACKAGE).as_posix()
        if path.suffix not in (".py", ".html") or relative in ROLE_HOMES:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if ROLE_TEST.search(line):
                found.append(f"{relative}:{number}: {line.strip()}")
    assert not found, "\n".join(found)


def test_the_role_scan_would_notice_a_role_tuple():
    assert ROLE_TEST.search("WRITERS = (Role.CASEWORKER, Role.SUPERVISOR)")
    assert ROLE_TEST.search("{% if current_user.role == Role.ADMIN %}")
    assert ROLE_TEST.search("if user.role not in STAFF:")
    assert not ROLE_TEST.search("{{ current_user.role.label }}")


def test_what_each_role_may_do(office):
    """DESIGN.md's table: the rules a person would check, role by role."""
    intake, caseworker, supervisor = office.intake, office.caseworker, office.supervisor
    legislator, admin = office.legislator, office.admin
    assert may(intake, Capability.LOG_CALLS) and may(intake, Capability.READ_CASES)
    assert not may(intake, Capability.WORK_CASES) and not may(intake, Capability.VIEW_AGENCIES)
    assert may(caseworker, Capability.WORK_CASES) and may(caseworker, Capability.WRITE_LETTERS)
    assert not may(caseworker, Capability.MERGE_CONSTITUENTS)
    assert not may(caseworker, Capability.TRIAGE_MAIL)  # only when an admin grants it
    assert may(supervisor, Capability.MERGE_CONSTITUENTS) and may(supervisor, Capability.LEAD_TEAM)
    assert may(supervisor, Capability.TRIAGE_MAIL) and may(supervisor, Capability.READ_SUMMARIES)
    assert [c for c in Capability if may(legislator, c)] == [Capability.READ_SUMMARIES]
    assert may(admin, Capability.ADMINISTER) and may(admin, Capability.MANAGE_DIRECTORY)
    assert not may(admin, Capability.VIEW_CONSTITUENTS) and not may(admin, Capability.WORK_CASES)


def test_nobody_signed_out_or_disabled_may_do_anything(office):
    office.supervisor.active = False
    for user in (None, office.supervisor):
        assert not any(may(user, c) for c in Capability)


def test_mail_triage_is_a_grant_for_caseworkers_only(office):
    caseworker = office.caseworker
    caseworker.mail_triage = True
    assert may(caseworker, Capability.TRIAGE_MAIL)
    office.intake.mail_triage = True  # a flag on another role grants nothing
    assert not may(office.intake, Capability.TRIAGE_MAIL)
    assert permissions.may_grant(caseworker, Capability.TRIAGE_MAIL)
    assert not permissions.may_grant(office.supervisor, Capability.TRIAGE_MAIL)


@pytest.mark.parametrize("action", list(Action))
def test_may_on_a_case_is_the_case_scope(office, action):
    case = open_case(office)
    for role in Role:
        user = office.user(role)
        assert may(user, action, case) == permissions.can(user, action, case)
    assert not may(office.supervisor, action)  # an action needs its case


def test_roles_that_may_lists_the_roles_of_the_map():
    assert set(permissions.roles_that_may(Capability.WORK_CASES)) == {
        Role.CASEWORKER,
        Role.SUPERVISOR,
    }


def test_each_role_sees_only_the_menu_items_it_may_open(client, office):
    """The menu asks the map: every item answers, and pages the user may not open are absent."""
    for role in Role:
        client.login(office.user(role).email)
        page = client.get("/", follow_redirects=True).get_data(as_text=True)
        items = re.findall(r'href="([^"]+)" class="usa-nav-link', page)
        assert items, role
        for url in items:
            assert client.get(url).status_code == 200, (role, url)
        if role != Role.SUPERVISOR:
            assert "/mail/" not in items
        client.logout()
    factories.gen_user(Role.CASEWORKER, [office.a], email="t@test.example", mail_triage=True)
    client.login("t@test.example")
    assert 'href="/mail/"' in client.get("/my-work").get_data(as_text=True)
