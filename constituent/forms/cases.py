"""Forms of the case page and the case list; choices are filled in by the view."""

from __future__ import annotations

import enum
from dataclasses import fields
from typing import Any, get_type_hints

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    widgets,
)
from wtforms.validators import DataRequired, Length, Optional

from constituent.extensions import db
from constituent.forms import CarriesVersion, OneTimeKey, choices, required_day
from constituent.models import (
    CaseStatus,
    EventKind,
    Outcome,
    Priority,
    RequestMethod,
    SignatureMethod,
)
from constituent.services import cases as case_service

ENTRY_KIND_CHOICES = choices((k.value, k.label) for k in case_service.ENTRY_KINDS)


def _limit(n: int, what: str = "it") -> Length:
    return Length(max=n, message=f"Keep {what} to at most {n:,} characters.")


class EntryForm(FlaskForm):
    """Add a note, call, email, letter or meeting to the timeline in one step."""

    kind = SelectField("Kind of entry", choices=ENTRY_KIND_CHOICES, default=EventKind.NOTE.value)
    body = TextAreaField(
        "What happened",
        validators=[
            DataRequired("Write what happened."),
            _limit(case_service.ENTRY_LIMIT, "the entry"),
        ],
    )


class StatusForm(CarriesVersion, FlaskForm):
    """Move an open case along the workflow (closing needs an outcome)."""

    status = SelectField(
        "New status", choices=[], validators=[DataRequired("Choose the new status.")]
    )
    outcome = SelectField(
        "Outcome (needed to close)",
        choices=choices([("", "— Choose when closing —")] + [(o.value, o.label) for o in Outcome]),
        validators=[Optional()],
    )
    note = TextAreaField("Note (optional)", validators=[_limit(2000, "the note")])

    def chosen_status(self) -> CaseStatus:
        return CaseStatus(self.status.data)

    def chosen_outcome(self) -> Outcome | None:
        return Outcome(self.outcome.data) if self.outcome.data else None


class ReopenForm(CarriesVersion, FlaskForm):
    """Reopen a closed case, saying why."""

    reason = TextAreaField(
        "Reason for reopening",
        validators=[
            DataRequired("Say why the case is being reopened."),
            _limit(2000, "the reason"),
        ],
    )


class AssignForm(CarriesVersion, FlaskForm):
    """Assign or reassign the case."""

    assignee = SelectField("Assign to", choices=[], coerce=int)


class FollowUpForm(OneTimeKey, FlaskForm):
    """A dated task on the case for a member of staff."""

    due_on = required_day("Due on")
    assignee = SelectField("For", choices=[], coerce=int)
    description = StringField(
        "What needs doing",
        validators=[DataRequired("Say what needs doing."), _limit(500)],
    )


class CompleteFollowUpForm(FlaskForm):
    """Mark one follow-up done (one form per follow-up, each with its own prefix)."""

    note = StringField("Note (optional)", validators=[_limit(2000, "the note")])


class ReleaseRequestForm(CarriesVersion, FlaskForm):
    """Record that a privacy release was sent for signature."""

    requested_on = required_day("Requested on")
    method = SelectField(
        "How it was requested", choices=choices((m.value, m.label) for m in RequestMethod)
    )


class ReleaseReceivedForm(CarriesVersion, FlaskForm):
    """Record the signed release with its scanned form."""

    signed_on = required_day("Signed on")
    signature_method = SelectField(
        "Signature", choices=choices((m.value, m.label) for m in SignatureMethod)
    )
    agencies = SelectMultipleField(
        "Agencies it covers",
        choices=[],
        coerce=int,
        widget=widgets.ListWidget(prefix_label=False),
        option_widget=widgets.CheckboxInput(),
    )
    file = FileField(
        "Signed form (PDF, PNG or JPEG, at most 10 MB)",
        validators=[FileRequired("Attach the signed form (PDF, PNG or JPEG).")],
    )


class NotNeededForm(CarriesVersion, FlaskForm):
    """Record that the case needs no privacy release."""

    note = StringField("Why (optional)", validators=[_limit(2000, "the note")])


class HeaderForm(CarriesVersion, FlaskForm):
    """Edit the case header; ``version`` detects a save by someone else in between."""

    subject = StringField(
        "Subject",
        validators=[
            DataRequired("Enter a subject."),
            _limit(case_service.SUBJECT_LIMIT, "the subject"),
        ],
    )
    description = TextAreaField(
        "Description",
        validators=[_limit(case_service.DESCRIPTION_LIMIT, "the description")],
    )
    category = SelectField("Category", choices=[], coerce=int)
    priority = SelectField("Priority", choices=choices((p.value, p.label) for p in Priority))
    district = SelectField("District", choices=[], coerce=int)
    confidential = BooleanField("Confidential (only supervisors and the assignee may see it)")

    # Each field of ``case_service.CaseHeader`` has a form field of the same name: a model
    # is chosen by id, an enum by value, text and flags as they are.

    @classmethod
    def showing(cls, header: case_service.CaseHeader, version: int) -> HeaderForm:
        """The form filled with a saved header (nothing submitted)."""
        shown = {name: _form_value(value) for name, value in header.values().items()}
        return cls(formdata=None, version=str(version), **shown)

    def header(self) -> case_service.CaseHeader:
        """The submitted header (after ``validate``: the chosen ids are among the choices)."""
        kinds = get_type_hints(case_service.CaseHeader)
        return case_service.CaseHeader(
            **{
                f.name: _header_value(kinds[f.name], self[f.name].data)
                for f in fields(case_service.CaseHeader)
            }
        )


def _form_value(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    return getattr(value, "id", value)


def _header_value(kind: Any, data: Any) -> Any:
    if kind is bool:
        return bool(data)
    if kind is str:
        return data or ""
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        return kind(data)
    return db.session.get(kind, data)  # a record chosen by id


class CaseFilterForm(FlaskForm):
    """The case list's filters (a GET form: no CSRF token)."""

    class Meta:
        csrf = False

    status = SelectField(
        "Status",
        choices=choices(
            [(case_service.ACTIVE, "All open"), ("", "Any status")]
            + [(s.value, s.label) for s in CaseStatus]
        ),
        default=case_service.ACTIVE,
        validators=[Optional()],
    )
    district = SelectField("District", choices=[], validators=[Optional()])
    category = SelectField("Category", choices=[], validators=[Optional()])
    assignee = SelectField("Assigned to", choices=[], validators=[Optional()])
    priority = SelectField(
        "Priority",
        choices=choices([("", "Any priority")] + [(p.value, p.label) for p in Priority]),
        validators=[Optional()],
    )
    age = SelectField(
        "Age",
        choices=choices(
            [("", "Any age")]
            + [(k, label) for k, (label, _, _) in case_service.AGE_BRACKETS.items()]
        ),
        validators=[Optional()],
    )
    confidential = SelectField(
        "Confidential",
        choices=choices([("", "Either"), ("yes", "Confidential only"), ("no", "Not confidential")]),
        validators=[Optional()],
    )
    sort = SelectField(
        "Sort by",
        choices=choices(case_service.SORTS.items()),
        default="priority",
        validators=[Optional()],
    )
    page = IntegerField("Page", default=1, validators=[Optional()])
