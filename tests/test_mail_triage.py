"""Unfiled mail carries residents' details: supervisors and caseworkers given mail triage only,
and every opening of an unfiled message is audited."""

from __future__ import annotations

import sqlalchemy as sa

from constituent.extensions import db
from constituent.models import AuditEvent, InboundMessage, Role, User
from tests import factories
from tests.case_helpers import open_case


def _unfiled() -> InboundMessage:
    message = factories.gen_message(
        "My benefits stopped", "My date of birth is 4/2/1951 and my claim number is 123."
    )
    db.session.commit()
    return message


def _openings(message: InboundMessage) -> list[AuditEvent]:
    return list(
        db.session.scalars(
            sa.select(AuditEvent).where(
                AuditEvent.action == "unfiled_message_opened",
                AuditEvent.record_id == str(message.id),
            )
        )
    )


def test_a_caseworker_without_the_grant_sees_no_unfiled_mail(client, office):
    message = _unfiled()
    client.login(office.caseworker.email)
    assert 'href="/mail/"' not in client.get("/my-work").get_data(as_text=True)
    assert client.get("/mail/").status_code == 403
    opened = client.get(f"/mail/{message.id}")
    assert opened.status_code == 403 and "date of birth" not in opened.get_data(as_text=True)
    assert client.get(f"/mail/{message.id}/new-case").status_code == 403
    token = client.csrf_token("/")
    filed = client.post(f"/mail/{message.id}/file", data={"csrf_token": token})
    assert filed.status_code == 403
    assert _openings(message) == []


def test_a_caseworker_given_mail_triage_works_the_queue_and_each_opening_is_audited(client, office):
    message = _unfiled()
    office.caseworker.mail_triage = True
    db.session.commit()
    client.login(office.caseworker.email)
    assert 'href="/mail/"' in client.get("/my-work").get_data(as_text=True)
    assert "My benefits stopped" in client.get("/mail/").get_data(as_text=True)
    for _ in range(2):
        page = client.get(f"/mail/{message.id}")
        assert page.status_code == 200 and "date of birth" in page.get_data(as_text=True)
    assert client.get(f"/mail/{message.id}/new-case").status_code == 200
    openings = _openings(message)
    assert len(openings) == 3 and {e.user_id for e in openings} == {office.caseworker.id}


def test_supervisors_work_the_queue_and_their_openings_are_audited(client, office):
    message = _unfiled()
    client.login(office.supervisor.email)
    assert client.get(f"/mail/{message.id}").status_code == 200
    assert [e.user_id for e in _openings(message)] == [office.supervisor.id]


def test_a_filed_email_stays_readable_on_its_case_without_the_grant(client, office):
    case = open_case(office, assignee=office.caseworker)
    message = factories.gen_message("Re: your inquiry", "Payment restored.", case_id=case.id)
    db.session.commit()
    client.login(office.caseworker.email)
    assert client.get(f"/mail/{message.id}").status_code == 200
    assert _openings(message) == []  # a filed message is part of its case, not the queue


def test_flask_users_gives_and_takes_back_mail_triage(runner, office):
    result = runner.invoke(args=["users", "mail-triage", office.caseworker.email])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert office.caseworker.mail_triage
    assert "mail triage" in runner.invoke(args=["users", "list"]).output
    result = runner.invoke(args=["users", "mail-triage", office.caseworker.email, "--revoke"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert not office.caseworker.mail_triage
    actions = db.session.scalars(
        sa.select(AuditEvent.action).where(AuditEvent.action.like("mail_triage_%"))
    ).all()
    assert sorted(actions) == ["mail_triage_granted", "mail_triage_revoked"]


def test_flask_users_refuses_the_grant_for_other_roles(runner, office):
    result = runner.invoke(args=["users", "mail-triage", office.intake.email])
    assert result.exit_code == 1 and "given to caseworkers" in result.output
    result = runner.invoke(args=["users", "mail-triage", "nobody@test.example"])
    assert result.exit_code == 1 and "No user" in result.output


def test_flask_users_create_with_mail_triage(runner, office):
    result = runner.invoke(
        args=[
            "users",
            "create",
            "--email",
            "pat@test.example",
            "--role",
            "caseworker",
            "--district",
            office.a.code,
            "--generate-password",
            "--mail-triage",
        ]
    )
    assert result.exit_code == 0, result.output
    user = db.session.scalar(sa.select(User).where(User.email == "pat@test.example"))
    assert user.mail_triage and user.role == Role.CASEWORKER
