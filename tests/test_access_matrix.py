"""Every route × method × role against a table kept here; a new route without an entry fails.

Outcomes: ``L`` sign-in redirect, ``D`` denied (403 or 404: never the data), ``A`` allowed
(any other answer below 500: the page, a redirect after a save, a 4xx about the form). A 5xx
fails whatever the table says. Roles, in order: anonymous, intake, caseworker, supervisor,
legislator, admin. Every id in a URL belongs to district A (NY-21), where the five staff
users work; a second test probes the same routes with records of district B.
"""

from __future__ import annotations

import re

import pytest
from flask import Flask

from constituent.models import Role
from tests.world import fresh_records, make_world

ROLES = ["anonymous", Role.INTAKE, Role.CASEWORKER, Role.SUPERVISOR, Role.LEGISLATOR, Role.ADMIN]
SKIP = {"static"}
# Routes whose POST would end the test user's own session or account.
NOT_POSTED = {"auth.logout"}
# POST routes that delete or remove their record: each role gets a fresh one (param name).
DESTRUCTIVE = {
    "constituents.remove_contact_point": "point_id",
    "constituents.remove_household_member": "member_id",
    "agencies.agency_delete": "agency_id",
    "agencies.rule_delete": "rule_id",
}

# (URL rule, method) → outcome per role: anonymous intake caseworker supervisor legislator admin
EXPECTED: dict[tuple[str, str], str] = {
    ("/", "GET"): "L A A A A A",
    ("/account/password", "GET"): "L A A A A A",
    ("/account/password", "POST"): "L A A A A A",
    ("/account/set-password/<token>", "GET"): "A A A A A A",
    ("/account/set-password/<token>", "POST"): "A A A A A A",
    ("/admin/audit", "GET"): "L D D D D A",
    ("/admin/audit.csv", "GET"): "L D D D D A",
    ("/admin/districts", "GET"): "L D D D D A",
    ("/admin/categories", "GET"): "L D D D D A",
    ("/admin/categories", "POST"): "L D D D D A",
    ("/admin/categories/import", "POST"): "L D D D D A",
    ("/admin/categories/<int:category_id>", "GET"): "L D D D D A",
    ("/admin/categories/<int:category_id>", "POST"): "L D D D D A",
    ("/admin/categories/<int:category_id>/merge", "POST"): "L D D D D A",
    ("/admin/categories/<int:category_id>/<any(deactivate, activate):change>", "POST"): (
        "L D D D D A"
    ),
    ("/admin/categories/<int:category_id>/public", "POST"): "L D D D D A",
    ("/admin/release-templates", "GET"): "L D D D D A",
    ("/admin/release-templates", "POST"): "L D D D D A",
    ("/admin/release-templates/<int:release_template_id>", "GET"): "L D D D D A",
    ("/admin/release-templates/<int:release_template_id>/agencies", "POST"): "L D D D D A",
    ("/admin/release-templates/<int:release_template_id>/versions", "POST"): "L D D D D A",
    (
        "/admin/release-templates/<int:release_template_id>/<any(deactivate, activate):change>",
        "POST",
    ): "L D D D D A",
    ("/admin/districts/new", "POST"): "L D D D D A",
    ("/admin/districts/<int:district_id>/edit", "GET"): "L D D D D A",
    ("/admin/districts/<int:district_id>/edit", "POST"): "L D D D D A",
    ("/admin/districts/<int:district_id>/<any(deactivate, activate):change>", "POST"): (
        "L D D D D A"
    ),
    ("/admin/zips/new", "POST"): "L D D D D A",
    ("/admin/import", "GET"): "L D D D D A",
    ("/admin/import", "POST"): "L D D D D A",
    ("/admin/import/<int:job_id>", "GET"): "L D D D D A",
    ("/admin/import/<int:job_id>/progress", "GET"): "L D D D D A",
    ("/admin/office", "GET"): "L D D D D A",
    ("/admin/office", "POST"): "L D D D D A",
    ("/admin/users", "GET"): "L D D D D A",
    ("/admin/users/new", "GET"): "L D D D D A",
    ("/admin/users/new", "POST"): "L D D D D A",
    ("/admin/users/<int:user_id>/reset-password", "POST"): "L D D D D A",
    ("/admin/users/<int:user_id>/password-link", "POST"): "L D D D D A",
    ("/admin/users/<int:user_id>/<any(disable, enable):change>", "POST"): "L D D D D A",
    ("/admin/zip-table", "GET"): "L D D D D A",
    ("/admin/zip-table", "POST"): "L D D D D A",
    ("/agencies/", "GET"): "L D A A D A",
    ("/agencies/<int:agency_id>", "GET"): "L D A A D A",
    ("/agencies/<int:agency_id>/activate", "POST"): "L D D D D A",
    ("/agencies/<int:agency_id>/contacts/new", "GET"): "L D D D D A",
    ("/agencies/<int:agency_id>/contacts/new", "POST"): "L D D D D A",
    ("/agencies/<int:agency_id>/deactivate", "POST"): "L D D D D A",
    ("/agencies/<int:agency_id>/delete", "POST"): "L D D D D A",
    ("/agencies/<int:agency_id>/edit", "GET"): "L D D D D A",
    ("/agencies/<int:agency_id>/edit", "POST"): "L D D D D A",
    ("/agencies/contacts/<int:contact_id>/activate", "POST"): "L D D D D A",
    ("/agencies/contacts/<int:contact_id>/deactivate", "POST"): "L D D D D A",
    ("/agencies/contacts/<int:contact_id>/edit", "GET"): "L D D D D A",
    ("/agencies/contacts/<int:contact_id>/edit", "POST"): "L D D D D A",
    ("/agencies/import", "GET"): "L D D D D A",
    ("/agencies/import", "POST"): "L D D D D A",
    ("/agencies/letter-templates", "GET"): "L D D D D A",
    ("/agencies/letter-templates/<int:template_id>/activate", "POST"): "L D D D D A",
    ("/agencies/letter-templates/<int:template_id>/deactivate", "POST"): "L D D D D A",
    ("/agencies/letter-templates/<int:template_id>/edit", "GET"): "L D D D D A",
    ("/agencies/letter-templates/<int:template_id>/edit", "POST"): "L D D D D A",
    ("/agencies/letter-templates/new", "GET"): "L D D D D A",
    ("/agencies/letter-templates/new", "POST"): "L D D D D A",
    ("/agencies/new", "GET"): "L D D D D A",
    ("/agencies/new", "POST"): "L D D D D A",
    ("/agencies/rules", "GET"): "L D D D D A",
    ("/agencies/rules/<int:rule_id>/activate", "POST"): "L D D D D A",
    ("/agencies/rules/<int:rule_id>/deactivate", "POST"): "L D D D D A",
    ("/agencies/rules/<int:rule_id>/delete", "POST"): "L D D D D A",
    ("/agencies/rules/<int:rule_id>/edit", "GET"): "L D D D D A",
    ("/agencies/rules/<int:rule_id>/edit", "POST"): "L D D D D A",
    ("/agencies/rules/new", "GET"): "L D D D D A",
    ("/agencies/rules/new", "POST"): "L D D D D A",
    ("/cases/", "GET"): "L A A A D A",
    ("/cases/<int:case_id>", "GET"): "L A A A D A",
    ("/cases/<int:case_id>/assign", "POST"): "L D A A D D",
    ("/cases/<int:case_id>/attachments/<int:attachment_id>", "GET"): "L A A A D A",
    ("/cases/<int:case_id>/edit", "GET"): "L D A A D D",
    ("/cases/<int:case_id>/edit", "POST"): "L D A A D D",
    ("/cases/<int:case_id>/entries", "POST"): "L D A A D D",
    ("/cases/<int:case_id>/follow-ups", "POST"): "L D A A D D",
    ("/cases/<int:case_id>/follow-ups/<int:follow_up_id>/done", "POST"): "L D A A D D",
    ("/cases/<int:case_id>/letters", "POST"): "L D A A D D",
    ("/cases/<int:case_id>/letters/new", "GET"): "L D A A D D",
    ("/cases/<int:case_id>/identifiers/reveal", "POST"): "L D A A D D",
    ("/cases/<int:case_id>/release/not-needed", "POST"): "L D A A D D",
    ("/cases/<int:case_id>/release/received", "POST"): "L D A A D D",
    ("/cases/<int:case_id>/release/request", "POST"): "L D A A D D",
    ("/cases/<int:case_id>/reopen", "POST"): "L D A A D D",
    ("/cases/<int:case_id>/status", "POST"): "L D A A D D",
    ("/cases/go", "GET"): "L A A A D A",
    ("/constituents/", "GET"): "L A A A D D",
    ("/constituents/<int:constituent_id>", "GET"): "L A A A D D",
    ("/constituents/<int:constituent_id>/contact-points", "POST"): "L D A A D D",
    (
        "/constituents/<int:constituent_id>/contact-points/<int:point_id>/remove",
        "POST",
    ): "L D A A D D",
    ("/constituents/<int:constituent_id>/edit", "GET"): "L D A A D D",
    ("/constituents/<int:constituent_id>/edit", "POST"): "L D A A D D",
    ("/constituents/<int:constituent_id>/household", "POST"): "L D A A D D",
    ("/constituents/<int:constituent_id>/household/<int:member_id>/remove", "POST"): "L D A A D D",
    ("/constituents/merge", "GET"): "L D D A D D",
    ("/constituents/merge", "POST"): "L D D A D D",
    # The public help form: open to everyone, signed in or not (views/public.py).
    ("/help", "GET"): "A A A A A A",
    ("/help/request", "GET"): "A A A A A A",
    ("/help/request", "POST"): "A A A A A A",
    ("/help/request/release", "GET"): "A A A A A A",
    ("/help/sent", "GET"): "A A A A A A",
    ("/intake/", "GET"): "L A A A D D",
    ("/intake/", "POST"): "L A A A D D",
    ("/intake/district", "GET"): "L A A A D D",
    ("/intake/lookup", "GET"): "L A A A D D",
    ("/letters/<int:letter_id>", "GET"): "L A A A D A",
    ("/login", "GET"): "A A A A A A",
    ("/login", "POST"): "A A A A A A",
    ("/mail/", "GET"): "L D D A D D",
    ("/mail/<int:message_id>", "GET"): "L D A A D D",
    ("/mail/<int:message_id>/attachments/<int:item_id>", "GET"): "L D A A D D",
    ("/mail/<int:message_id>/file", "POST"): "L D D A D D",
    ("/mail/<int:message_id>/new-case", "GET"): "L D D A D D",
    ("/mail/<int:message_id>/new-case", "POST"): "L D D A D D",
    ("/mail/upload", "POST"): "L D D A D D",
    ("/my-work", "GET"): "L D A A D D",
    ("/online-requests/", "GET"): "L A A A D A",
    ("/online-requests/<int:request_id>", "GET"): "L A A A D A",
    ("/online-requests/<int:request_id>", "POST"): "L A A A D A",
    ("/online-requests/<int:request_id>/decline", "POST"): "L A A A D A",
    ("/online-requests/<int:request_id>/release", "GET"): "L A A A D A",
    ("/online-requests/<int:request_id>/reveal", "POST"): "L A A A D A",
    ("/my-work/notifications/<int:notification_id>/read", "POST"): "L D A D D D",
    ("/my-work/notifications/read", "POST"): "L D A A D D",
    ("/referrals/<int:referral_id>", "GET"): "L D A A D D",
    ("/referrals/<int:referral_id>/acknowledge", "POST"): "L D A A D D",
    ("/referrals/<int:referral_id>/decline", "POST"): "L D A A D D",
    ("/referrals/<int:referral_id>/edit", "GET"): "L D A A D D",
    ("/referrals/<int:referral_id>/edit", "POST"): "L D A A D D",
    ("/referrals/<int:referral_id>/response", "GET"): "L D A A D D",
    ("/referrals/<int:referral_id>/response", "POST"): "L D A A D D",
    ("/referrals/<int:referral_id>/responses/<int:response_id>", "GET"): "L D A A D D",
    ("/referrals/<int:referral_id>/responses/<int:response_id>/case-status", "POST"): "L D A A D D",
    ("/referrals/<int:referral_id>/second-inquiry", "POST"): "L D A A D D",
    ("/referrals/<int:referral_id>/withdraw", "POST"): "L D A A D D",
    ("/referrals/case/<int:case_id>/agency", "GET"): "L D A A D D",
    ("/referrals/case/<int:case_id>/new", "GET"): "L D A A D D",
    ("/referrals/case/<int:case_id>/new", "POST"): "L D A A D D",
    ("/referrals/new", "GET"): "L D D D D D",
    ("/referrals/new", "POST"): "L D D D D D",
    ("/referrals/overdue", "GET"): "L D A A D D",
    ("/referrals/response-times", "GET"): "L D D A D A",
    ("/search/", "GET"): "L A A A D A",
    ("/summaries/", "GET"): "L D D A A A",
    ("/summaries/<code>", "GET"): "L D D A A A",
    (
        "/summaries/<code>/<any(all, headline, trend, time_to_close, open_priority, aging, by_category, by_outcome, by_channel, by_agency, by_zip, by_town, by_staff):key>.csv",
        "GET",
    ): "L D D A A A",
    ("/summaries/<code>/cases", "GET"): "L D D A D A",
    ("/summaries/<code>/cases.csv", "GET"): "L D D A D A",
    ("/summaries/<code>/print", "GET"): "L D D A A A",
    ("/summaries/comparison.csv", "GET"): "L D D A A A",
}


