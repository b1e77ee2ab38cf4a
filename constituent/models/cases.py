"""Cases (the concerns), their open intervals, timeline events and follow-ups."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from constituent.models.base import Base, CreatedAt, Timestamped, WordsEnum, str_enum, utcnow

if TYPE_CHECKING:
    from constituent.models.categories import Category
    from constituent.models.constituents import Constituent
    from constituent.models.districts import District
    from constituent.models.releases import PrivacyRelease
    from constituent.models.users import User


class CaseStatus(WordsEnum):
    OPEN = "open"
    WAITING_ON_CONSTITUENT = "waiting_on_constituent"
    WAITING_ON_AGENCY = "waiting_on_agency"
    RESOLVED = "resolved"
    CLOSED = "closed"


OPEN_STATUSES = (
    CaseStatus.OPEN,
    CaseStatus.WAITING_ON_CONSTITUENT,
    CaseStatus.WAITING_ON_AGENCY,
    CaseStatus.RESOLVED,
)


class Priority(WordsEnum):
    ROUTINE = "routine"
    EXPEDITE = "expedite"
    EMERGENCY = "emergency"

    @property
    def rank(self) -> int:
        return {"emergency": 0, "expedite": 1, "routine": 2}[self.value]


class Channel(enum.StrEnum):
    PHONE = "phone"
    WALK_IN = "walk_in"
    EMAIL = "email"
    LETTER = "letter"
    WEB_FORM = "web_form"
    EVENT = "event"

    @property
    def label(self) -> str:
        return self.value.replace("_", "-").capitalize()


class Outcome(enum.StrEnum):
    ASSISTED = "assisted"
    DENIED = "denied"
    INFORMATION_PROVIDED = "information_provided"
    REFERRED_ELSEWHERE = "referred_elsewhere"
    WITHDRAWN = "withdrawn"
    UNABLE_TO_CONTACT = "unable_to_contact"
    OUT_OF_JURISDICTION = "out_of_jurisdiction"

    @property
    def label(self) -> str:
        return {
            "assisted": "Assisted / favorable",
            "denied": "Denied / unfavorable",
            "information_provided": "Information provided",
            "referred_elsewhere": "Referred elsewhere",
            "withdrawn": "Withdrawn",
            "unable_to_contact": "Unable to contact",
            "out_of_jurisdiction": "Out of jurisdiction",
        }[self.value]


class ReleaseState(WordsEnum):
    """Where the case stands on the resident's signed privacy release."""

    NEEDED = "needed"
    REQUESTED = "requested"
    RECEIVED = "received"
    NOT_NEEDED = "not_needed"


