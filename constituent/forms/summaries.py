"""The period chooser of the summary pages (a GET form: no CSRF token, nothing is saved)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SelectField
from wtforms.validators import Length, Optional

from constituent.forms import DayField


class PeriodForm(FlaskForm):
    """Period menu plus custom dates; the summaries service checks the dates themselves."""

    class Meta:
        csrf = False

    period = SelectField(
        "Period", choices=[], validate_choice=False, validators=[Optional(), Length(max=16)]
    )
    start = DayField(
        "From (custom dates)",
        validators=[Optional()],
        render_kw={"min": "1900-01-01", "max": "2999-12-31"},
    )
    end = DayField(
        "To (custom dates)",
        validators=[Optional()],
        render_kw={"min": "1900-01-01", "max": "2999-12-31"},
    )
