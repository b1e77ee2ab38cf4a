"""The admin Categories page: add, rename, merge, import."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, SelectField, SelectMultipleField, StringField, widgets
from wtforms.validators import InputRequired

from constituent.forms import limit


class CategoryForm(FlaskForm):
    """A new category."""

    name = StringField("Name", validators=[InputRequired("Enter the name."), limit(80)])
    description = StringField("Description", validators=[limit(500)])


class CategoryRenameForm(FlaskForm):
    """A category's new name."""

    name = StringField("New name", validators=[InputRequired("Enter the new name."), limit(80)])


class CategoryMergeForm(FlaskForm):
    """The category to merge this one into (choices set by the view)."""

    target = SelectField("Merge into", coerce=int, validators=[InputRequired()])


class CategoryImportForm(FlaskForm):
    """A CSV of categories (name, description)."""

    file = FileField(
        "Categories (CSV: name, description)",
        validators=[FileRequired("Choose the CSV file to import.")],
    )


class CategoryPublicForm(FlaskForm):
    """Whether the public help form offers the category, its sentence in each language and
    the agency identifiers it asks residents for."""

    public = BooleanField("Offer this category on the public help form")
    name_es = StringField("Name in Spanish (optional)", validators=[limit(80)])
    blurb_en = StringField("Sentence residents read (English)", validators=[limit(200)])
    blurb_es = StringField("Sentence residents read (Spanish)", validators=[limit(200)])
    asks = SelectMultipleField(
        "Identifiers it asks for (optional for the resident)",
        choices=[],
        widget=widgets.ListWidget(prefix_label=False),
        option_widget=widgets.CheckboxInput(),
    )
