"""Sign-in and password forms."""

from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, PasswordField
from wtforms.validators import DataRequired, Length


class SignInForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired("Enter your email."), Length(max=254)])
    password = PasswordField(
        "Password", validators=[DataRequired("Enter your password."), Length(max=128)]
    )
    next = HiddenField(validators=[Length(max=500)])


def _new_password() -> PasswordField:
    return PasswordField(
        "New password",
        validators=[DataRequired("Enter a new password."), Length(max=1000)],
        description="At least 12 characters. A long phrase is easiest to remember.",
    )


def _confirm_password() -> PasswordField:
    return PasswordField(
        "New password again",
        validators=[DataRequired("Enter the new password again."), Length(max=1000)],
    )


class NewPassword:
    """The new password, typed twice: shared by changing and setting one."""

    new_password: PasswordField
    confirm_password: PasswordField

    def mismatch(self) -> str | None:
        """The refusal when the two new passwords differ (None when they are the same)."""
        if self.new_password.data != self.confirm_password.data:
            return "The two new passwords are not the same."
        return None


# The fields are made in each class body, in the order the page shows them.
class ChangePasswordForm(NewPassword, FlaskForm):
    """The signed-in user's current password and a new one."""

    current_password = PasswordField(
        "Current password",
        validators=[DataRequired("Enter your current password."), Length(max=128)],
    )
    new_password = _new_password()
    confirm_password = _confirm_password()


class SetPasswordForm(NewPassword, FlaskForm):
    """A new password, twice, set through a one-time link."""

    new_password = _new_password()
    confirm_password = _confirm_password()
