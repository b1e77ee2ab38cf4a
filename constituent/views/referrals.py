"""Referrals to agencies, agency responses, the overdue queue and response times."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy.orm.exc import StaleDataError
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # not in types-WTForms yet

from constituent.extensions import db
from constituent.forms.referrals import (
    AcknowledgeForm,
    CaseStatusForm,
    DeclineForm,
    ReferralEditForm,
    ReferralForm,
    ResponseForm,
    SecondInquiryForm,
    WithdrawForm,
    choices,
)
from constituent.models import (
    Agency,
    AgencyContact,
    AgencyResponse,
    Case,
    CaseStatus,
    Referral,
    ReferralMethod,
    ResponseOutcome,
    User,
)
from constituent.services import agencies as agency_service
from constituent.services import auth, permissions, routing, submissions, versions
from constituent.services import referrals as referral_service
from constituent.services.errors import DomainError, NotFound
from constituent.services.permissions import Action, Capability
from constituent.views import cases as case_views
from constituent.views.auth import safe_next
from constituent.views.boundary import (
    attach_error,
    confidential_viewed,
    current_staff,
    form_status,
    saved,
    submit,
)
from constituent.views.errors import conflict_page
from constituent.views.helpers import capability_required, local_today, required_version

bp = Blueprint("referrals", __name__, url_prefix="/referrals")

Form = TypeVar("Form", bound=FlaskForm)

STALE = (
    "Someone else saved this referral or its case after you opened the page. "
    "Nothing you entered was saved: reload the page and try again."
)


# Helpers shared by the views and the partials ------------------------------------------------


def _case_page(case: Case) -> str:
    return url_for("cases.case_detail", case_id=case.id)


def _referral_page(referral: Referral) -> str:
    return url_for("referrals.referral_detail", referral_id=referral.id)


@bp.errorhandler(StaleDataError)
def stale(exc: StaleDataError) -> ResponseReturnValue:
    """Someone else's save between our read and our commit: a 409 that says what to do."""
    return conflict_page(STALE)


def _agency_choices() -> list[SelectChoice]:
    agencies = agency_service.active_agencies()
    return choices(
        [(0, "Choose an agency")] + [(a.id, f"{a.label} — {a.level.label}") for a in agencies]
    )


def _contact_choices(agency: Agency | None = None, only: bool = False) -> list[SelectChoice]:
    """The liaisons to choose from: ``agency``'s, or every agency's (none when ``only`` and no
    agency is chosen yet)."""
    pairs: list[tuple[int, str]] = [(0, "No particular contact")]
    if only and agency is None:
        return choices(pairs)
    for c in agency_service.active_contacts(agency):
        label = f"{c.agency.acronym or c.agency.name} — {c.name}"
        if c.title:
            label += f", {c.title}"
        pairs.append((c.id, label))
    return choices(pairs)


def _load(model: type, ident: int | None) -> Any:
    return db.session.get(model, ident) if ident else None


@dataclass(frozen=True)
class PanelRow:
    """A referral on the case page's panel."""

    referral: Referral
    overdue: bool
    days_overdue: int


@dataclass(frozen=True)
class CasePanel:
    """What the case page's referral panel shows, and what the user may do there."""

    rows: list[PanelRow]
    can_edit: bool


def referrals_for_case(case: Case) -> CasePanel:
    """The case's referrals for its page (the case page has already checked access)."""
    if not current_user.is_authenticated or not permissions.can(current_staff(), Action.VIEW, case):
        return CasePanel(rows=[], can_edit=False)
    today = local_today()
    rows = [
        PanelRow(r, referral_service.is_overdue(r, today), referral_service.days_overdue(r, today))
        for r in referral_service.case_referrals(case)
    ]
    can_edit = permissions.can(current_staff(), Action.EDIT, case)
    return CasePanel(rows=rows, can_edit=can_edit)


def overdue_referrals_for(user: User) -> list[referral_service.OverdueReferral]:
    """The user's own overdue referrals (on cases assigned to them), for My Work."""
    if not permissions.may(user, Capability.WORK_CASES):
        return []
    return referral_service.overdue_referrals(user, assignee=user, today=local_today())


def _labels() -> dict[str, Any]:
    return {
        "status": referral_service.STATUS_LABELS,
        "method": referral_service.METHOD_LABELS,
        "outcome": referral_service.OUTCOME_LABELS,
    }


