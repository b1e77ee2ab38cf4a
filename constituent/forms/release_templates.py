"""Forms of the admin Release templates pages: a template, a new version, its agencies."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SelectMultipleField, StringField, TextAreaField, widgets
from wtforms.validators import InputRequired

from constituent.forms import limit
from constituent.services.release_templates import MAX_NAME, MAX_TEXT


def _agencies_field() -> SelectMultipleField:
    return SelectMultipleField(
        "Agencies it covers",
        choices=[],
        coerce=int,
        widget=widgets.ListWidget(prefix_label=False),
        option_widget=widgets.CheckboxInput(),
    )


class VersionForm(FlaskForm):
    """The wording in both languages (a new version: versions are never edited)."""

    text_en = TextAreaField(
        "Wording in English",
        validators=[InputRequired("Enter the release wording in English."), limit(MAX_TEXT)],
        render_kw={"rows": 10},
    )
    text_es = TextAreaField(
        "Wording in Spanish",
        validators=[InputRequired("Enter the release wording in Spanish."), limit(MAX_TEXT)],
        render_kw={"rows": 10},
    )


class TemplateForm(VersionForm):
    """A new template: its name, the agencies it covers and its first wording."""

    name = StringField(
        "Name", validators=[InputRequired("Enter the template's name."), limit(MAX_NAME)]
    )
    agencies = _agencies_field()


class AgenciesForm(FlaskForm):
    """The agencies a template covers."""

    agencies = _agencies_field()
