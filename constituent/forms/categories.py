"""The admin Categories page: add, rename, merge, import."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import SelectField, StringField
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