# Template globals for the partials other pages include (available in imported macros too).
for _name, _function in (
    ("referrals_for_case", referrals_for_case),
    ("overdue_referrals_for", overdue_referrals_for),
    ("referral_labels", _labels),
):
    bp.add_app_template_global(_function, _name)


# New referral --------------------------------------------------------------------------------


def _chosen_agency(form: ReferralForm, suggestion: routing.RuleSuggestion | None) -> Agency | None:
    """The agency the form is about: the one posted, else ``?agency=``, else the suggestion's."""
    if request.method == "POST":
        return _load(Agency, form.agency.data)
    given = _load(Agency, request.args.get("agency", type=int))
    return given or (suggestion.agency if suggestion is not None else None)


def _release_context(case: Case, agency: Agency | None) -> dict[str, Any]:
    """What the referral form says before submit about the release ``agency`` needs, with the
    release form to record it in place (it comes back to this referral afterwards)."""
    problem = referral_service.release_problem(case, agency) if agency is not None else None
    if problem is None or agency is None:
        return {"release_note": None}
    return {
        "release_note": problem,
        "release_agency": agency,
        "release_form": case_views.release_form(case, also=agency),
        "release_next": url_for(".new_referral", case_id=case.id, agency=agency.id),
    }


@bp.route("/new", methods=["GET", "POST"])
@bp.route("/case/<int:case_id>/new", methods=["GET", "POST"])
@capability_required(Capability.WORK_CASES)
def new_referral(case_id: int | None = None) -> ResponseReturnValue:
    case_id = case_id or request.args.get("case_id", type=int)
    if not case_id:
        abort(404)
    case = permissions.get_case(current_staff(), case_id, Action.EDIT)
    form = ReferralForm()
    form.agency.choices = _agency_choices()
    may_override = referral_service.may_override_release(current_staff(), case)
    if not may_override:
        del form.override_reason
    suggestion = routing.best_rule(case.category, case.district)
    today = local_today()
    chosen = _chosen_agency(form, suggestion)
    # Only the chosen agency's liaisons are offered; a liaison of another agency (the agency
    # was changed without JavaScript) is refused beside the field by route_case.
    form.contact.choices = _contact_choices(chosen, only=True)
    if request.method == "GET":
        confidential_viewed(case, "new referral form")
        form.sent_on.data = today
        form.method.data = ReferralMethod.EMAIL.value
        if chosen is not None:
            form.agency.data = chosen.id
            suggested = suggestion.contact if suggestion is not None else None
            same = suggested is not None and suggested.agency_id == chosen.id
            form.contact.data = suggested.id if suggested is not None and same else 0
            form.due_on.data = referral_service.default_due_on(case, chosen, today)
    gate: list[str] = []

    def route() -> Referral:
        agency = _load(Agency, form.agency.data)
        if agency is None:
            raise DomainError("Choose the agency.", field="agency")
        claimed = submissions.claim(current_staff(), form.submission_key.data)
        referral = referral_service.route_case(
            case,
            agency=agency,
            contact=_load(AgencyContact, form.contact.data),
            method=ReferralMethod(form.method.data),
            sent_on=form.sent_on.data,
            due_on=form.due_on.data,
            reference_number=form.reference_number.data,
            author=current_staff(),
            override_reason=form.override_reason.data if may_override else None,
            today=today,
        )
        submissions.record(claimed, _case_page(case))
        return referral

    def routed(referral: Referral) -> ResponseReturnValue:
        due = referral.due_on
        message = f"Referred to {referral.agency.label}; the response is due "
        return saved(message + f"{due:%b} {due.day}, {due.year}.", _case_page(case))

    def refused(exc: DomainError) -> None:
        attach_error(form, exc)
        if exc.code == "release_missing":
            gate.append(exc.message)

    status = 200
    if not request.form.get("refresh"):  # "Update contacts" (no JavaScript) only redraws
        done = submit(form, route, routed, refused=refused)
        if done is not None:
            return done
        status = form_status(form)
    if form.contact.data not in {choice.value for choice in form.contact.choices}:
        form.contact.data = 0  # another agency's liaison: not shown as chosen
    days = {
        a.id: referral_service.follow_up_days(case, a) for a in agency_service.active_agencies()
    }
    return render_template(
        "referrals/new.html",
        form=form,
        case=case,
        suggestion=suggestion,
        gate_problem=gate[0] if gate else None,
        may_override=may_override,
        releases=case.releases,
        follow_up_days_json=json.dumps({str(k): v for k, v in days.items()}),
        chosen_agency=chosen,
        **_release_context(case, chosen),
    ), status


