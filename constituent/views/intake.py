"""Log a call: one page, one submit (issue 3), with htmx look-ups while intake types."""

from __future__ import annotations

from flask import Blueprint, render_template, request, url_for
from flask.typing import ResponseReturnValue

from constituent.forms import optional_int
from constituent.forms.intake import IntakeForm
from constituent.models import Case
from constituent.services import constituents, intake, office, permissions
from constituent.services.errors import NotFound
from constituent.services.permissions import Action, Capability
from constituent.views import new_case
from constituent.views.boundary import current_staff, saved
from constituent.views.helpers import capability_required, case_number

bp = Blueprint("intake", __name__, url_prefix="/intake")


@bp.route("/", methods=["GET", "POST"])
@capability_required(Capability.LOG_CALLS)
def log_call() -> ResponseReturnValue:
    """The log-a-call page; "Find matches" re-renders with candidates (no JavaScript needed).
    ``?constituent=<id>`` starts a new case for that constituent (if the user may see them)."""
    form = IntakeForm()
    form.category_id.choices = new_case.category_choices()
    if not form.is_submitted():
        _start(form, request.args.get("constituent", ""))
    if form.is_submitted() and request.form.get("action") != "find":
        staff = current_staff()

        def logged(case: Case) -> ResponseReturnValue:
            opened = f"Case {case_number(case.number)} opened for {case.constituent.full_name}"
            if not permissions.can(staff, Action.VIEW, case):
                opened += f" in {case.district.code}; that district's staff will handle it"
            return saved(opened + ".", _after_call(case))

        done = new_case.open_case(
            form, lambda details: intake.log_call(staff, details), logged, _after_call
        )
        return done or (render_template("intake/log_call.html", **new_case.context(form)), 422)
    return render_template("intake/log_call.html", **new_case.context(form))


def _start(form: IntakeForm, constituent: str) -> None:
    """A new call's defaults: the usual State, the channel of this user's last call, and the
    constituent named in the address when the user may see them (else a new caller)."""
    staff = current_staff()
    form.state.data = office.profile().state
    form.channel.data = intake.usual_channel(staff).value
    person_id = optional_int(constituent[:20])
    if person_id is None:
        return
    try:
        person = constituents.get_constituent(staff, person_id)
    except NotFound:
        return
    form.constituent_id.data = str(person.id)
    form.first_name.data, form.last_name.data = person.first_name, person.last_name


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
    return render_template("intake/_matches.html", **new_case.context(_partial_form()))


@bp.route("/district")
@capability_required(Capability.LOG_CALLS)
def district() -> ResponseReturnValue:
    """htmx: what the ZIP (or the chosen constituent) says about the district."""
    return render_template("intake/_district.html", **new_case.context(_partial_form()))
