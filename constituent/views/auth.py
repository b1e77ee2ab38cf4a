"""Sign-in and sign-out; everything else requires a signed-in user (deny by default)."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_user, logout_user

from constituent import security
from constituent.extensions import db
from constituent.forms.auth import ChangePasswordForm, SetPasswordForm, SignInForm
from constituent.models import User
from constituent.services import audit, auth, password_links, throttle
from constituent.services.errors import DomainError
from constituent.views.boundary import (
    actor,
    attach_error,
    commit,
    current_staff,
    error_page,
    form_status,
    submit,
)

bp = Blueprint("auth", __name__)

# The public help form (views/public.py) is the one area residents reach without signing in.
PUBLIC_ENDPOINTS = {
    "auth.login",
    "auth.set_password",
    "static",
    "public.choose",
    "public.request_form",
    "public.release_part",
    "public.sent",
}


@bp.before_app_request
def require_sign_in() -> ResponseReturnValue | None:
    """Send anyone not signed in to the sign-in page, except for the public endpoints."""
    if request.endpoint in PUBLIC_ENDPOINTS or current_user.is_authenticated:
        return None
    if request.endpoint is None:
        return None  # unknown URL: let the 404 page answer
    target = request.full_path if request.method == "GET" else None
    return redirect(url_for("auth.login", next=target.rstrip("?") if target else None))


def safe_next(target: str | None) -> str | None:
    """Only a path on this site: no scheme, no host, no protocol-relative '//' or backslash."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or any(ord(c) < 32 for c in target):
        return None
    return target


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = SignInForm(next=request.args.get("next", ""))
    error = None
    if form.validate_on_submit():
        email, password = form.email.data or "", form.password.data or ""
        address = request.remote_addr or ""
        # Counted before the slow hash, in storage every worker shares: cannot be outrun.
        reservation = throttle.reserve_sign_in(email, address)
        if reservation is None:
            abort(429)
        record = auth.password_record(email)
        db.session.rollback()  # end the read: hold no database lock during the slow hash
        user = auth.finish_sign_in(record, auth.verify_password(record, password), password)
        if user is None:
            db.session.commit()  # keep the audit event of the failed attempt
            error = auth.SIGN_IN_FAILED
        else:
            throttle.sign_in_succeeded(reservation)
            db.session.commit()
            session.clear()  # a fresh session at sign-in
            login_user(user)
            security.start_session()
            return redirect(safe_next(form.next.data) or url_for("main.home"))
    status = 200 if error is None else 401
    return render_template("auth/login.html", form=form, error=error), status


@bp.route("/logout", methods=["POST"])
def logout() -> ResponseReturnValue:
    user = current_staff()

    def sign_out() -> None:
        auth.end_sessions(user)
        audit.record("sign_out", "user", user.id, actor=actor())

    def signed_out(_: None) -> ResponseReturnValue:
        logout_user()
        session.clear()
        flash("You are signed out.", "info")
        return redirect(url_for("auth.login"))

    return commit(sign_out, signed_out, error_page)


@bp.route("/account/password", methods=["GET", "POST"])
def change_password() -> ResponseReturnValue:
    form = ChangePasswordForm()
    user = current_staff()

    def change() -> None:
        _same_passwords(form)
        auth.change_password(user, form.current_password.data or "", form.new_password.data or "")

    def changed(_: None) -> ResponseReturnValue:
        login_user(user)  # this session continues under the new epoch; others end
        security.start_session()
        flash("Your password was changed. Other sessions were signed out.", "success")
        return redirect(url_for("main.home"))

    def refused(exc: DomainError) -> None:
        if exc.field is None:
            exc.field = "new_password"
        attach_error(form, exc)

    done = submit(form, change, changed, refused=refused)
    return done or (render_template("auth/change_password.html", form=form), form_status(form))


def _same_passwords(form: ChangePasswordForm | SetPasswordForm) -> None:
    """Refuse two new passwords that differ (beside the second)."""
    if mismatch := form.mismatch():
        raise DomainError(mismatch, field="confirm_password")


@bp.route("/account/set-password/<token>", methods=["GET", "POST"])
def set_password(token: str) -> ResponseReturnValue:
    """Set a password through a one-time link an admin had emailed (no sign-in needed)."""
    form = SetPasswordForm()

    def link_refused(exc: DomainError) -> ResponseReturnValue:
        return render_template("auth/set_password.html", refused=exc.message, form=form), 400

    def set_it() -> None:
        _same_passwords(form)
        password_links.set_password_by_link(token, form.new_password.data or "")

    def done(_: None) -> ResponseReturnValue:
        logout_user()
        session.clear()
        flash("Your password is set. Sign in with it.", "success")
        return redirect(url_for("auth.login"))

    def page(user: User) -> ResponseReturnValue:
        if not form.validate_on_submit():
            return render_template("auth/set_password.html", form=form, user=user), form_status(
                form
            )

        def refused(exc: DomainError) -> ResponseReturnValue:
            if isinstance(exc, password_links.LinkRefused):
                return link_refused(exc)
            attach_error(form, exc, "new_password")
            return render_template("auth/set_password.html", form=form, user=user), 422

        return commit(set_it, done, refused)

    # Checking the link only reads; a refused link is its own page.
    return commit(lambda: password_links.check_link(token), page, link_refused)
