"""The audit log's filters."""

from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.validators import Length, Optional

from constituent.forms import DayField


class AuditFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET filter: it changes nothing

    user = StringField("User email contains", validators=[Optional(), Length(max=254)])
    action = SelectField(
        "Action", choices=[], validate_choice=False, validators=[Optional(), Length(max=60)]
    )
    record_type = StringField(
        "Record type",
        validators=[Optional(), Length(max=40)],
        description="e.g. case, user, constituent, summary",
    )
    record_id = StringField(
        "Record", validators=[Optional(), Length(max=40)], description="Its number or id"
    )
    since = DayField("From", validators=[Optional()])
    until = DayField("To", validators=[Optional()])
