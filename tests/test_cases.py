"""The case page: header, timeline, assignment with notifications, header edits with the 409,
the case-number box and the case list."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from constituent.extensions import db
from constituent.models import (
    AuditEvent,
    Case,
    CaseStatus,
    EventKind,
    FollowUp,
    Notification,
    Priority,
    Role,
    TimelineEvent,
    utcnow,
)
from constituent.services import notifications
from constituent.services.clock import office_today
from tests import factories
from tests.case_helpers import open_case


def events(case_id: int, kind: EventKind | None = None) -> list[TimelineEvent]:
    query = sa.select(TimelineEvent).where(TimelineEvent.case_id == case_id)
    if kind is not None:
        query = query.where(TimelineEvent.kind == kind)
    return list(db.session.scalars(query.order_by(TimelineEvent.id)))


def text_of(response) -> str:
    return response.get_data(as_text=True)


# The header ------------------------------------------------------------------------------------


def test_case_page_header_shows_the_facts_staff_need(client, office):
    case = open_case(
        office,
        assignee=office.caseworker,
        priority=Priority.EXPEDITE,
        subject="Passport stuck in processing",
    )
    db.session.add(
        FollowUp(
            case_id=case.id,
            assignee_id=office.caseworker.id,
            due_on=office_today() + timedelta(days=3),
            description="Call the passport agency",
        )
    )
    db.session.add(
        FollowUp(
            case_id=case.id,
            assignee_id=office.caseworker.id,
            due_on=office_today() + timedelta(days=1),
            description="Call the constituent",
        )
    )
    case.opened_at = utcnow() - timedelta(days=12, hours=1)
    case.intervals[0].opened_at = case.opened_at
    db.session.commit()
    client.login(office.caseworker.email)
    page = text_of(client.get(f"/cases/{case.id}"))
    assert f"C-{case.number}" in page
    assert "Passport stuck in processing" in page
    assert "Open</span>" in page  # status
    assert "Expedite" in page
    assert "NY-21" in page
    assert office.category.name in page
    assert office.caseworker.full_name in page
    assert "Not needed" in page  # privacy release state
    next_due = (office_today() + timedelta(days=1)).strftime("%b %-d, %Y")
    assert re.search(r"Next follow-up</dt><dd>[^<]*" + re.escape(next_due), page)
    assert "12 days open" in page
    assert "Confidential" not in page


def test_confidential_case_shows_a_badge_and_every_view_is_audited(client, office):
    case = open_case(office, assignee=office.caseworker, confidential=True)
    client.login(office.supervisor.email)
    for _ in range(2):
        page = text_of(client.get(f"/cases/{case.id}"))
        assert ">Confidential</span>" in page
    viewed = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "confidential_case_viewed")
    ).all()
    assert len(viewed) == 2
    assert {v.user_id for v in viewed} == {office.supervisor.id}
    assert {v.record_id for v in viewed} == {str(case.number)}


def test_an_ordinary_case_view_is_not_audited_as_confidential(client, office):
    case = open_case(office)
    client.login(office.caseworker.email)
    assert client.get(f"/cases/{case.id}").status_code == 200
    assert (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "confidential_case_viewed")
        )
        == 0
    )


def test_case_page_links_to_the_constituent_when_that_page_exists(client, office, app):
    case = open_case(office)
    client.login(office.caseworker.email)
    page = text_of(client.get(f"/cases/{case.id}"))
    if "constituents.constituent_detail" in app.view_functions:
        assert f"/constituents/{case.constituent_id}" in page
    assert case.constituent.full_name in page


# The timeline ----------------------------------------------------------------------------------


def test_add_entries_in_one_step_newest_first_with_author(client, office):
    case = open_case(office)
    client.login(office.caseworker.email)
    url = f"/cases/{case.id}"
    r = client.form_post(
        f"{url}/entries",
        {"entry-kind": "call", "entry-body": "Called SSA, waiting for a callback."},
        token_from=url,
    )
    assert r.status_code == 302
    client.form_post(
        f"{url}/entries",
        {"entry-kind": "note", "entry-body": "Correction: SSA said two weeks."},
        token_from=url,
    )
    added = events(case.id)
    assert [e.kind for e in added][-2:] == [EventKind.CALL, EventKind.NOTE]
    assert added[-1].author_id == office.caseworker.id
    page = text_of(client.get(url))
    timeline = page[page.index('id="timeline"') :]
    assert timeline.index("Correction: SSA said two weeks.") < timeline.index(
        "Called SSA, waiting for a callback."
    )
    assert office.caseworker.full_name in timeline


def test_empty_entry_is_refused_beside_its_field(client, office):
    case = open_case(office)
    client.login(office.caseworker.email)
    before = len(events(case.id))
    r = client.form_post(
        f"/cases/{case.id}/entries",
        {"entry-kind": "note", "entry-body": " "},
        token_from=f"/cases/{case.id}",
    )
    assert r.status_code == 422
    assert 'id="entry-body-error"' in text_of(r)
    assert "Write what happened." in text_of(r)
    assert len(events(case.id)) == before


def test_too_long_entry_is_refused_with_the_limit_named(client, office):
    case = open_case(office)
    client.login(office.caseworker.email)
    before = len(events(case.id))
    r = client.form_post(
        f"/cases/{case.id}/entries",
        {"entry-kind": "note", "entry-body": "x" * 20_001},
        token_from=f"/cases/{case.id}",
    )
    assert r.status_code == 422
    assert "at most 20,000 characters" in text_of(r)
    assert len(events(case.id)) == before


def test_a_one_megabyte_entry_is_refused_with_the_limit_named(client, office):
    case = open_case(office)
    client.login(office.caseworker.email)
    before = len(events(case.id))
    r = client.form_post(
        f"/cases/{case.id}/entries",
        {"entry-kind": "note", "entry-body": "x" * 1_000_000},
        token_from=f"/cases/{case.id}",
    )
    assert r.status_code in (413, 422)
    assert "20,000 characters" in text_of(r)
    assert len(events(case.id)) == before


def test_entry_kind_outside_the_list_is_refused(client, office):
    case = open_case(office)
    client.login(office.caseworker.email)
    r = client.form_post(
        f"/cases/{case.id}/entries",
        {"entry-kind": "status_change", "entry-body": "Sneaky"},
        token_from=f"/cases/{case.id}",
    )
    assert r.status_code == 422
    assert not events(case.id, EventKind.STATUS_CHANGE)


# Assignment ------------------------------------------------------------------------------------


def test_assigning_notifies_the_assignee_and_records_it(client, office):
    case = open_case(office)
    client.login(office.supervisor.email)
    r = client.form_post(
        f"/cases/{case.id}/assign",
        {"assign-assignee": office.caseworker.id},
        token_from=f"/cases/{case.id}",
    )
    assert r.status_code == 302
    assert db.session.get(Case, case.id).assignee_id == office.caseworker.id
    notes = db.session.scalars(sa.select(Notification)).all()
    assert [(n.user_id, n.case_id) for n in notes] == [(office.caseworker.id, case.id)]
    assert f"C-{case.number}" in notes[0].message
    assigned = events(case.id, EventKind.ASSIGNMENT)
    assert assigned[-1].author_id == office.supervisor.id
    assert office.caseworker.full_name in assigned[-1].body
    # Reassign: the new assignee is told, the timeline says from whom to whom.
    second = factories.gen_user(Role.CASEWORKER, [office.a], full_name="Dana Second")
    db.session.commit()
    client.form_post(
        f"/cases/{case.id}/assign", {"assign-assignee": second.id}, token_from=f"/cases/{case.id}"
    )
    assert db.session.get(Case, case.id).assignee_id == second.id
    assert "Reassigned from" in events(case.id, EventKind.ASSIGNMENT)[-1].body
    assert (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Notification)
            .where(Notification.user_id == second.id)
        )
        == 1
    )


def test_assignee_outside_the_district_is_refused(client, office):
    case = open_case(office)
    client.login(office.supervisor.email)
    r = client.form_post(
        f"/cases/{case.id}/assign",
        {"assign-assignee": office.other_caseworker.id},
        token_from=f"/cases/{case.id}",
    )
    assert r.status_code == 422
    assert db.session.get(Case, case.id).assignee_id is None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Notification)) == 0


class FakeSMTP:
    sent: list = []
    fail = False

    def __init__(self, host, port, timeout=None):
        self.host = host
        if FakeSMTP.fail:
            raise OSError("connection refused")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def starttls(self):
        pass

    def login(self, user, password):
        pass

    def send_message(self, message):
        FakeSMTP.sent.append(message)


@pytest.fixture()
def smtp(app, monkeypatch):
    FakeSMTP.sent = []
    FakeSMTP.fail = False
    monkeypatch.setattr(notifications.smtplib, "SMTP", FakeSMTP)
    monkeypatch.setitem(app.config, "MAIL_SERVER", "smtp.test.example")
    return FakeSMTP


def test_assignment_email_goes_to_the_staff_member_only_after_commit(client, office, smtp):
    person = factories.gen_constituent(office.a, email="resident@home.example")
    db.session.commit()
    case = open_case(office)
    case.constituent = person
    db.session.commit()
    client.login(office.supervisor.email)
    client.form_post(
        f"/cases/{case.id}/assign",
        {"assign-assignee": office.caseworker.id},
        token_from=f"/cases/{case.id}",
    )
    assert [m["To"] for m in smtp.sent] == [office.caseworker.email]
    assert f"C-{case.number}" in smtp.sent[0]["Subject"]
    assert "resident@home.example" not in str(smtp.sent[0])
    assert case.description not in str(smtp.sent[0])  # case text stays in the system
    # A refused save mails nobody.
    client.form_post(
        f"/cases/{case.id}/assign",
        {"assign-assignee": office.other_caseworker.id},
        token_from=f"/cases/{case.id}",
    )
    assert len(smtp.sent) == 1


def test_a_mail_failure_is_logged_and_the_assignment_still_saved(client, office, smtp, monkeypatch):
    smtp.fail = True
    logged = []
    monkeypatch.setattr(
        notifications.log, "exception", lambda message, *a, **kw: logged.append(message)
    )
    case = open_case(office)
    client.login(office.supervisor.email)
    r = client.form_post(
        f"/cases/{case.id}/assign",
        {"assign-assignee": office.caseworker.id},
        token_from=f"/cases/{case.id}",
    )
    assert r.status_code == 302
    assert db.session.get(Case, case.id).assignee_id == office.caseworker.id
    assert logged == ["could not send notification email to a staff account"]


def test_no_email_without_smtp_settings(client, office, monkeypatch, app):
    FakeSMTP.sent = []
    monkeypatch.setattr(notifications.smtplib, "SMTP", FakeSMTP)
    monkeypatch.setitem(app.config, "MAIL_SERVER", None)
    case = open_case(office)
    client.login(office.supervisor.email)
    client.form_post(
        f"/cases/{case.id}/assign",
        {"assign-assignee": office.caseworker.id},
        token_from=f"/cases/{case.id}",
    )
    assert FakeSMTP.sent == []
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Notification)) == 1


# Editing the header ----------------------------------------------------------------------------


def header_data(case: Case, **changes) -> dict:
    data = {
        "version": case.version,
        "subject": case.subject,
        "description": case.description,
        "category": case.category_id,
        "priority": case.priority.value,
        "district": case.district_id,
    }
    if case.confidential:
        data["confidential"] = "y"
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_edit_the_header(client, office):
    case = open_case(office)
    client.login(office.supervisor.email)
    form = text_of(client.get(f"/cases/{case.id}/edit"))
    assert f'name="version" type="hidden" value="{case.version}"' in form
    r = client.form_post(
        f"/cases/{case.id}/edit",
        header_data(case, subject="Pension: back payments owed", priority="emergency"),
    )
    assert r.status_code == 302
    saved = db.session.get(Case, case.id)
    assert saved.subject == "Pension: back payments owed"
    assert saved.priority == Priority.EMERGENCY
    assert "Subject: Pension: back payments owed" in events(case.id, EventKind.SYSTEM)[-1].body


def test_a_stale_header_save_gets_409_showing_the_changes_and_overwrites_nothing(client, office):
    case = open_case(office)
    client.login(office.supervisor.email)
    client.get(f"/cases/{case.id}/edit")  # the form is loaded at version 1 ...
    stale = header_data(case, subject="My subject", priority="expedite")
    # ... then a colleague saves first.
    case.subject = "Colleague's subject"
    db.session.commit()
    r = client.form_post(f"/cases/{case.id}/edit", stale)
    assert r.status_code == 409
    page = text_of(r)
    assert "Someone else saved" in page
    assert "Colleague&#39;s subject" in page and "My subject" in page  # both values shown
    assert "Expedite" in page
    saved = db.session.get(Case, case.id)
    assert saved.subject == "Colleague's subject"
    assert saved.priority == Priority.ROUTINE


def test_a_concurrent_write_caught_at_commit_is_a_409(client, office, monkeypatch):
    from constituent.services import cases as case_service

    case = open_case(office)
    real = case_service.update_case_header

    def racing_update(case, *args, **kw):
        # Another request bumps the row's version after we read the case, before we write.
        with db.session.no_autoflush:
            db.session.execute(
                sa.update(Case.__table__)
                .where(Case.__table__.c.id == case.id)
                .values(version=Case.__table__.c.version + 1)
            )
        return real(case, *args, **kw)

    monkeypatch.setattr(case_service, "update_case_header", racing_update)
    client.login(office.supervisor.email)
    r = client.form_post(
        f"/cases/{case.id}/edit",
        header_data(case, subject="Racing subject"),
        token_from=f"/cases/{case.id}/edit",
    )
    assert r.status_code == 409
    assert "Racing subject" in text_of(r)
    assert db.session.get(Case, case.id).subject != "Racing subject"


def test_header_district_must_be_one_of_the_editors_districts(client, office):
    case = open_case(office)
    client.login(office.supervisor.email)
    r = client.form_post(
        f"/cases/{case.id}/edit",
        header_data(case, district=office.b.id),
        token_from=f"/cases/{case.id}/edit",
    )
    assert r.status_code == 422
    assert db.session.get(Case, case.id).district_id == office.a.id


def test_header_description_over_the_limit_is_refused(client, office):
    case = open_case(office)
    client.login(office.supervisor.email)
    r = client.form_post(
        f"/cases/{case.id}/edit",
        header_data(case, description="y" * 20_001),
        token_from=f"/cases/{case.id}/edit",
    )
    assert r.status_code == 422
    assert "at most 20,000 characters" in text_of(r)
    assert db.session.get(Case, case.id).description == case.description


# The case-number box ---------------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["{n}", "C-{n}", "c{n}", "#{n}", " c-{n} ", "Case #{n}", "C{n}"])
def test_case_number_box_opens_the_case(client, office, typed):
    case = open_case(office)
    client.login(office.caseworker.email)
    r = client.get("/cases/go", query_string={"number": typed.format(n=case.number)})
    assert r.status_code == 302
    assert r.headers["Location"].endswith(f"/cases/{case.id}")


def test_case_number_box_with_a_custom_prefix(client, office, app, monkeypatch):
    monkeypatch.setitem(app.config, "CASE_PREFIX", "NY21-")
    case = open_case(office)
    client.login(office.caseworker.email)
    for typed in (f"NY21-{case.number}", f"ny21{case.number}", str(case.number)):
        r = client.get("/cases/go", query_string={"number": typed})
        assert r.status_code == 302, typed


def test_unknown_case_number_says_so(client, office):
    client.login(office.caseworker.email)
    r = client.get("/cases/go", query_string={"number": "C-99999"})
    assert r.status_code == 404
    assert "There is no case C-99999 that you can open" in text_of(r)


@pytest.mark.parametrize("typed", ["", "hello", "C-12x", "9" * 40, "'; drop table cases"])
def test_nonsense_in_the_case_number_box_is_a_clear_400(client, office, typed):
    client.login(office.caseworker.email)
    r = client.get("/cases/go", query_string={"number": typed})
    assert r.status_code == 400
    assert "case number" in text_of(r)


def test_case_number_box_does_not_reveal_a_case_the_user_may_not_see(client, office):
    case = open_case(office, district=office.b)
    client.login(office.caseworker.email)
    r = client.get("/cases/go", query_string={"number": str(case.number)})
    assert r.status_code == 404
    assert case.subject not in text_of(r)


# The case list ---------------------------------------------------------------------------------


def listed(page: str) -> set[str]:
    return set(re.findall(r">C-(\d+)</a>", page))


def test_case_list_filters(client, office):
    other_category = factories.gen_category("Veterans")
    db.session.commit()
    routine = open_case(office, assignee=office.caseworker)
    urgent = open_case(office, priority=Priority.EMERGENCY)
    vet = open_case(office, assignee=office.supervisor)
    vet.category = other_category
    secret = open_case(office, confidential=True, assignee=office.caseworker)
    elsewhere = open_case(office, district=office.b)
    closed = open_case(office)
    closed.status = CaseStatus.CLOSED
    db.session.commit()
    client.login(office.supervisor.email)
    every = {str(c.number) for c in (routine, urgent, vet, secret)}
    assert listed(text_of(client.get("/cases/"))) == every  # open ones, own districts only
    assert str(closed.number) in listed(text_of(client.get("/cases/?status=")))
    assert listed(text_of(client.get("/cases/?status=closed"))) == {str(closed.number)}
    assert listed(text_of(client.get("/cases/?priority=emergency"))) == {str(urgent.number)}
    assert listed(text_of(client.get(f"/cases/?category={other_category.id}"))) == {str(vet.number)}
    assert listed(text_of(client.get(f"/cases/?assignee={office.caseworker.id}"))) == {
        str(routine.number),
        str(secret.number),
    }
    assert listed(text_of(client.get("/cases/?assignee=none"))) == {str(urgent.number)}
    assert listed(text_of(client.get("/cases/?assignee=me"))) == {str(vet.number)}
    assert listed(text_of(client.get("/cases/?confidential=yes"))) == {str(secret.number)}
    assert str(secret.number) not in listed(text_of(client.get("/cases/?confidential=no")))
    assert listed(text_of(client.get(f"/cases/?district={office.a.id}"))) == every
    # A district the user does not belong to is not offered and shows nothing of it.
    assert str(elsewhere.number) not in listed(
        text_of(client.get(f"/cases/?district={office.b.id}&status="))
    )


def test_case_list_age_brackets_sum_the_open_intervals(client, office):
    young = open_case(office)
    old = open_case(office)
    old.opened_at = utcnow() - timedelta(days=200)
    old.intervals[0].opened_at = old.opened_at
    db.session.commit()
    client.login(office.caseworker.email)
    assert listed(text_of(client.get("/cases/?age=0-30"))) == {str(young.number)}
    assert listed(text_of(client.get("/cases/?age=181%2B"))) == {str(old.number)}
    assert listed(text_of(client.get("/cases/?age=31-90"))) == set()


def test_case_list_sorting_and_paging(client, office):
    cases = [open_case(office, commit=False) for _ in range(27)]
    for i, case in enumerate(cases):
        case.opened_at = utcnow() - timedelta(days=i)
        case.intervals[0].opened_at = case.opened_at
    cases[5].priority = Priority.EMERGENCY
    db.session.commit()
    client.login(office.caseworker.email)
    first = text_of(client.get("/cases/"))
    numbers = re.findall(r">C-(\d+)</a>", first)
    assert len(numbers) == 25
    assert numbers[0] == str(cases[5].number)  # emergency first
    assert numbers[1] == str(cases[26].number)  # then the oldest
    assert "Showing 1–25 of 27 cases" in first
    second = text_of(client.get("/cases/?page=2"))
    assert len(re.findall(r">C-(\d+)</a>", second)) == 2
    newest = re.findall(r">C-(\d+)</a>", text_of(client.get("/cases/?sort=newest")))
    assert newest[0] == str(cases[0].number)
    # Nonsense in the address is not an error page.
    assert client.get("/cases/?page=abc&sort=zzz&status=nope&age=1").status_code == 200


def test_intake_list_shows_only_the_cases_they_opened(client, office):
    mine = open_case(office)
    other_intake = factories.gen_user(Role.INTAKE, [office.a])
    db.session.commit()
    theirs = open_case(office, opened_by=other_intake)
    secret = open_case(office, confidential=True)
    client.login(office.intake.email)
    page = text_of(client.get("/cases/"))
    assert "My cases" in page
    assert listed(page) == {str(mine.number)}
    assert str(theirs.number) not in page and str(secret.number) not in page


def test_a_note_added_meanwhile_does_not_make_the_header_form_stale(client, office):
    case = open_case(office)
    version = case.version
    client.login(office.caseworker.email)
    r = client.form_post(
        f"/cases/{case.id}/entries",
        {"entry-kind": "note", "entry-body": "Called the agency."},
        token_from=f"/cases/{case.id}",
    )
    assert r.status_code == 302
    assert db.session.get(Case, case.id).version == version
    client.logout()
    client.login(office.supervisor.email)
    stale_form = header_data(case, subject="Edited after the note")
    stale_form["version"] = version
    r = client.form_post(f"/cases/{case.id}/edit", stale_form, token_from=f"/cases/{case.id}/edit")
    assert r.status_code == 302
    assert db.session.get(Case, case.id).subject == "Edited after the note"
