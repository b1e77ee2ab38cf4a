"""Every case route (GET and POST) for every kind of user, on an ordinary and a confidential
case: the expected status, never the data when refused, and nothing changed by a refused POST.

Expected access (DESIGN.md, services/permissions.py):

| who                              | ordinary case | confidential case |
| -------------------------------- | ------------- | ----------------- |
| intake who opened it             | view          | none              |
| intake who did not               | none          | none              |
| caseworker of the district       | manage        | none              |
| caseworker assigned to the case  | manage        | edit              |
| caseworker of another district   | none          | none              |
| supervisor of the district       | manage        | manage            |
| admin                            | view          | none              |
| legislator                       | 403 on every case route               |
| anonymous                        | sent to sign in                       |

none → 404 (no hint that the case exists); view only → 403 on changes; edit but not manage →
403 on assignment and header edits.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa

from constituent.extensions import db
from constituent.models import (
    Agency,
    AgencyLevel,
    Case,
    FollowUp,
    Outcome,
    Role,
    TimelineEvent,
    User,
)
from constituent.services import uploads, workflow
from constituent.views.helpers import local_today
from tests import factories
from tests.case_helpers import open_case, png_bytes, with_version

SUBJECT = "Probe subject 7f3a"  # appears in a page only if the case data is shown
LEVEL = {"none": 0, "view": 1, "edit": 2, "manage": 3}

ACCESS = {  # persona → (ordinary case, confidential case)
    "intake_opener": ("view", "none"),
    "intake_other": ("none", "none"),
    "caseworker": ("manage", "none"),
    "assignee": ("manage", "edit"),
    "other_district": ("none", "none"),
    "supervisor": ("manage", "manage"),
    "admin": ("view", "none"),
    "legislator": ("legislator", "legislator"),
    "anonymous": ("anonymous", "anonymous"),
}


@dataclass
class World:
    office: factories.Office
    users: dict[str, User | None]
    agency: Agency


@pytest.fixture()
def world(office) -> World:
    assignee = factories.gen_user(
        Role.CASEWORKER, [office.a], email="assignee@test.example", full_name="Alex Assignee"
    )
    intake_other = factories.gen_user(Role.INTAKE, [office.a], email="intake2@test.example")
    agency = Agency(name="Social Security Administration", acronym="SSA", level=AgencyLevel.FEDERAL)
    db.session.add(agency)
    db.session.commit()
    users = {
        "intake_opener": office.intake,
        "intake_other": intake_other,
        "caseworker": office.caseworker,
        "assignee": assignee,
        "other_district": office.other_caseworker,
        "supervisor": office.supervisor,
        "admin": office.admin,
        "legislator": office.legislator,
        "anonymous": None,
    }
    return World(office=office, users=users, agency=agency)


def make_case(world: World, confidential: bool) -> Case:
    office = world.office
    return open_case(
        office,
        opened_by=office.intake,
        assignee=world.users["assignee"],
        confidential=confidential,
        subject=SUBJECT,
        release_needed=True,
    )


# Each route: (name, method, needed level, what a success answers, prepare(case) → url, data)


def _detail(world, case):
    return f"/cases/{case.id}", None


def _attachment(world, case):
    stored = uploads.store_upload(
        io.BytesIO(png_bytes()), "release.png", case=case, uploaded_by=world.office.supervisor
    )
    db.session.commit()
    return f"/cases/{case.id}/attachments/{stored.id}", None


def _go(world, case):
    return f"/cases/go?number=C-{case.number}", None


def _edit_form(world, case):
    return f"/cases/{case.id}/edit", None


def _edit(world, case):
    return f"/cases/{case.id}/edit", {
        "version": case.version,
        "subject": "Changed by a probe",
        "description": "x",
        "category": case.category_id,
        "priority": "expedite",
        "district": case.district_id,
        **({"confidential": "y"} if case.confidential else {}),
    }


def _entries(world, case):
    return f"/cases/{case.id}/entries", {"entry-kind": "note", "entry-body": "Probe note"}


def _status(world, case):
    return f"/cases/{case.id}/status", with_version(
        case.id, "status", {"status-status": "waiting_on_agency"}
    )


def _reopen(world, case):
    workflow.close_case(case, Outcome.ASSISTED, world.office.supervisor)
    db.session.commit()
    return f"/cases/{case.id}/reopen", with_version(
        case.id, "reopen", {"reopen-reason": "Probe reason"}
    )


def _assign(world, case):
    return f"/cases/{case.id}/assign", with_version(
        case.id, "assign", {"assign-assignee": world.office.supervisor.id}
    )


def _follow_up(world, case):
    return f"/cases/{case.id}/follow-ups", {
        "followup-due_on": local_today().isoformat(),
        "followup-assignee": world.office.supervisor.id,
        "followup-description": "Probe",
    }


def _follow_up_done(world, case):
    follow_up = FollowUp(
        case_id=case.id,
        assignee_id=world.office.supervisor.id,
        due_on=local_today(),
        description="Probe task",
    )
    db.session.add(follow_up)
    db.session.commit()
    return f"/cases/{case.id}/follow-ups/{follow_up.id}/done", {
        f"fu{follow_up.id}-note": "Probe done"
    }


def _release_request(world, case):
    return f"/cases/{case.id}/release/request", with_version(
        case.id,
        "relreq",
        {"relreq-requested_on": local_today().isoformat(), "relreq-method": "mailed_form"},
    )


def _release_received(world, case):
    return f"/cases/{case.id}/release/received", with_version(
        case.id,
        "relrec",
        {
            "relrec-signed_on": local_today().isoformat(),
            "relrec-signature_method": "wet",
            "relrec-agencies": [str(world.agency.id)],
            "relrec-file": (io.BytesIO(png_bytes()), "signed.png"),
        },
    )


def _release_not_needed(world, case):
    return f"/cases/{case.id}/release/not-needed", with_version(
        case.id, "relnn", {"relnn-note": "Probe"}
    )


ROUTES: list[tuple[str, str, str, int, Any]] = [
    ("case page", "GET", "view", 200, _detail),
    ("attachment download", "GET", "view", 200, _attachment),
    ("case-number box", "GET", "view", 302, _go),
    ("edit form", "GET", "manage", 200, _edit_form),
    ("edit header", "POST", "manage", 302, _edit),
    ("add entry", "POST", "edit", 302, _entries),
    ("change status", "POST", "edit", 302, _status),
    ("reopen", "POST", "edit", 302, _reopen),
    ("assign", "POST", "manage", 302, _assign),
    ("add follow-up", "POST", "edit", 302, _follow_up),
    ("complete follow-up", "POST", "edit", 302, _follow_up_done),
    ("request release", "POST", "edit", 302, _release_request),
    ("release received", "POST", "edit", 302, _release_received),
    ("release not needed", "POST", "edit", 302, _release_not_needed),
]


def expected_status(access: str, needed: str, success: int) -> int:
    if access == "anonymous":
        return 302  # to the sign-in page
    if access == "legislator":
        return 403
    have = LEVEL[access]
    if have == 0:
        return 404
    if have < LEVEL[needed]:
        return 403
    return success


def fingerprint(case_id: int) -> tuple:
    """What a refused POST must leave untouched."""
    db.session.expire_all()
    case = db.session.get(Case, case_id)
    return (
        case.version,
        case.status,
        case.assignee_id,
        case.release_state,
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(TimelineEvent)
            .where(TimelineEvent.case_id == case_id)
        ),
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(FollowUp)
            .where(FollowUp.case_id == case_id, FollowUp.completed_at.is_(None))
        ),
    )


@pytest.mark.parametrize("confidential", [False, True], ids=["ordinary", "confidential"])
@pytest.mark.parametrize("persona", list(ACCESS))
def test_every_case_route_for_every_role(client, world, persona, confidential):
    user = world.users[persona]
    access = ACCESS[persona][1 if confidential else 0]
    if user is not None:
        client.login(user.email)
        token = client.csrf_token("/")
    else:
        token = client.csrf_token("/login")
    problems = []
    for name, method, needed, success, prepare in ROUTES:
        case = make_case(world, confidential)
        url, data = prepare(world, case)
        before = fingerprint(case.id)
        if method == "GET":
            r = client.get(url)
        else:
            r = client.post(
                url, data={**data, "csrf_token": token}, content_type="multipart/form-data"
            )
        want = expected_status(access, needed, success)
        body = r.get_data(as_text=False)
        if r.status_code != want:
            problems.append(f"{name}: {r.status_code}, expected {want}")
            continue
        if want in (403, 404) or access == "anonymous":
            if SUBJECT.encode() in body or png_bytes() in body:
                problems.append(f"{name}: refused but showed the case")
            if method == "POST" and fingerprint(case.id) != before:
                problems.append(f"{name}: refused but changed the case")
            if access == "anonymous":
                assert "/login" in r.headers["Location"]
        elif method == "POST":
            if fingerprint(case.id) == before:
                problems.append(f"{name}: allowed but changed nothing")
        elif name == "case page":
            assert SUBJECT.encode() in body
    assert problems == [], f"{persona} on a {'confidential' if confidential else 'ordinary'} case"


@pytest.mark.parametrize("confidential", [False, True], ids=["ordinary", "confidential"])
@pytest.mark.parametrize("persona", list(ACCESS))
def test_case_list_shows_exactly_the_cases_the_user_may_open(client, world, persona, confidential):
    user = world.users[persona]
    access = ACCESS[persona][1 if confidential else 0]
    case = make_case(world, confidential)
    if user is not None:
        client.login(user.email)
    r = client.get("/cases/?status=")
    if access == "anonymous":
        assert r.status_code == 302
        return
    if access == "legislator":
        assert r.status_code == 403
        return
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    shown = f">C-{case.number}</a>" in page
    assert shown == (LEVEL[access] > 0)
    assert (SUBJECT in page) == shown
    total = re.search(r"of (\d+) cases?\.", page)
    assert (int(total.group(1)) if total else 0) == (1 if shown else 0)


def test_attachment_of_a_confidential_case_is_not_served_to_a_caseworker_not_assigned(
    client, world
):
    case = make_case(world, confidential=True)
    url, _ = _attachment(world, case)
    client.login(world.office.caseworker.email)
    r = client.get(url)
    assert r.status_code == 404
    assert png_bytes() not in r.data
    client.logout()
    client.login(world.users["assignee"].email)
    r = client.get(url)
    assert r.status_code == 200 and r.data == png_bytes()