class Case(Timestamped, Base):
    """A constituent's concern, from the call to the outcome."""

    __tablename__ = "cases"
    __table_args__ = (
        sa.Index("ix_cases_district_status", "district_id", "status"),
        sa.Index("ix_cases_assignee_status", "assignee_id", "status"),
        sa.Index("ix_cases_status_opened_at", "status", "opened_at"),
        sa.Index("ix_cases_opened_at", "opened_at"),
        sa.Index("ix_cases_closed_at", "closed_at"),
        # Summaries read a district's cases opened, or closed, in a range of dates, and group
        # them by the columns after the range: the index alone answers (no visit per case).
        sa.Index(
            "ix_cases_district_opened_cover",
            "district_id",
            "opened_at",
            "category_id",
            "channel",
            "confidential",
            "constituent_id",
        ),
        sa.Index(
            "ix_cases_district_closed_cover",
            "district_id",
            "status",
            "closed_at",
            "category_id",
            "outcome",
            "assignee_id",
            "confidential",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Human-readable number shown as "C-1042" and quoted in mail as "[Case #1042]".
    number: Mapped[int] = mapped_column(unique=True)
    constituent_id: Mapped[int] = mapped_column(
        sa.ForeignKey("constituents.id", ondelete="RESTRICT"), index=True
    )
    # The office district handling the case (for an out-of-district resident: the office's own).
    district_id: Mapped[int] = mapped_column(sa.ForeignKey("districts.id"))
    category_id: Mapped[int] = mapped_column(sa.ForeignKey("categories.id"), index=True)
    subject: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    channel: Mapped[Channel] = mapped_column(str_enum(Channel, 16))
    priority: Mapped[Priority] = mapped_column(str_enum(Priority, 16), default=Priority.ROUTINE)
    status: Mapped[CaseStatus] = mapped_column(str_enum(CaseStatus, 32), default=CaseStatus.OPEN)
    confidential: Mapped[bool] = mapped_column(default=False)
    release_state: Mapped[ReleaseState] = mapped_column(
        str_enum(ReleaseState, 16), default=ReleaseState.NOT_NEEDED
    )
    assignee_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    opened_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    outcome: Mapped[Outcome | None] = mapped_column(str_enum(Outcome, 32))
    outcome_note: Mapped[str | None] = mapped_column(sa.String(2000))
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None]
    last_activity_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The case's id in the system it was imported from: a re-run updates, never duplicates.
    external_id: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}

    constituent: Mapped[Constituent] = relationship(back_populates="cases")
    district: Mapped[District] = relationship()
    category: Mapped[Category] = relationship()
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])
    opened_by: Mapped[User | None] = relationship(foreign_keys=[opened_by_id])
    events: Mapped[list[TimelineEvent]] = relationship(
        back_populates="case", order_by="TimelineEvent.id", passive_deletes=True
    )
    intervals: Mapped[list[CaseInterval]] = relationship(
        back_populates="case", order_by="CaseInterval.opened_at", passive_deletes=True
    )
    follow_ups: Mapped[list[FollowUp]] = relationship(
        back_populates="case", order_by="FollowUp.due_on", passive_deletes=True
    )
    releases: Mapped[list[PrivacyRelease]] = relationship(
        back_populates="case", order_by="PrivacyRelease.id", passive_deletes=True
    )

    @property
    def is_open(self) -> bool:
        return self.status != CaseStatus.CLOSED

    def __repr__(self) -> str:
        return f"<Case {self.number} {self.status}>"


class CaseInterval(Base):
    """One open interval of a case: opened (or reopened) until closed.

    A case reopened twice has three rows; its time to close is the sum of them.
    """

    __tablename__ = "case_intervals"
    __table_args__ = (
        sa.Index("ix_case_intervals_closed_at", "closed_at"),
        # A case's spans, read from the index alone (days to close, age at an instant).
        sa.Index("ix_case_intervals_case_span", "case_id", "opened_at", "closed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None]

    case: Mapped[Case] = relationship(back_populates="intervals")


class EventKind(WordsEnum):
    NOTE = "note"
    CALL = "call"
    EMAIL = "email"
    LETTER = "letter"
    MEETING = "meeting"
    STATUS_CHANGE = "status_change"
    ASSIGNMENT = "assignment"
    RELEASE = "release"
    REFERRAL = "referral"
    RESPONSE = "response"
    FOLLOW_UP = "follow_up"
    INTAKE = "intake"
    SYSTEM = "system"


class TimelineEvent(CreatedAt, Base):
    """An append-only entry on a case's timeline. Corrections are new entries."""

    __tablename__ = "timeline_events"
    __table_args__ = (sa.Index("ix_timeline_events_case_occurred", "case_id", "occurred_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"))
    kind: Mapped[EventKind] = mapped_column(str_enum(EventKind, 16))
    author_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(sa.Text, default="")
    data: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)

    case: Mapped[Case] = relationship(back_populates="events")
    author: Mapped[User | None] = relationship()


class FollowUp(CreatedAt, Base):
    """A dated task on a case for a staffer."""

    __tablename__ = "follow_ups"
    __table_args__ = (
        sa.Index("ix_follow_ups_assignee_due", "assignee_id", "completed_at", "due_on"),
        sa.Index("ix_follow_ups_due_on", "due_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    assignee_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    due_on: Mapped[date]
    description: Mapped[str] = mapped_column(sa.String(500))
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    completed_at: Mapped[datetime | None]
    completed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    completion_note: Mapped[str | None] = mapped_column(sa.String(2000))

    case: Mapped[Case] = relationship(back_populates="follow_ups")
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])


class Counter(Base):
    """Named counters handed out under a row lock (case numbers)."""

    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    value: Mapped[int] = mapped_column(sa.BigInteger)