@bp.get("/case/<int:case_id>/agency")
@capability_required(Capability.WORK_CASES)
def agency_fields(case_id: int) -> ResponseReturnValue:
    """The referral form's parts that follow the agency (htmx): its contacts, and the note
    (with the in-place release form) when it needs a release the case lacks."""
    case = permissions.get_case(current_staff(), case_id, Action.EDIT)
    agency = _load(Agency, request.args.get("agency", type=int))
    form = ReferralForm(formdata=None, contact=0)
    form.contact.choices = _contact_choices(agency, only=True)
    return render_template(
        "referrals/_agency_fields.html",
        form=form,
        case=case,
        chosen_agency=agency,
        oob=True,
        **_release_context(case, agency),
    )


# One referral ----------------------------------------------------------------------------------


def _detail(referral: Referral, status: int = 200, **forms: FlaskForm) -> Any:
    case = referral.case
    can_edit = permissions.can(current_staff(), Action.EDIT, case)
    today = local_today()
    version = referral.version
    defaults = {
        "acknowledge_form": AcknowledgeForm(formdata=None, acknowledged_on=today, version=version),
        "decline_form": DeclineForm(formdata=None, version=version),
        "withdraw_form": WithdrawForm(formdata=None, version=version),
        "inquiry_form": SecondInquiryForm(formdata=None, inquiry_on=today, version=version),
    }
    defaults.update(forms)
    return render_template(
        "referrals/detail.html",
        referral=referral,
        case=case,
        can_edit=can_edit,
        overdue=referral_service.is_overdue(referral, today),
        days_overdue=referral_service.days_overdue(referral, today),
        is_open=referral.status in referral_service.OPEN_REFERRAL_STATUSES,
        **defaults,
    ), status


@bp.route("/<int:referral_id>")
@capability_required(Capability.WORK_CASES)
def referral_detail(referral_id: int) -> ResponseReturnValue:
    referral = referral_service.get_referral(current_staff(), referral_id, Action.VIEW)
    confidential_viewed(referral.case, f"referral {referral.id}")
    return _detail(referral)


def _editable(referral_id: int) -> Referral:
    return referral_service.get_referral(current_staff(), referral_id, Action.EDIT)


@bp.route("/<int:referral_id>/edit", methods=["GET", "POST"])
@capability_required(Capability.WORK_CASES)
def edit_referral(referral_id: int) -> ResponseReturnValue:
    referral = _editable(referral_id)
    form = ReferralEditForm(obj=None if request.method == "POST" else referral)
    form.contact.choices = _contact_choices(referral.agency)
    if request.method == "GET":
        confidential_viewed(referral.case, f"referral {referral.id} edit form")
        form.contact.data = referral.contact_id or 0
    version = required_version(form.version) if request.method == "POST" else None
    done = submit(
        form,
        lambda: referral_service.update_referral(
            referral,
            contact=_load(AgencyContact, form.contact.data),
            reference_number=form.reference_number.data,
            due_on=form.due_on.data,
            author=current_staff(),
            version=version,
        ),
        lambda _: saved("Referral updated.", _referral_page(referral)),
    )
    return done or (
        render_template("referrals/edit.html", form=form, referral=referral, case=referral.case),
        form_status(form),
    )


def _change(
    referral_id: int,
    form_class: type[Form],
    key: str,
    change: Callable[[Referral, Form, int], object],
    message: Callable[[Referral], str],
) -> ResponseReturnValue:
    """A change of a referral from a form on its page (``key`` names the form there): saved
    and said, or the page again with the form's errors."""
    referral = _editable(referral_id)
    form = form_class()
    version = required_version(form.version)
    done = submit(
        form,
        lambda: change(referral, form, version),
        lambda _: saved(message(referral), _referral_page(referral)),
    )
    return done or _detail(_editable(referral_id), 422, **{key: form})


@bp.route("/<int:referral_id>/acknowledge", methods=["POST"])
@capability_required(Capability.WORK_CASES)
def acknowledge(referral_id: int) -> ResponseReturnValue:
    return _change(
        referral_id,
        AcknowledgeForm,
        "acknowledge_form",
        lambda referral, form, version: referral_service.acknowledge(
            referral,
            on=form.acknowledged_on.data,
            author=current_staff(),
            reference_number=form.reference_number.data,
            version=version,
            today=local_today(),
        ),
        lambda referral: f"Recorded that {referral.agency.label} acknowledged the referral.",
    )


