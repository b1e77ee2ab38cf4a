"""The search form (a GET form: no CSRF token)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # not in types-WTForms yet
from wtforms.validators import Length, Optional

from constituent.forms import DayField
from constituent.search.query import MAX_LENGTH
from constituent.search.searching import SORTS


class SearchForm(FlaskForm):
    """Words and filters typed in the search box, the sort order and optional date ranges."""

    class Meta:
        csrf = False

    # A text input (USWDS styles every type=search as its search component's narrow box).
    q = StringField(
        "Search cases, constituents and agencies",
        render_kw={"inputmode": "search", "enterkeyhint": "search", "autocomplete": "off"},
        validators=[
            Length(
                max=MAX_LENGTH,
                message=(
                    f"Searches are limited to {MAX_LENGTH} characters. Type the few words you "
                    "remember instead."
                ),
            )
        ],
    )
    sort = SelectField(
        "Sort cases by",
        choices=[SelectChoice(v, label) for v, label in SORTS.items()],
        default="relevance",
        validators=[Optional()],
    )
    opened_from = DayField("Opened on or after", validators=[Optional()])
    opened_to = DayField("Opened on or before", validators=[Optional()])
    closed_from = DayField("Closed on or after", validators=[Optional()])
    closed_to = DayField("Closed on or before", validators=[Optional()])

    def date_filters(self) -> str:
        """The date pickers as search filters (opened:… to …), appended to the words."""
        parts = []
        for name in ("opened", "closed"):
            start = getattr(self, f"{name}_from").data
            end = getattr(self, f"{name}_to").data
            if start or end:
                first = start.isoformat() if start else "1900-01-01"
                last = end.isoformat() if end else "2999-12-31"
                parts.append(f"{name}:{first} to {last}")
        return " ".join(parts)
