"""Forms of the Online requests pages: accept a request as a case, or decline it."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import RadioField, StringField
from wtforms.validators import InputRequired

from constituent.forms import choices, limit
from constituent.forms.intake import NewCaseFields
from constituent.models import Channel, DeclineReason
from constituent.services.constituents import LIMITS
from constituent.services.intake import CallDetails


class AcceptForm(NewCaseFields):
    """Accept a request: who it is about (a match staff chose, or a new record from what the
    resident typed), the district when the ZIP does not settle it, and the case's fields."""

    phone = StringField(
        "Phone",
        validators=[limit(LIMITS["phone"])],
        render_kw={"autocomplete": "off", "inputmode": "tel"},
    )

    def details(self) -> CallDetails:
        """The submitted values as the intake service's plain dataclass (channel: web form;
        the description is what the resident wrote, filled in by the service)."""
        return self.call_details(channel=Channel.WEB_FORM.value, phone=self.phone.data or "")


class DeclineForm(FlaskForm):
    """Decline a request, saying why."""

    reason = RadioField(
        "Why decline it",
        choices=choices((r.value, r.label) for r in DeclineReason),
        validators=[InputRequired("Choose why the request is declined.")],
    )
