"""Response headers, session lifetimes and sign-in throttling."""

from __future__ import annotations

import time

from flask import Flask, Response, flash, request, session
from flask_login import current_user, logout_user

CSP = (
    "default-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'self'; img-src 'self' data:"
)


def init_app(app: Flask) -> None:
    """Register the header and session-lifetime hooks."""
    app.config.setdefault("SESSION_IDLE_SECONDS", 30 * 60)
    app.config.setdefault("SESSION_ABSOLUTE_SECONDS", 12 * 60 * 60)
    app.before_request(_refuse_nul_characters)
    app.before_request(_enforce_session_lifetime)
    app.after_request(_security_headers)


def start_session() -> None:
    """Stamp a freshly signed-in session (called right after login_user)."""
    import secrets

    now = int(time.time())
    session["sid"] = secrets.token_urlsafe(16)  # a new identifier at every sign-in
    session["signed_in_at"] = now
    session["last_seen"] = now
    session.permanent = False


def _refuse_nul_characters() -> None:
    """A NUL character is never typed by a person and PostgreSQL cannot store one in text:
    refuse the request (400) before any form sees it, on every database alike."""
    from flask import abort

    # Multipart bodies are left to the view: some set a larger upload limit of their own
    # before the body is parsed (their text fields are covered by the database error page).
    urlencoded = request.mimetype == "application/x-www-form-urlencoded"
    for values in (request.args, request.form if request.method == "POST" and urlencoded else {}):
        for value in values.values():
            if "\x00" in value:
                abort(400)


def _enforce_session_lifetime() -> None:
    if request.endpoint == "static" or not current_user.is_authenticated:
        return
    from flask import current_app

    now = int(time.time())
    idle = current_app.config["SESSION_IDLE_SECONDS"]
    absolute = current_app.config["SESSION_ABSOLUTE_SECONDS"]
    signed_in_at = session.get("signed_in_at")
    last_seen = session.get("last_seen")
    if (
        not isinstance(signed_in_at, int)
        or not isinstance(last_seen, int)
        or now - last_seen > idle
        or now - signed_in_at > absolute
    ):
        logout_user()
        session.clear()
        flash("Your session ended after a period of inactivity. Please sign in again.", "info")
        return
    if now - last_seen >= 15:  # avoid rewriting the cookie on every request of a page load
        session["last_seen"] = now


def _security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    if request.endpoint != "static":
        headers["Cache-Control"] = "no-store"
        headers.setdefault("Pragma", "no-cache")
    return response
