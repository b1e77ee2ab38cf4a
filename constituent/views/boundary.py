"""The request boundary, written once: who is asking, and how a view validates a form, calls a
service, commits once, and shows a refusal beside the field it names (indico's ``RH.process``).

A view is parse → call → render::

    done = submit(form, lambda: agencies.create_agency(data(form), current_staff()),
                  lambda agency: saved(f"{agency.name} was added.", url_for(...)))
    return done or (render_template("agencies/form.html", form=form), form_status(form))
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import NoReturn, TypeVar

from flask import Flask, flash, has_request_context, redirect, request
from flask.typing import ResponseReturnValue
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from constituent.database import SAFE_METHODS
from constituent.extensions import db
from constituent.models import Case, User
from constituent.services import audit
from constituent.services.errors import DomainError

T = TypeVar("T")
R = TypeVar("R")


def current_staff() -> User:
    """The signed-in staff member (every view but sign-in requires one)."""
    return current_user._get_current_object()


def actor() -> audit.Actor:
    """Who is asking and from where, for the audit trail (nobody outside a request). A read
    request (GET) is a reading actor: its audit events commit on their own."""
    if not has_request_context():
        return audit.NOBODY
    user = current_staff() if current_user.is_authenticated else None
    return audit.Actor(user, request.remote_addr, request.method in SAFE_METHODS)


def audit_read(action: str, record_type: str, record_id: object, detail: str = "") -> None:
    """Record that someone was shown something (a confidential case, a file, an export).

    On a read request (GET) the event commits at once in its own short transaction
    (``audit._record_read``) and the view commits nothing for it. A write request (a form
    shown again after a refused post) already holds the database's write lock (SQLite begins
    it IMMEDIATE), so a second transaction would only wait for it: the event goes into the
    request's own transaction, committed here, so that a refusal rolled back later cannot
    take it away.
    """
    if request.method in SAFE_METHODS:
        audit.record(
            action, record_type, record_id, detail=detail, actor=replace(actor(), reading=True)
        )
        return
    audit.record(action, record_type, record_id, detail=detail, actor=actor())
    db.session.commit()


def confidential_viewed(case: Case, what: str = "") -> None:
    """Every showing of a confidential case is audited (``what`` says which page)."""
    if case.confidential:
        audit_read("confidential_case_viewed", "case", case.number, what)


def register(app: Flask) -> None:
    """Services that audit deep inside a request find its actor here."""
    audit.use_actor_source(actor)


def attach_error(form: FlaskForm, exc: DomainError, default: str | None = None) -> None:
    """Put a service's refusal beside the field it names, or beside ``default`` (above the
    form when there is none) when it names none. Only a plain refusal (400) belongs on a form:
    403, 404 and 409 have their own pages, so they are raised again for ``views/errors.py``."""
    if exc.status_code != 400:
        raise exc
    name = exc.field if exc.field and exc.field in form else default
    field = form[name] if name else None
    if field is not None:
        field.errors = [*list(field.errors or []), exc.message]
    else:
        form.form_errors.append(exc.message)


def form_status(form: FlaskForm) -> int:
    """The status to (re-)show a form with: 422 after a refused submit, 200 before one."""
    return 422 if form.is_submitted() else 200


def submit(
    form: FlaskForm,
    action: Callable[[], T],
    success: Callable[[T], ResponseReturnValue],
    *,
    refused: Callable[[DomainError], ResponseReturnValue | None] | None = None,
    default: str | None = None,
    keep: bool = True,
) -> ResponseReturnValue | None:
    """Validate ``form``; call ``action`` (the service); commit once; answer ``success``.

    Returns None when the form is to be shown again: not submitted, invalid, or refused by a
    rule (rolled back, the refusal put on its field by ``attach_error``, or on ``default``
    when it names none, or handed to ``refused`` when the view shows it another way; what
    ``refused`` answers, if anything, is the answer).
    ``keep=False`` is a dry run: the answer is the same, but the work is rolled back.
    """
    if not form.validate_on_submit():
        return None
    return commit(action, success, refused or _on_form(form, default), keep=keep)


def commit(
    action: Callable[[], T],
    success: Callable[[T], ResponseReturnValue],
    refused: Callable[[DomainError], R],
    *,
    keep: bool = True,
) -> ResponseReturnValue | R:
    """Call ``action`` and commit once; a refusal rolls back and is answered by ``refused``.
    (``submit`` without the form: a button, an upload, a page with its own checks.)
    ``keep=False`` rolls the work back even when it succeeds: a dry run."""
    try:
        result = action()
        if keep:
            db.session.commit()
        else:
            db.session.rollback()
    except DomainError as exc:
        db.session.rollback()
        return refused(exc)
    except BaseException:
        db.session.rollback()
        raise
    return success(result)


def error_page(exc: DomainError) -> NoReturn:
    """A refusal the view does not answer itself: rolled back, it is raised again for its
    status page (``views/errors.py``)."""
    raise exc


def _on_form(form: FlaskForm, default: str | None = None) -> Callable[[DomainError], None]:
    def refused(exc: DomainError) -> None:
        attach_error(form, exc, default)

    return refused


def discard() -> None:
    """Keep nothing of this request: a form refused before (or by) its service is shown
    again on a transaction of its own."""
    db.session.rollback()


def saved(message: str, target: str) -> Response:
    """Flash a success message and go to ``target`` (a redirect after a post)."""
    flash(message, "success")
    return redirect(target)


def alert(exc: DomainError, target: str) -> ResponseReturnValue:
    """A refused button: the refusal as an alert on ``target`` (a plain refusal only; 403, 404
    and 409 have their own pages)."""
    if exc.status_code != 400:
        raise exc
    flash(exc.message, "error")
    return redirect(target)


def act(
    action: Callable[[], object], message: str | Callable[[], str], target: str
) -> ResponseReturnValue:
    """A button's post (activate, delete ...): commit and say ``message`` (or what it returns,
    asked after the commit), or roll back and show the refusal as an alert; either way back to
    ``target``."""
    return commit(
        action,
        lambda _: saved(message if isinstance(message, str) else message(), target),
        lambda exc: alert(exc, target),
    )
