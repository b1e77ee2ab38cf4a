"""Error pages in the site layout; client errors never log a stack trace."""

from __future__ import annotations

import logging

from flask import Flask, flash, redirect, render_template
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException, InternalServerError

from constituent.database import is_busy_error
from constituent.extensions import db
from constituent.services.errors import DomainError
from constituent.services.submissions import AlreadySubmitted

log = logging.getLogger(__name__)

MESSAGES = {
    400: (
        "Bad request",
        "The request could not be understood. Go back, reload the page and try again.",
    ),
    403: ("Not allowed", "Your account does not have access to this page."),
    404: (
        "Page not found",
        "There is nothing at this address. Check the link, or use the navigation.",
    ),
    405: ("Method not allowed", "This page cannot be used that way."),
    409: (
        "Someone else saved first",
        "This record changed after you opened it. Nothing you entered was saved.",
    ),
    413: ("Too large", "What you sent is larger than this site accepts."),
    429: ("Too many attempts", "Too many attempts in a short time. Wait a minute and try again."),
    500: (
        "Something went wrong",
        "The problem has been logged. Please try again; if it keeps happening, tell the office IT staff.",
    ),
    503: (
        "Busy, try again",
        "The system is busy. Nothing was saved; please try again in a moment.",
    ),
}


def render_error(code: int, message: str | None = None, **context: object) -> tuple[str, int]:
    title, default = MESSAGES.get(code, MESSAGES[500])
    return (
        render_template(
            "errors/error.html", code=code, title=title, message=message or default, **context
        ),
        code,
    )


def conflict_page(message: str | None = None) -> tuple[str, int]:
    """Someone else's save between our read and our write (``StaleDataError``): nothing of
    ours is kept, and the 409 page says what to do."""
    db.session.rollback()
    return render_error(409, message)


def register(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError) -> ResponseReturnValue:
        return render_error(
            400, "The form expired or was not sent from this site. Reload the page and try again."
        )

    @app.errorhandler(DomainError)
    def domain_error(exc: DomainError) -> ResponseReturnValue:
        db.session.rollback()
        if exc.status_code == 403:
            _audit_denied()
        return render_error(exc.status_code, exc.message, changes=getattr(exc, "changes", None))

    @app.errorhandler(AlreadySubmitted)
    def already_submitted(exc: AlreadySubmitted) -> ResponseReturnValue:
        # A second click or a resent form: show what the first post created, save nothing.
        db.session.rollback()
        flash(exc.message, "info")
        return redirect(exc.url or "/", code=303)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> ResponseReturnValue:
        code = exc.code or 500
        if code == 403:
            _audit_denied()
        if code >= 500:
            log.error("HTTP %s", code)
        return render_error(code if code in MESSAGES else 400 if code < 500 else 500)

    @app.errorhandler(StaleDataError)
    def stale(exc: StaleDataError) -> ResponseReturnValue:
        return conflict_page()

    @app.errorhandler(OverflowError)
    def overflow(exc: OverflowError) -> ResponseReturnValue:
        # SQLite's driver refuses integers over 64 bits: an absurd id typed into a form.
        db.session.rollback()
        return render_error(400, "A number in the request is too large.")

    @app.errorhandler(DBAPIError)
    def database_error(exc: DBAPIError) -> ResponseReturnValue:
        db.session.rollback()
        if is_busy_error(exc):
            log.warning("database busy: answered 503")
            return render_error(503)
        if "NUL (0x00)" in str(exc.orig) or getattr(exc.orig, "sqlstate", "") in (
            "22003",
            "22P02",
            "22008",
            "22007",
        ):
            # PostgreSQL "numeric value out of range" / bad text for a number or date.
            return render_error(400, "A value in the request is out of range.")
        log.exception("Database error", exc_info=exc)
        return render_error(500)

    @app.errorhandler(Exception)
    def unhandled(exc: Exception) -> ResponseReturnValue:
        db.session.rollback()
        log.exception("Unhandled error", exc_info=exc)
        return render_error(500)

    _ = InternalServerError


def _audit_denied() -> None:
    """Refused access is audited (in its own small transaction)."""
    from flask import request

    from constituent.services import audit
    from constituent.views.boundary import actor

    try:
        db.session.rollback()
        audit.record(
            "access_denied",
            "url",
            None,
            detail=f"{request.method} {request.path}"[:200],
            actor=actor(),
        )
        db.session.commit()
    except Exception:  # an audit failure must not turn a 403 into a 500
        db.session.rollback()
        log.warning("could not record access_denied audit event")