@bp.route("/<int:referral_id>/decline", methods=["POST"])
@capability_required(Capability.WORK_CASES)
def decline(referral_id: int) -> ResponseReturnValue:
    return _change(
        referral_id,
        DeclineForm,
        "decline_form",
        lambda referral, form, version: referral_service.decline(
            referral, reason=form.reason.data or "", author=current_staff(), version=version
        ),
        lambda referral: f"Recorded that {referral.agency.label} declined the referral.",
    )


@bp.route("/<int:referral_id>/withdraw", methods=["POST"])
@capability_required(Capability.WORK_CASES)
def withdraw(referral_id: int) -> ResponseReturnValue:
    return _change(
        referral_id,
        WithdrawForm,
        "withdraw_form",
        lambda referral, form, version: referral_service.withdraw(
            referral, reason=form.reason.data, author=current_staff(), version=version
        ),
        lambda referral: f"Referral to {referral.agency.label} withdrawn.",
    )


@bp.route("/<int:referral_id>/second-inquiry", methods=["POST"])
@capability_required(Capability.WORK_CASES)
def second_inquiry(referral_id: int) -> ResponseReturnValue:
    referral = _editable(referral_id)
    form = SecondInquiryForm()
    version = required_version(form.version)
    back = safe_next(request.form.get("next"))

    def asked(_: object) -> ResponseReturnValue:
        due = referral.due_on
        return saved(
            f"Inquiry to {referral.agency.label} recorded; the response is now due "
            f"{due:%b} {due.day}, {due.year}.",
            back or _referral_page(referral),
        )

    done = submit(
        form,
        lambda: referral_service.second_inquiry(
            referral,
            author=current_staff(),
            on=form.inquiry_on.data or local_today(),
            due_on=form.due_on.data,
            # Optional() skips the choice check for blank-looking input such as "\n".
            method=(
                ReferralMethod(form.method.data)
                if form.method.data in ReferralMethod.__members__.values()
                else None
            ),
            note=form.note.data,
            version=version,
        ),
        asked,
    )
    if done is not None:
        return done
    if back:  # a button on a list: say what went wrong there
        message = "; ".join(
            form.form_errors
            or [e for errs in form.errors.values() for e in errs if isinstance(e, str)]
        )
        flash(message or "The inquiry could not be recorded.", "error")
        return redirect(back)
    return _detail(_editable(referral_id), 422, inquiry_form=form)


# Agency responses -------------------------------------------------------------------------------


@bp.route("/<int:referral_id>/response", methods=["GET", "POST"])
@capability_required(Capability.WORK_CASES)
def record_response(referral_id: int) -> ResponseReturnValue:
    referral = _editable(referral_id)
    form = ResponseForm()
    if request.method == "GET":
        confidential_viewed(referral.case, f"referral {referral.id} response form")
        form.received_on.data = local_today()
        form.channel.data = referral.method.value
        form.version.data = referral.version
    version = required_version(form.version) if request.method == "POST" else None

    def record() -> AgencyResponse:
        referral_service.check_version(referral, version)
        return referral_service.record_response(
            referral,
            received_on=form.received_on.data,
            channel=ReferralMethod(form.channel.data),
            body=form.body.data or "",
            outcome=ResponseOutcome(form.outcome.data),
            author=current_staff(),
        )

    done = submit(
        form,
        record,
        lambda response: saved(
            f"Response from {referral.agency.label} recorded.",
            url_for("referrals.response_detail", referral_id=referral.id, response_id=response.id),
        ),
    )
    if done is not None:
        return done
    if form.is_submitted():
        referral = _editable(referral_id)
    return render_template(
        "referrals/response_form.html", form=form, referral=referral, case=referral.case
    ), form_status(form)


def _response(referral: Referral, response_id: int) -> AgencyResponse:
    response = db.session.get(AgencyResponse, response_id)
    if response is None or response.referral_id != referral.id:
        raise NotFound("No response with that number on this referral.")
    return response


