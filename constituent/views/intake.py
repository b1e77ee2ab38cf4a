"""Log a call: one page, one submit (issue 3), with htmx look-ups while intake types."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from constituent.extensions import db
from constituent.forms import choices
from constituent.forms.intake import IntakeForm
from constituent.models import Case, Category
from constituent.services import constituents, intake, office, permissions, submissions
from constituent.services.errors import NotFound
from constituent.services.permissions import Action, Capability
from constituent.views.helpers import capability_required, case_number

bp = Blueprint("intake", __name__, url_prefix="/intake")


def _category_choices() -> list[SelectChoice]:
    rows = db.session.scalars(
        sa.select(Category).where(Category.active.is_(True)).order_by(Category.name)
    )
    return choices([("", "Choose a category")] + [(c.id, c.name) for c in rows])


def _context(form: IntakeForm) -> dict[str, Any]:
    """Candidates, the chosen record and the district question for what the form holds."""
    details = form.details()
    selected = None
    if details.constituent_id:
        try:
            selected = constituents.get_constituent(current_user, details.constituent_id)
        except NotFound:
            selected = None
    matches = constituents.find_matches(
        current_user,
        first_name=details.first_name,
        last_name=details.last_name,
        phone=details.phone,
        email=details.email,
        street=details.street,
        zip5=details.zip5,
        exclude_id=selected.id if selected else None,
    )
    question = intake.district_question(current_user, details.zip5, selected)
    form.ask_district(question)
    searched = any(
        (
            details.first_name.strip(),
            details.last_name.strip(),
            details.phone.strip(),
            details.email.strip(),
            details.street.strip(),
        )
    )
    return {
        "form": form,
        "matches": matches,
        "selected": selected,
        "question": question,
        "searched": searched,
    }


def _case_url(case: Case) -> str:
    if "cases.case_detail" in current_app.view_functions:
        return url_for("cases.case_detail", case_id=case.id)
    return f"/cases/{case.id}"


@bp.route("/", methods=["GET", "POST"])
@capability_required(Capability.LOG_CALLS)
def log_call():  # type: ignore[no-untyped-def]
    """The log-a-call page; "Find matches" re-renders with candidates (no JavaScript needed)."""
    form = IntakeForm()
    form.category_id.choices = _category_choices()
    if not form.is_submitted():
        form.state.data = office.profile().state  # the usual State; staff change it
    status = 200
    if form.is_submitted() and request.form.get("action") != "find":
        form.validate()
        details = form.details()
        errors = intake.validate_call(current_user, details)
        if not errors and not form.errors:
            try:
                claimed = submissions.claim(current_user, form.submission_key.data)
                case = intake.log_call(current_user, details)
                # Opened in a district this user does not work in: its staff take it.
                handed_on = not permissions.can(current_user, Action.VIEW, case)
                target = url_for("intake.log_call") if handed_on else _case_url(case)
                submissions.record(claimed, target)
                db.session.commit()
            except intake.IntakeRefused as exc:
                errors = exc.errors
            else:
                opened = f"Case {case_number(case.number)} opened for {case.constituent.full_name}"
                if handed_on:
                    opened += f" in {case.district.code}; that district's staff will handle it"
                flash(opened + ".", "success")
                return redirect(target)
        db.session.rollback()
        for name, message in errors.items():
            if name in form and not form[name].errors:
                form[name].errors = [*form[name].errors, message]
        status = 422
    return render_template("intake/log_call.html", **_context(form)), status


def _partial_form() -> IntakeForm:
    form = IntakeForm(formdata=request.args, meta={"csrf": False})
    form.category_id.choices = []
    return form


@bp.route("/lookup")
@capability_required(Capability.LOG_CALLS)
def lookup():  # type: ignore[no-untyped-def]
    """htmx: the likely existing constituents for what has been typed so far."""
    return render_template("intake/_matches.html", **_context(_partial_form()))


@bp.route("/district")
@capability_required(Capability.LOG_CALLS)
def district():  # type: ignore[no-untyped-def]
    """htmx: what the ZIP (or the chosen constituent) says about the district."""
    return render_template("intake/_district.html", **_context(_partial_form()))
