"""Forms of letters: editing templates, choosing what to print for a case."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from constituent.forms import OneTimeKey, choices
from constituent.forms.agencies import optional_int
from constituent.models import LetterKind
from constituent.services.letters import KIND_LABELS, MAX_BODY_SOURCE, MAX_SUBJECT


class LetterTemplateForm(FlaskForm):
    """Create or edit a letter template."""

    name = StringField(
        "Name", validators=[DataRequired("Enter a name for the template."), Length(max=120)]
    )
    kind = SelectField(
        "Kind of letter",
        choices=choices([(k.value, KIND_LABELS[k]) for k in LetterKind]),
        validators=[DataRequired("Choose what kind of letter this is.")],
    )
    subject = StringField(
        "Subject", validators=[DataRequired("Enter a subject."), Length(max=MAX_SUBJECT)]
    )
    body = TextAreaField(
        "Letter text",
        validators=[DataRequired("Enter the letter's text."), Length(max=MAX_BODY_SOURCE)],
    )
    version = HiddenField(validators=[Optional(), Length(max=12)])


class LetterChoiceForm(FlaskForm):
    """Which template, and for which agency contact or referral (a GET form: the preview)."""

    class Meta:
        csrf = False

    template_id = SelectField(
        "Letter template",
        coerce=optional_int,
        validators=[InputRequired("Choose a letter template.")],
    )
    referral_id = SelectField("Referral", coerce=optional_int, validators=[Optional()])
    contact_id = SelectField("Agency contact", coerce=optional_int, validators=[Optional()])


class PrintLetterForm(OneTimeKey, FlaskForm):
    """Record and print the previewed letter."""

    template_id = HiddenField(validators=[DataRequired(), Length(max=12)])
    referral_id = HiddenField(validators=[Optional(), Length(max=12)])
    contact_id = HiddenField(validators=[Optional(), Length(max=12)])
