"""Sign-in form."""

from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, PasswordField
from wtforms.validators import DataRequired, Length


class SignInForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired("Enter your email."), Length(max=254)])
    password = PasswordField(
        "Password", validators=[DataRequired("Enter your password."), Length(max=128)]
    )
    next = HiddenField(validators=[Length(max=500)])


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(
        "Current password",
        validators=[DataRequired("Enter your current password."), Length(max=128)],
    )
    new_password = PasswordField(
        "New password",
        validators=[DataRequired("Enter a new password."), Length(max=1000)],
        description="At least 12 characters. A long phrase is easiest to remember.",
    )
    confirm_password = PasswordField(
        "New password again",
        validators=[DataRequired("Enter the new password again."), Length(max=1000)],
    )


class SetPasswordForm(FlaskForm):
    """A new password, twice, set through a one-time link."""

    new_password = PasswordField(
        "New password",
        validators=[DataRequired("Enter a new password."), Length(max=1000)],
        description="At least 12 characters. A long phrase is easiest to remember.",
    )
    confirm_password = PasswordField(
        "New password again",
        validators=[DataRequired("Enter the new password again."), Length(max=1000)],
    )