@bp.route("/<int:referral_id>/responses/<int:response_id>")
@capability_required(Capability.WORK_CASES)
def response_detail(referral_id: int, response_id: int) -> ResponseReturnValue:
    referral = referral_service.get_referral(current_staff(), referral_id, Action.VIEW)
    response = _response(referral, response_id)
    confidential_viewed(referral.case, f"response {response.id}")
    return _response_page(referral, response)


def _response_page(
    referral: Referral,
    response: AgencyResponse,
    form: CaseStatusForm | None = None,
    status: int = 200,
) -> Any:
    case = referral.case
    suggested = referral_service.next_case_status(case, response.outcome)
    can_edit = permissions.can(current_staff(), Action.EDIT, case)
    if form is None:
        form = CaseStatusForm(
            formdata=None, case_version=case.version, status=(suggested or case.status).value
        )
    other_open = [
        r
        for r in referral_service.case_referrals(case)
        if r.id != referral.id and r.status in referral_service.OPEN_REFERRAL_STATUSES
    ]
    return render_template(
        "referrals/response.html",
        referral=referral,
        response=response,
        case=case,
        suggested=suggested,
        form=form,
        can_edit=can_edit and case.status != CaseStatus.CLOSED,
        other_open=other_open,
    ), status


@bp.route("/<int:referral_id>/responses/<int:response_id>/case-status", methods=["POST"])
@capability_required(Capability.WORK_CASES)
def move_case(referral_id: int, response_id: int) -> ResponseReturnValue:
    referral = _editable(referral_id)
    response = _response(referral, response_id)
    case = referral.case
    form = CaseStatusForm()
    versions.check_version(case, required_version(form.case_version), "case")
    done = submit(
        form,
        lambda: referral_service.move_case_after_response(
            case, CaseStatus(form.status.data), author=current_staff(), response=response
        ),
        lambda _: saved(
            f"Case moved to {CaseStatus(form.status.data).label.lower()}.", _case_page(case)
        ),
    )
    if done is not None:
        return done
    referral = _editable(referral_id)
    return _response_page(referral, _response(referral, response_id), form, 422)


# The follow-up queue and response times ---------------------------------------------------------


@bp.route("/overdue")
@capability_required(Capability.WORK_CASES)
def overdue() -> ResponseReturnValue:
    agency_id = request.args.get("agency", type=int) or None
    district_id = request.args.get("district", type=int) or None
    assignee_id = request.args.get("assignee", type=int) or None
    districts = list(current_staff().districts)
    if district_id is not None and district_id not in {d.id for d in districts}:
        district_id = None  # only the user's own districts are offered
    rows = referral_service.overdue_referrals(
        current_staff(),
        agency=agency_id,
        district=district_id,
        assignee=assignee_id,
        today=local_today(),
    )
    agencies = referral_service.agencies_with_open_referrals()
    staff = auth.caseworkers_near(current_staff(), active_only=True)
    return render_template(
        "referrals/overdue.html",
        rows=rows,
        agencies=agencies,
        districts=districts,
        staff=staff,
        agency_id=agency_id,
        district_id=district_id,
        assignee_id=assignee_id,
        filtered=any((agency_id, district_id, assignee_id)),
        inquiry_form=SecondInquiryForm(formdata=None),
    )


SORT_KEYS: dict[str, Callable[[referral_service.AgencyResponseTimes], Any]] = {
    "agency": lambda r: r.agency.name.lower(),
    "sent": lambda r: r.sent,
    "responded": lambda r: r.responded,
    "median": lambda r: r.median_days,
    "p90": lambda r: r.p90_days,
    "overdue": lambda r: r.overdue,
}


@bp.route("/response-times")
@capability_required(Capability.RESPONSE_TIMES)
def response_times() -> ResponseReturnValue:
    sort = request.args.get("sort", "agency")
    if sort not in SORT_KEYS:
        sort = "agency"
    descending = request.args.get("order") == "desc"
    rows = referral_service.response_time_stats(current_staff(), today=local_today())
    key = SORT_KEYS[sort]
    known = [r for r in rows if key(r) is not None]
    unknown = [r for r in rows if key(r) is None]  # no responses yet: always listed last
    known.sort(key=key, reverse=descending)
    return render_template(
        "referrals/response_times.html",
        rows=known + unknown,
        sort=sort,
        descending=descending,
        columns=[
            ("agency", "Agency"),
            ("sent", "Referrals sent"),
            ("responded", "Responded"),
            ("median", "Median days"),
            ("p90", "90th percentile days"),
            ("overdue", "Overdue now"),
        ],
    )