def route_params(rule, ids: dict[str, int]) -> dict[str, object]:
    values: dict[str, object] = {}
    for name in rule.arguments:
        if name == "code":
            values[name] = "NY-21"
        elif name == "token":
            values[name] = "not-a-token"
        elif name == "key":
            values[name] = "headline"
        elif name == "change":
            values[name] = "enable" if "enable" in rule.rule else "activate"
        else:
            values[name] = ids[name]
    return values


def outcome(response) -> str:  # type: ignore[no-untyped-def]
    code = response.status_code
    if code >= 500:
        return "5"
    if (
        code == 302
        and "/login" in response.headers.get("Location", "")
        and "/login" not in response.request.path
    ):
        return "L"
    if code in (403, 404):
        return "D"
    return "A"


def missing_headers(response, where: str) -> list[str]:  # type: ignore[no-untyped-def]
    """The security headers every response carries, error pages and downloads included."""
    h = response.headers
    problems = []
    csp = h.get("Content-Security-Policy", "")
    for directive in (
        "default-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ):
        if directive not in csp or "unsafe-inline" in csp:
            problems.append(f"{where}: CSP lacks {directive!r}")
    if h.get("X-Content-Type-Options") != "nosniff":
        problems.append(f"{where}: no nosniff")
    if h.get("Referrer-Policy") != "same-origin":
        problems.append(f"{where}: Referrer-Policy {h.get('Referrer-Policy')!r}")
    if "no-store" not in h.get("Cache-Control", ""):
        problems.append(f"{where}: Cache-Control {h.get('Cache-Control')!r}")
    return problems


header_problems: list[str] = []


def observe(app: Flask, client_for, ids: dict[str, int], world=None) -> dict[tuple[str, str], str]:
    seen: dict[tuple[str, str], str] = {}
    rules = sorted(app.url_map.iter_rules(), key=lambda r: (r.endpoint, r.rule))
    for rule in rules:
        if rule.endpoint in SKIP:
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            if method == "POST" and rule.endpoint in NOT_POSTED:
                continue
            url = rule.build(route_params(rule, ids), append_unknown=False)[1]
            row = []
            for role in ROLES:
                client = client_for(role)
                if method == "POST" and rule.endpoint in DESTRUCTIVE and world is not None:
                    fresh = fresh_records(world)[DESTRUCTIVE[rule.endpoint]]
                    url = rule.build(route_params(rule, {**ids, **fresh}), append_unknown=False)[1]
                if method == "GET":
                    response = client.get(url)
                else:
                    response = client.post(url, data={"csrf_token": client.token})
                row.append(outcome(response))
                header_problems.extend(missing_headers(response, f"{method} {url} as {role}"))
                response.close()  # streamed downloads end here, as when a browser hangs up
            seen[(rule.rule, method)] = " ".join(row)
    return seen


@pytest.fixture()
def world(app):
    return make_world()


@pytest.fixture()
def client_for(app, world):
    clients = {}

    def get(role):  # type: ignore[no-untyped-def]
        if role not in clients:
            client = app.test_client()
            if role != "anonymous":
                client.login(world.office.user(role).email)
            page = client.get(
                "/login" if role == "anonymous" else "/", follow_redirects=True
            ).get_data(as_text=True)
            match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
            client.token = match.group(1) if match else ""
            clients[role] = client
        return clients[role]

    return get


def test_every_route_method_and_role_matches_the_table(app, world, client_for):
    """…and every answer, whatever its status, carries the security headers."""
    header_problems.clear()
    seen = observe(app, client_for, world.ids, world)
    errors = [f"{k}: 5xx for some role: {v}" for k, v in seen.items() if "5" in v]
    missing = [
        f"{k}: no entry in EXPECTED (observed {v!r})" for k, v in seen.items() if k not in EXPECTED
    ]
    wrong = [
        f"{k}: expected {EXPECTED[k]!r}, observed {v!r}"
        for k, v in seen.items()
        if k in EXPECTED and EXPECTED[k] != v
    ]
    stale = [f"{k}: in EXPECTED but no such route" for k in EXPECTED if k not in seen]
    problems = errors + missing + wrong + stale + header_problems[:20]
    assert not problems, "\n".join(problems)


OBJECT_PARAMS = {
    "case_id",
    "constituent_id",
    "referral_id",
    "attachment_id",
    "letter_id",
    "message_id",
    "response_id",
    "follow_up_id",
    "member_id",
    "point_id",
    "item_id",
}


def _object_routes(app: Flask):  # type: ignore[no-untyped-def]
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.endpoint in SKIP or not (set(rule.arguments) & OBJECT_PARAMS):
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            yield rule, method


def _probe(app, client_for, roles, ids, world) -> list[str]:  # type: ignore[no-untyped-def]
    leaks = []
    for rule, method in _object_routes(app):
        url = rule.build(route_params(rule, {**world.ids, **ids}), append_unknown=False)[1]
        for role in roles:
            client = client_for(role)
            if method == "GET":
                response = client.get(url)
            else:
                response = client.post(url, data={"csrf_token": client.token})
            if response.status_code not in (403, 404):
                leaks.append(f"{method} {url} as {role}: {response.status_code}")
            response.close()
    return leaks


def test_records_of_another_district_are_refused_to_every_role(app, world, client_for):
    staff = [Role.INTAKE, Role.CASEWORKER, Role.SUPERVISOR, Role.LEGISLATOR, Role.ADMIN]
    leaks = _probe(app, client_for, staff, world.other_ids, world)
    assert not leaks, "\n".join(leaks)


def test_a_confidential_case_is_refused_to_everyone_but_supervisors_and_its_assignee(
    app, world, client_for
):
    leaks = _probe(
        app,
        client_for,
        [Role.INTAKE, Role.CASEWORKER, Role.LEGISLATOR, Role.ADMIN],
        world.confidential_ids,
        world,
    )
    assert not leaks, "\n".join(leaks)
    supervisor = client_for(Role.SUPERVISOR)
    case_id = world.confidential_ids["case_id"]
    page = supervisor.get(f"/cases/{case_id}")
    assert page.status_code == 200 and "Confidential" in page.get_data(as_text=True)


# POST routes that change a versioned row (case, referral, constituent, agency, letter
# template) with what a person saw on a page: the form carries the version, and a post without
# it is refused (400), never let through unchecked. The role that may post each.
VERSIONED: dict[str, Role] = {
    "/admin/office": Role.ADMIN,
    "/cases/<int:case_id>/assign": Role.SUPERVISOR,
    "/cases/<int:case_id>/edit": Role.SUPERVISOR,
    "/cases/<int:case_id>/release/not-needed": Role.CASEWORKER,
    "/cases/<int:case_id>/release/received": Role.CASEWORKER,
    "/cases/<int:case_id>/release/request": Role.CASEWORKER,
    "/cases/<int:case_id>/reopen": Role.CASEWORKER,
    "/cases/<int:case_id>/status": Role.CASEWORKER,
    "/constituents/<int:constituent_id>/edit": Role.CASEWORKER,
    "/agencies/<int:agency_id>/edit": Role.ADMIN,
    "/agencies/letter-templates/<int:template_id>/edit": Role.ADMIN,
    "/referrals/<int:referral_id>/acknowledge": Role.CASEWORKER,
    "/referrals/<int:referral_id>/decline": Role.CASEWORKER,
    "/referrals/<int:referral_id>/edit": Role.CASEWORKER,
    "/referrals/<int:referral_id>/response": Role.CASEWORKER,
    "/referrals/<int:referral_id>/responses/<int:response_id>/case-status": Role.CASEWORKER,
    "/referrals/<int:referral_id>/second-inquiry": Role.CASEWORKER,
    "/referrals/<int:referral_id>/withdraw": Role.CASEWORKER,
}
# Every other POST route, and why it needs no version.
UNVERSIONED: dict[str, str] = {
    "/account/password": "the user's own password: no shared record",
    "/account/set-password/<token>": "a one-time link: spent by its first use",
    "/admin/users/<int:user_id>/password-link": "sends a new link; a repeat ends the older one",
    "/admin/users/<int:user_id>/<any(disable, enable):change>": "sets a state; a repeat is a no-op",
    "/admin/zip-table": "an import: reports what it changed",
    "/admin/categories": "creates a category",
    "/admin/categories/import": "an import: reports what it changed",
    "/admin/categories/<int:category_id>": "a rename: the name is unique, a repeat is a no-op",
    "/admin/categories/<int:category_id>/merge": "moves what the category still holds; a repeat moves nothing",
    "/admin/categories/<int:category_id>/<any(deactivate, activate):change>": (
        "sets a state; a repeat is a no-op"
    ),
    "/admin/districts/new": "creates a district",
    "/admin/categories/<int:category_id>/public": "sets the public form's settings; a repeat is a no-op",
    "/admin/release-templates": "creates a template; a repeat is refused (the name is taken)",
    "/admin/release-templates/<int:release_template_id>/agencies": "sets the agencies; a repeat is a no-op",
    "/admin/release-templates/<int:release_template_id>/versions": (
        "adds a version, never edits one; the same wording again is refused"
    ),
    "/admin/release-templates/<int:release_template_id>/<any(deactivate, activate):change>": (
        "sets a state; a repeat is a no-op"
    ),
    "/admin/districts/<int:district_id>/edit": "districts are not versioned rows",
    "/admin/districts/<int:district_id>/<any(deactivate, activate):change>": (
        "sets a state; a repeat is a no-op"
    ),
    "/admin/zips/new": "adds a ZIP row; a repeat is refused",
    "/help/request": "a resident's new request: no shared record (anonymous, rate limited)",
    "/admin/import": "an import: rows carry external ids, a re-run updates",
    "/admin/users/new": "creates an account; a repeat is refused (the email is taken)",
    "/admin/users/<int:user_id>/reset-password": "each reset makes a new password by design",
    "/agencies/<int:agency_id>/activate": "sets a state; a repeat is a no-op",
    "/agencies/<int:agency_id>/deactivate": "sets a state; a repeat is a no-op",
    "/agencies/<int:agency_id>/delete": "refused once the agency has referrals",
    "/agencies/<int:agency_id>/contacts/new": "creates a contact",
    "/agencies/contacts/<int:contact_id>/activate": "sets a state; a repeat is a no-op",
    "/agencies/contacts/<int:contact_id>/deactivate": "sets a state; a repeat is a no-op",
    "/agencies/contacts/<int:contact_id>/edit": "contacts are not versioned rows",
    "/agencies/import": "an import: reports what it changed",
    "/agencies/letter-templates/<int:template_id>/activate": "sets a state; a repeat is a no-op",
    "/agencies/letter-templates/<int:template_id>/deactivate": "sets a state; a repeat is a no-op",
    "/agencies/letter-templates/new": "creates a template",
    "/agencies/new": "creates an agency",
    "/agencies/rules/<int:rule_id>/activate": "sets a state; a repeat is a no-op",
    "/agencies/rules/<int:rule_id>/deactivate": "sets a state; a repeat is a no-op",
    "/agencies/rules/<int:rule_id>/delete": "routing rules are not versioned rows",
    "/agencies/rules/<int:rule_id>/edit": "routing rules are not versioned rows",
    "/agencies/rules/new": "creates a rule",
    "/cases/<int:case_id>/entries": "appends to the timeline; the case row is not written",
    "/cases/<int:case_id>/follow-ups": "creates a follow-up (one-time key)",
    "/cases/<int:case_id>/follow-ups/<int:follow_up_id>/done": "a done follow-up stays done",
    "/cases/<int:case_id>/letters": "creates a letter (one-time key)",
    "/constituents/<int:constituent_id>/contact-points": "adds a row of its own",
    "/constituents/<int:constituent_id>/contact-points/<int:point_id>/remove": "removes a row",
    "/constituents/<int:constituent_id>/household": "adds a row of its own",
    "/constituents/<int:constituent_id>/household/<int:member_id>/remove": "removes a row",
    "/constituents/merge": "moves records over; nothing typed on the page overwrites a field",
    "/intake/": "creates a case (one-time key)",
    "/login": "signs in",
    "/mail/<int:message_id>/file": "files a message; a filed message is refused",
    "/mail/<int:message_id>/new-case": "creates a case (one-time key)",
    "/mail/upload": "an import: reports what it changed",
    "/my-work/notifications/<int:notification_id>/read": "sets a state; a repeat is a no-op",
    "/my-work/notifications/read": "sets a state; a repeat is a no-op",
    "/online-requests/<int:request_id>": (
        "accepts as a case (one-time key); a reviewed request is refused (status claimed in one UPDATE)"
    ),
    "/online-requests/<int:request_id>/decline": "a reviewed request is refused",
    "/online-requests/<int:request_id>/reveal": "only reads (audited)",
    "/cases/<int:case_id>/identifiers/reveal": "only reads (audited)",
    "/referrals/case/<int:case_id>/new": "creates a referral (one-time key)",
    "/referrals/new": "creates a referral (one-time key)",
    "/logout": "signs out",
}


def test_every_post_route_says_whether_it_carries_a_version(app):
    posts = {r.rule for r in app.url_map.iter_rules() if "POST" in (r.methods or set())}
    assert not set(VERSIONED) & set(UNVERSIONED)
    assert posts == set(VERSIONED) | set(UNVERSIONED)


def test_a_post_without_its_version_is_refused_and_changes_nothing(app, world, client_for):
    from constituent.extensions import db
    from constituent.models import Agency, Case, Constituent, LetterTemplate, Referral

    rows = [
        (Case, world.ids["case_id"]),
        (Referral, world.ids["referral_id"]),
        (Constituent, world.ids["constituent_id"]),
        (Agency, world.ids["agency_id"]),
        (LetterTemplate, world.ids["template_id"]),
    ]

    def versions() -> list[int]:
        db.session.expire_all()
        return [db.session.get(model, ident).version for model, ident in rows]

    before = versions()
    rules = {r.rule: r for r in app.url_map.iter_rules()}
    problems = []
    for rule_text, role in VERSIONED.items():
        url = rules[rule_text].build(route_params(rules[rule_text], world.ids))[1]
        client = client_for(role)
        response = client.post(url, data={"csrf_token": client.token})
        if response.status_code != 400 or "which version" not in response.get_data(as_text=True):
            problems.append(f"{rule_text} as {role}: {response.status_code}")
    assert not problems, "\n".join(problems)
    assert versions() == before
