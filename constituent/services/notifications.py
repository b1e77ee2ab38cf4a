"""Notices for staff: in-app notifications, and an email when SMTP is configured.

Email goes to staff accounts (a ``User``); the one email a resident gets is the confirmation
of a request sent through the public help form (reference number and office phone only, by
``queue_mail``). It is sent after the transaction commits, so a rolled-back save mails
nobody, and a mail failure is logged without touching the save.
"""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import Session

from constituent.database import affected_rows
from constituent.extensions import db
from constituent.models import Case, Notification, User, utcnow
from constituent.services.errors import NotFound

log = logging.getLogger(__name__)

PENDING_KEY = "constituent_pending_mail"


@dataclass(frozen=True)
class OutgoingMail:
    """One email waiting for the commit, with the SMTP settings captured when it was queued."""

    to: str
    subject: str
    body: str
    settings: dict[str, Any]


def notify(user: User, message: str, *, kind: str, case: Case | None = None) -> Notification:
    """Add an in-app notification for a member of staff (never commits)."""
    notification = Notification(
        user_id=user.id,
        case_id=case.id if case is not None else None,
        kind=kind,
        message=message[:500],
    )
    db.session.add(notification)
    return notification


def notify_assignment(case: Case, assignee: User, by: User) -> Notification:
    """Tell the new assignee in the app, and by email when SMTP is configured."""
    number = f"{current_app.config['CASE_PREFIX']}{case.number}"
    message = f"Case {number} was assigned to you by {by.full_name}."
    notification = notify(assignee, message, kind="case_assigned", case=case)
    # The email says no more than the notice: case text stays inside the system.
    queue_staff_email(
        assignee,
        subject=f"Case {number} assigned to you",
        body=(
            f"{message}\n\nPriority: {case.priority.label}.\n"
            f"Open it in Constituent by typing {number} in the case number box.\n"
        ),
    )
    return notification


def queue_staff_email(user: User, *, subject: str, body: str) -> OutgoingMail | None:
    """Queue an email to a staff account, sent after commit; None when SMTP is not set up."""
    if not user.active or not user.email:
        return None
    return queue_mail(user.email, subject=subject, body=body)


def queue_mail(to: str, *, subject: str, body: str) -> OutgoingMail | None:
    """Queue an email to ``to``, sent after commit; None when SMTP is not set up."""
    config = current_app.config
    if not config.get("MAIL_SERVER"):
        return None
    mail = OutgoingMail(
        to=to,
        subject=subject,
        body=body,
        settings={
            k: config.get(k)
            for k in (
                "MAIL_SERVER",
                "MAIL_PORT",
                "MAIL_USERNAME",
                "MAIL_PASSWORD",
                "MAIL_USE_TLS",
                "MAIL_SENDER",
            )
        },
    )
    db.session().info.setdefault(PENDING_KEY, []).append(mail)
    return mail


def send_mail(mail: OutgoingMail) -> bool:
    """Send one email over SMTP; log and return False on any failure."""
    s = mail.settings
    message = EmailMessage()
    message["From"] = s.get("MAIL_SENDER") or "casework@localhost"
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message.set_content(mail.body)
    try:
        with smtplib.SMTP(s["MAIL_SERVER"], int(s.get("MAIL_PORT") or 25), timeout=10) as smtp:
            if s.get("MAIL_USE_TLS"):
                smtp.starttls()
            if s.get("MAIL_USERNAME"):
                smtp.login(s["MAIL_USERNAME"], s.get("MAIL_PASSWORD") or "")
            smtp.send_message(message)
    except Exception:  # a mail server problem must never break or undo a save
        log.exception("could not send notification email to a staff account")
        return False
    return True


@event.listens_for(Session, "after_commit")
def _send_pending(session: Session) -> None:
    for mail in session.info.pop(PENDING_KEY, []):
        send_mail(mail)


@event.listens_for(Session, "after_rollback")
def _drop_pending(session: Session) -> None:
    session.info.pop(PENDING_KEY, None)


def unread_for(user: User, limit: int = 50) -> list[Notification]:
    """The user's unread notifications, newest first."""
    return list(
        db.session.scalars(
            sa.select(Notification)
            .where(Notification.user_id == user.id, Notification.read_at.is_(None))
            .order_by(Notification.created_at.desc(), Notification.id.desc())
            .limit(limit)
        )
    )


def mark_read(user: User, notification_id: int) -> Notification:
    """Mark one of the user's own notifications read (NotFound for anyone else's)."""
    notification = db.session.scalar(
        sa.select(Notification).where(
            Notification.id == notification_id, Notification.user_id == user.id
        )
    )
    if notification is None:
        raise NotFound("That notification is not yours or no longer exists.")
    if notification.read_at is None:
        notification.read_at = utcnow()
    return notification


def mark_all_read(user: User) -> int:
    """Mark every unread notification of the user read; returns how many."""
    result = db.session.execute(
        sa.update(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
    )
    return affected_rows(result)
