"""The browser harness itself can fail: a CSP violation and an axe violation are caught."""

from __future__ import annotations

import pytest


def test_inline_script_is_blocked_and_reported(ui):
    ui.goto("/login")
    ui.page.evaluate(
        "() => { const s = document.createElement('script'); s.textContent = 'window.pwned = 1';"
        " document.head.appendChild(s); }"
    )
    ui.page.wait_for_timeout(200)
    assert ui.page.evaluate("typeof window.pwned") == "undefined"
    assert ui.csp_errors, "the CSP violation should have been reported"
    ui.csp_errors.clear()


def test_axe_violation_fails_the_check(ui):
    ui.goto("/login")
    ui.page.evaluate(
        "() => { const i = document.createElement('input'); i.type = 'text';"
        " document.querySelector('main').appendChild(i); }"
    )
    with pytest.raises(AssertionError, match="axe found violations"):
        ui.check()
