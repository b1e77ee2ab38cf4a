"""Forms for referrals: sending, correcting, acknowledging, declining, withdrawing, second
inquiries, agency responses and the case's next status."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # not in types-WTForms yet
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import HiddenInput

from constituent.forms import DayField, OneTimeKey, required_day
from constituent.models import CaseStatus, ReferralMethod, ResponseOutcome
from constituent.services.referrals import METHOD_LABELS, OUTCOME_LABELS


def choices(pairs: Iterable[tuple[Any, str]]) -> list[SelectChoice]:
    """(value, label) pairs as WTForms select choices."""
    return [SelectChoice(value, label) for value, label in pairs]


METHOD_PAIRS = [(m.value, METHOD_LABELS[m]) for m in ReferralMethod]
METHOD_CHOICES = choices(METHOD_PAIRS)
# An agency's letter pasted in full can be long; the limit only stops absurd input.
RESPONSE_TEXT_LIMIT = 100_000


def _version_field(field_id: str | None = None) -> IntegerField:
    return IntegerField(widget=HiddenInput(), validators=[Optional()], id=field_id)


def _int_or_zero(value: object) -> int:
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return 0


class ReferralForm(OneTimeKey, FlaskForm):
    """Send the case to an agency contact."""

    agency = SelectField(
        "Agency", coerce=_int_or_zero, validators=[DataRequired("Choose the agency.")]
    )
    # Offered: the chosen agency's liaisons; route_case refuses another agency's one by name.
    contact = SelectField(
        "Contact at the agency",
        coerce=_int_or_zero,
        validators=[Optional()],
        validate_choice=False,
    )
    method = SelectField(
        "Sent by", choices=METHOD_CHOICES, validators=[DataRequired("Choose how it was sent.")]
    )
    sent_on = required_day("Date sent")
    due_on = DayField("Response due", validators=[Optional()])
    reference_number = StringField(
        "Agency reference number", validators=[Optional(), Length(max=80)]
    )
    override_reason = TextAreaField(
        "Reason to send without a covering privacy release (supervisors)",
        validators=[Optional(), Length(max=2000)],
    )


class ReferralEditForm(FlaskForm):
    """Correct a referral's contact, agency reference or due date."""

    contact = SelectField("Contact at the agency", coerce=_int_or_zero, validators=[Optional()])
    reference_number = StringField(
        "Agency reference number", validators=[Optional(), Length(max=80)]
    )
    due_on = required_day("Response due")
    version = _version_field()


class AcknowledgeForm(FlaskForm):
    """The agency confirmed it has the referral."""

    acknowledged_on = required_day("Date acknowledged")
    reference_number = StringField(
        "Agency reference number (if given)",
        validators=[Optional(), Length(max=80)],
        id="ack-reference_number",
    )
    version = _version_field("ack-version")


def _reason(label: str, prefix: str, required: str | None = None) -> TextAreaField:
    """Why a referral ends (``required`` is the message when it must be given); its id is
    prefixed, as the referral page holds several such forms."""
    first = DataRequired(required) if required else Optional()
    return TextAreaField(label, validators=[first, Length(max=2000)], id=f"{prefix}-reason")


class DeclineForm(FlaskForm):
    """The agency will not take the referral; why."""

    reason = _reason(
        "Why the agency declined", "decline", "Say why the agency declined the referral."
    )
    version = _version_field("decline-version")


class WithdrawForm(FlaskForm):
    """The office takes the referral back."""

    reason = _reason("Reason for withdrawing (optional)", "withdraw")
    version = _version_field("withdraw-version")


class SecondInquiryForm(FlaskForm):
    """A further inquiry on an overdue referral; blank fields take the defaults."""

    inquiry_on = DayField("Date of the inquiry", validators=[Optional()])
    method = SelectField(
        "Sent by",
        choices=choices([("", "Same as before"), *METHOD_PAIRS]),
        validators=[Optional()],
        id="inquiry-method",
    )
    due_on = DayField("New response due date", validators=[Optional()], id="inquiry-due_on")
    note = TextAreaField(
        "Note (optional)", validators=[Optional(), Length(max=2000)], id="inquiry-note"
    )
    version = _version_field("inquiry-version")


class ResponseForm(FlaskForm):
    """The agency's answer: when, how, what it said, and the outcome."""

    received_on = required_day("Date received")
    channel = SelectField(
        "Received by",
        choices=METHOD_CHOICES,
        validators=[DataRequired("Choose how the response came.")],
    )
    outcome = SelectField(
        "Outcome",
        choices=choices(
            [("", "Choose the outcome")] + [(o.value, OUTCOME_LABELS[o]) for o in ResponseOutcome]
        ),
        validators=[DataRequired("Choose the outcome.")],
    )
    body = TextAreaField(
        "Full text of the response",
        validators=[
            DataRequired("Paste the text of the agency's response."),
            Length(max=RESPONSE_TEXT_LIMIT),
        ],
    )
    version = _version_field()


class CaseStatusForm(FlaskForm):
    """Move the case on after an agency's response."""

    status = SelectField(
        "New case status",
        choices=choices(
            (s.value, s.label)
            for s in (
                CaseStatus.OPEN,
                CaseStatus.WAITING_ON_CONSTITUENT,
                CaseStatus.WAITING_ON_AGENCY,
                CaseStatus.RESOLVED,
            )
        ),
        validators=[DataRequired("Choose the status.")],
    )
    case_version = _version_field()
