"""Log a call: one page, one submit (issue 3), with htmx look-ups while intake types."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request, url_for
from flask.typing import ResponseReturnValue
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # not in types-WTForms yet

from constituent.extensions import db
from constituent.forms import choices
from constituent.forms.intake import IntakeForm
from constituent.models import Case
from constituent.services import categories, constituents, intake, office, permissions, submissions
from constituent.services.errors import DomainError, NotFound
from constituent.services.permissions import Action, Capability
from constituent.views.boundary import commit, current_staff, saved
from constituent.views.helpers import capability_required, case_number

bp = Blueprint("intake", __name__, url_prefix="/intake")


def _category_choices() -> list[SelectChoice]:
    rows = categories.active_categories()
    return choices([("", "Choose a category")] + [(c.id, c.name) for c in rows])


def _context(form: IntakeForm) -> dict[str, Any]:
    """Candidates, the chosen record and the district question for what the form holds."""
    details = form.details()
    selected = None
    if details.constituent_id:
        try:
            selected = constituents.get_constituent(current_staff(), details.constituent_id)
        except NotFound:
            selected = None
    matches = constituents.find_matches(
        current_staff(),
        first_name=details.first_name,
        last_name=details.last_name,
        phone=details.phone,
        email=details.email,
        street=details.street,
        zip5=details.zip5,
        exclude_id=selected.id if selected else None,
    )
    question = intake.district_question(current_staff(), details.zip5, selected)
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


@bp.route("/", methods=["GET", "POST"])
@capability_required(Capability.LOG_CALLS)
def log_call() -> ResponseReturnValue:
    """The log-a-call page; "Find matches" re-renders with candidates (no JavaScript needed)."""
    form = IntakeForm()
    form.category_id.choices = _category_choices()
    if not form.is_submitted():
        form.state.data = office.profile().state  # the usual State; staff change it
    if form.is_submitted() and request.form.get("action") != "find":
        form.validate()
        details = form.details()
        staff = current_staff()
        errors = intake.validate_call(staff, details)

        def log() -> Case:
            claimed = submissions.claim(staff, form.submission_key.data)
            case = intake.log_call(staff, details)
            submissions.record(claimed, _after_call(case))
            return case

        def logged(case: Case) -> ResponseReturnValue:
            opened = f"Case {case_number(case.number)} opened for {case.constituent.full_name}"
            if not permissions.can(staff, Action.VIEW, case):
                opened += f" in {case.district.code}; that district's staff will handle it"
            return saved(opened + ".", _after_call(case))

        def refused(exc: DomainError) -> None:
            if not isinstance(exc, intake.IntakeRefused):
                raise exc
            errors.update(exc.errors)

        if not errors and not form.errors:
            done = commit(log, logged, refused)
            if done is not None:
                return done
        db.session.rollback()
        for name, message in errors.items():
            if name in form and not form[name].errors:
                form[name].errors = [*form[name].errors, message]
        return render_template("intake/log_call.html", **_context(form)), 422
    return render_template("intake/log_call.html", **_context(form))


def _after_call(case: Case) -> str:
    """Where intake goes next: the case, or back to a new call when the case was opened in a
    district this user does not work in (its staff take it)."""
    if permissions.can(current_staff(), Action.VIEW, case):
        return url_for("cases.case_detail", case_id=case.id)
    return url_for("intake.log_call")


def _partial_form() -> IntakeForm:
    form = IntakeForm(formdata=request.args, meta={"csrf": False})
    form.category_id.choices = []
    return form


@bp.route("/lookup")
@capability_required(Capability.LOG_CALLS)
def lookup() -> ResponseReturnValue:
    """htmx: the likely existing constituents for what has been typed so far."""
    return render_template("intake/_matches.html", **_context(_partial_form()))


@bp.route("/district")
@capability_required(Capability.LOG_CALLS)
def district() -> ResponseReturnValue:
    """htmx: what the ZIP (or the chosen constituent) says about the district."""
    return render_template("intake/_district.html", **_context(_partial_form()))
