"""The case page, timeline, status workflow, releases, follow-ups and case list."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import RequestEntityTooLarge
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # not in types-WTForms yet

from constituent.extensions import db
from constituent.forms import choices
from constituent.forms.cases import (
    AssignForm,
    CaseFilterForm,
    CompleteFollowUpForm,
    EntryForm,
    FollowUpForm,
    HeaderForm,
    NotNeededForm,
    ReleaseReceivedForm,
    ReleaseRequestForm,
    ReopenForm,
    StatusForm,
)
from constituent.models import (
    Agency,
    Case,
    CaseStatus,
    EventKind,
    IdentifierKind,
    RequestMethod,
    SignatureMethod,
    User,
)
from constituent.services import (
    auth,
    followups,
    online_review,
    permissions,
    releases,
    submissions,
    uploads,
    versions,
    workflow,
)
from constituent.services import cases as case_service
from constituent.services import categories as category_service
from constituent.services import referrals as referral_service
from constituent.services.errors import Forbidden, NotFound
from constituent.services.permissions import Action, Capability
from constituent.views.auth import safe_next
from constituent.views.boundary import (
    alert,
    audit_read,
    commit,
    confidential_viewed,
    current_staff,
    discard,
    saved,
    submit,
)
from constituent.views.errors import conflict_page, render_error
from constituent.views.helpers import (
    capability_required,
    confirm_post,
    local_today,
    required_version,
    send_attachment,
)

bp = Blueprint("cases", __name__, url_prefix="/cases")

FOLLOW_UP_DAYS = 7  # default due date of a new follow-up

STALE_MESSAGE = (
    "Someone else saved this case at the same moment. Nothing you entered was saved: reload "
    "the case and make your change again."
)


def _load(case_id: int, action: Action = Action.VIEW) -> Case:
    """The case if the user may see it (404 otherwise), checked for ``action`` (403)."""
    user = current_staff()
    case = permissions.get_case(user, case_id, Action.VIEW)
    if action != Action.VIEW and not permissions.can(user, action, case):
        if action == Action.MANAGE:
            raise Forbidden(
                "Only a supervisor, or a caseworker of the district for a case that "
                "is not confidential, can do this."
            )
        raise Forbidden("You can read this case but not change it.")
    return case


def _check_version(case: Case, form: FlaskForm) -> None:
    """Refuse a post without the case's version (400) or made on an older one (409)."""
    versions.check_version(case, required_version(form.version), "case")


def _case_url(case: Case, anchor: str = "") -> str:
    return url_for(".case_detail", case_id=case.id) + (f"#{anchor}" if anchor else "")


@bp.errorhandler(StaleDataError)
def stale(exc: StaleDataError) -> ResponseReturnValue:
    return conflict_page(STALE_MESSAGE)


@bp.errorhandler(RequestEntityTooLarge)
def too_large(exc: RequestEntityTooLarge) -> ResponseReturnValue:
    return render_error(
        413,
        f"What you sent is too large. A signed form may be at most {uploads.MAX_UPLOAD_LABEL}, "
        f"and a timeline entry or description at most {case_service.ENTRY_LIMIT:,} characters. "
        "Nothing was saved.",
    )


# The case page -------------------------------------------------------------------------------


def _status_choices(case: Case) -> list[SelectChoice]:
    """Only the statuses the case may move to (a closed case is reopened by its own form)."""
    if case.status == CaseStatus.CLOSED:
        return []
    return choices([("", "— Choose —")] + [(s.value, s.label) for s in workflow.allowed_next(case)])


def _assign_choices(assignees: list[User]) -> list[SelectChoice]:
    return choices(
        [(0, "Nobody (unassigned)")]
        + [(u.id, f"{u.full_name} ({u.role.label})") for u in assignees]
    )


def _forms(case: Case, **given: FlaskForm) -> dict[str, Any]:
    """Every action form of the case page; ``given`` are the submitted ones being re-shown."""
    today = local_today()
    assignees = case_service.eligible_assignees(case)
    fu_assignees = followups.follow_up_assignees(case)
    forms: dict[str, Any] = {}

    forms["entry"] = given.get("entry") or EntryForm(prefix="entry", formdata=None)

    version = case.version
    status = given.get("status") or StatusForm(prefix="status", formdata=None, version=version)
    status.status.choices = _status_choices(case)
    forms["status"] = status
    forms["reopen"] = given.get("reopen") or ReopenForm(
        prefix="reopen", formdata=None, version=version
    )

    assign = given.get("assign") or AssignForm(
        prefix="assign", formdata=None, assignee=case.assignee_id or 0, version=version
    )
    assign.assignee.choices = _assign_choices(assignees)
    forms["assign"] = assign

    me = current_staff()
    default_for = (
        case.assignee_id
        if case.assignee_id in {u.id for u in fu_assignees}
        else (me.id if me.id in {u.id for u in fu_assignees} else None)
    )
    follow_up = given.get("follow_up") or FollowUpForm(
        prefix="followup",
        formdata=None,
        due_on=today + timedelta(days=FOLLOW_UP_DAYS),
        assignee=default_for,
    )
    follow_up.assignee.choices = choices((u.id, u.full_name) for u in fu_assignees)
    forms["follow_up"] = follow_up

    done: dict[int, CompleteFollowUpForm] = {}
    for f in followups.open_follow_ups(case):
        key = f"done{f.id}"
        done[f.id] = given.get(key) or CompleteFollowUpForm(prefix=f"fu{f.id}", formdata=None)
    forms["done"] = done

    forms["release_request"] = given.get("release_request") or ReleaseRequestForm(
        prefix="relreq", formdata=None, requested_on=today, version=version
    )
    forms["release_received"] = given.get("release_received") or release_form(case)
    forms["not_needed"] = given.get("not_needed") or NotNeededForm(
        prefix="relnn", formdata=None, version=version
    )
    return forms


def release_form(case: Case, also: Agency | None = None) -> ReleaseReceivedForm:
    """A blank signed-release form with the agencies the release should cover ticked: the
    case's referrals', the routing suggestion's and ``also`` (a referral being written)."""
    form = ReleaseReceivedForm(
        prefix="relrec",
        formdata=None,
        signed_on=local_today(),
        version=case.version,
        agencies=[a.id for a in referral_service.agencies_for_release(case, also)],
    )
    form.agencies.choices = choices((a.id, a.label) for a in releases.active_agencies())
    return form


def _render_case(
    case: Case,
    code: int = 200,
    problem: tuple[str, str] | None = None,
    given: dict[str, FlaskForm] | None = None,
    revealed: dict[IdentifierKind, str] | None = None,
) -> tuple[str, int]:
    """Render the case page (each showing of a confidential case is audited)."""
    user = current_staff()
    confidential_viewed(case)
    context = {
        "case": case,
        "events": case_service.timeline_for(case),
        "open_follow_ups": followups.open_follow_ups(case),
        "next_follow_up": followups.next_follow_up(case),
        "age_days": workflow.open_days(case),
        "releases": case.releases,
        "can_edit": permissions.can(user, Action.EDIT, case),
        "can_manage": permissions.can(user, Action.MANAGE, case),
        "forms": _forms(case, **(given or {})),
        "problem": problem,
        "today": local_today(),
        "record_release": request.args.get("release") == "record",
        "identifiers": online_review.case_identifiers(case),
        "revealed": revealed or {},
        "mask": online_review.mask,
    }
    return render_template("cases/case_detail.html", **context), code


def _refuse(case: Case, form: FlaskForm, key: str, anchor: str, label: str) -> tuple[str, int]:
    """Re-show the case page with the form's errors beside its fields: 422, nothing saved."""
    discard()
    return _render_case(case, 422, problem=(label, anchor), given={key: form})


def _act(
    case: Case,
    form: FlaskForm,
    refuse: tuple[str, str, str],
    action: Callable[[], object],
    message: Callable[[], str],
    anchor: str = "",
) -> ResponseReturnValue:
    """One case-page form through the boundary: saved → flash and back to the case page;
    refused → the page again with the refusal beside the form."""
    done = submit(form, action, lambda _: saved(message(), _case_url(case, anchor)))
    return done or _refuse(case, form, *refuse)


@bp.get("/<int:case_id>")
@capability_required(Capability.READ_CASES)
def case_detail(case_id: int) -> ResponseReturnValue:
    return _render_case(_load(case_id))


@bp.post("/<int:case_id>/entries")
@capability_required(Capability.READ_CASES)
def add_entry(case_id: int) -> ResponseReturnValue:
    case = _load(case_id, Action.EDIT)
    form = EntryForm(prefix="entry")
    return _act(
        case,
        form,
        ("entry", "add-entry", "Add to the timeline"),
        lambda: case_service.add_entry(
            case, EventKind(form.kind.data), form.body.data or "", current_staff()
        ),
        lambda: f"{EventKind(form.kind.data).label} added to the timeline.",
        "timeline",
    )


@bp.post("/<int:case_id>/status")
@capability_required(Capability.READ_CASES)
def change_status(case_id: int) -> ResponseReturnValue:
    case = _load(case_id, Action.EDIT)
    form = StatusForm(prefix="status")
    _check_version(case, form)
    form.status.choices = _status_choices(case)
    return _act(
        case,
        form,
        ("status", "change-status", "Change status"),
        lambda: workflow.change_status(
            case,
            form.chosen_status(),
            current_staff(),
            outcome=form.chosen_outcome(),
            note=form.note.data,
        ),
        lambda: f"Status changed to {case.status.label.lower()}.",
    )


@bp.post("/<int:case_id>/reopen")
@capability_required(Capability.READ_CASES)
def reopen(case_id: int) -> ResponseReturnValue:
    case = _load(case_id, Action.EDIT)
    form = ReopenForm(prefix="reopen")
    _check_version(case, form)
    return _act(
        case,
        form,
        ("reopen", "reopen", "Reopen the case"),
        lambda: workflow.reopen_case(case, form.reason.data or "", current_staff()),
        lambda: "The case is open again.",
    )


@bp.post("/<int:case_id>/assign")
@capability_required(Capability.READ_CASES)
def assign(case_id: int) -> ResponseReturnValue:
    case = _load(case_id, Action.MANAGE)
    form = AssignForm(prefix="assign")
    _check_version(case, form)
    form.assignee.choices = _assign_choices(case_service.eligible_assignees(case))

    def assigned(assignee: User | None) -> ResponseReturnValue:
        flash(
            f"Assigned to {assignee.full_name}." if assignee else "The case is unassigned.",
            "success",
        )
        if not permissions.can(current_staff(), Action.VIEW, case):
            return redirect(url_for(".case_list"))
        return redirect(_case_url(case))

    def action() -> User | None:
        assignee = db.session.get(User, form.assignee.data) if form.assignee.data else None
        case_service.assign_case(case, assignee, current_staff())
        return assignee

    done = submit(form, action, assigned)
    return done or _refuse(case, form, "assign", "assign", "Assign")


@bp.post("/<int:case_id>/follow-ups")
@capability_required(Capability.READ_CASES)
def add_follow_up(case_id: int) -> ResponseReturnValue:
    case = _load(case_id, Action.EDIT)
    form = FollowUpForm(prefix="followup")
    form.assignee.choices = [(u.id, u.full_name) for u in followups.follow_up_assignees(case)]

    def action() -> None:
        claimed = submissions.claim(current_staff(), form.submission_key.data)
        followups.add_follow_up(
            case,
            due_on=form.due_on.data,
            assignee=db.session.get(User, form.assignee.data),
            description=form.description.data or "",
            by=current_staff(),
            today=local_today(),
        )
        submissions.record(claimed, _case_url(case, "follow-ups"))

    return _act(
        case,
        form,
        ("follow_up", "add-follow-up", "Add a follow-up"),
        action,
        lambda: "Follow-up added.",
        "follow-ups",
    )


@bp.post("/<int:case_id>/follow-ups/<int:follow_up_id>/done")
@capability_required(Capability.READ_CASES)
def complete_follow_up(case_id: int, follow_up_id: int) -> ResponseReturnValue:
    case = _load(case_id, Action.EDIT)
    follow_up = followups.get_follow_up(case, follow_up_id)
    if follow_up.completed_at is not None:  # a double submit, or a colleague was quicker
        flash("That follow-up was already marked done.", "info")
        return redirect(_case_url(case, "follow-ups"))
    form = CompleteFollowUpForm(prefix=f"fu{follow_up.id}")
    return _act(
        case,
        form,
        (f"done{follow_up.id}", "follow-ups", "Mark a follow-up done"),
        lambda: followups.complete_follow_up(follow_up, by=current_staff(), note=form.note.data),
        lambda: "Follow-up marked done.",
        "follow-ups",
    )


# Privacy release -----------------------------------------------------------------------------


@bp.post("/<int:case_id>/release/request")
@capability_required(Capability.READ_CASES)
def request_release(case_id: int) -> ResponseReturnValue:
    case = _load(case_id, Action.EDIT)
    form = ReleaseRequestForm(prefix="relreq")
    _check_version(case, form)
    return _act(
        case,
        form,
        ("release_request", "release-actions", "Request a privacy release"),
        lambda: releases.request_release(
            case,
            requested_on=form.requested_on.data,
            method=RequestMethod(form.method.data),
            by=current_staff(),
            today=local_today(),
        ),
        lambda: "Privacy release request recorded.",
        "release",
    )


@bp.post("/<int:case_id>/release/received")
@capability_required(Capability.READ_CASES)
def release_received(case_id: int) -> ResponseReturnValue:
    case = _load(case_id, Action.EDIT)
    form = ReleaseReceivedForm(prefix="relrec")
    _check_version(case, form)
    form.agencies.choices = [(a.id, a.label) for a in releases.active_agencies()]

    def action() -> None:
        upload = form.file.data
        releases.record_received(
            case,
            signed_on=form.signed_on.data,
            signature_method=SignatureMethod(form.signature_method.data),
            agencies=releases.agencies_by_id(form.agencies.data or []),
            file=upload.stream if upload and upload.filename else None,
            filename=upload.filename if upload else None,
            by=current_staff(),
            today=local_today(),
        )

    back = safe_next(request.form.get("next"))
    done = submit(
        form,
        action,
        lambda _: saved("Signed privacy release recorded.", back or _case_url(case, "release")),
    )
    return done or _refuse(
        case, form, "release_received", "release-actions", "Record a signed release"
    )


@bp.post("/<int:case_id>/release/not-needed")
@capability_required(Capability.READ_CASES)
def release_not_needed(case_id: int) -> ResponseReturnValue:
    case = _load(case_id, Action.EDIT)
    form = NotNeededForm(prefix="relnn")
    _check_version(case, form)
    return _act(
        case,
        form,
        ("not_needed", "release-actions", "Mark the release not needed"),
        lambda: releases.mark_not_needed(case, by=current_staff(), note=form.note.data),
        lambda: "Privacy release marked not needed.",
        "release",
    )


@bp.post("/<int:case_id>/identifiers/reveal")
@capability_required(Capability.READ_CASES)
def reveal_identifiers(case_id: int) -> ResponseReturnValue:
    """The case page with its agency identifiers shown in full on this one answer (audited;
    staff who may work the case only)."""
    _load(case_id, Action.EDIT)
    confirm_post()
    return commit(
        lambda: online_review.reveal_case_identifiers(current_staff(), case_id),
        lambda found: _render_case(found[0], revealed=found[1]),
        lambda exc: alert(exc, _case_url(_load(case_id), "identifiers")),
    )


@bp.get("/<int:case_id>/attachments/<int:attachment_id>")
@capability_required(Capability.READ_CASES)
def attachment(case_id: int, attachment_id: int) -> ResponseReturnValue:
    case = _load(case_id)
    found = uploads.get_attachment(case, attachment_id)
    content = uploads.stored_content(found)
    audit_read(
        "attachment_downloaded",
        "attachment",
        found.id,
        f"case {case.number}" + (" (confidential)" if case.confidential else ""),
    )
    return send_attachment(content, found)


# Editing the header --------------------------------------------------------------------------


def _header_choices(form: HeaderForm, case: Case) -> None:
    categories = category_service.active_categories(keep_id=case.category_id)
    form.category.choices = [(c.id, c.name) for c in categories]
    districts = {d.id: d for d in current_staff().districts if d.active}
    districts.setdefault(case.district.id, case.district)  # kept even when deactivated
    form.district.choices = [
        (d.id, f"{d.code} — {d.name}") for d in sorted(districts.values(), key=lambda d: d.code)
    ]


@bp.route("/<int:case_id>/edit", methods=["GET", "POST"])
@capability_required(Capability.READ_CASES)
def edit_header(case_id: int) -> ResponseReturnValue:
    case = _load(case_id, Action.MANAGE)
    if request.method == "GET":
        form = HeaderForm.showing(case_service.CaseHeader.of(case), case.version)
        _header_choices(form, case)
        return _render_edit(case, form)
    form = HeaderForm()
    version = required_version(form.version)
    _header_choices(form, case)

    def saved_header(changed: list[str]) -> ResponseReturnValue:
        flash("Case details saved." if changed else "Nothing changed.", "success")
        if not permissions.can(current_staff(), Action.VIEW, case):
            flash("You no longer have access to this case.", "info")
            return redirect(url_for(".case_list"))
        return redirect(_case_url(case))

    try:
        done = submit(
            form,
            lambda: case_service.update_case_header(
                case, form.header(), expected_version=version, by=current_staff()
            ),
            saved_header,
        )
    except StaleDataError:
        # Someone saved between our read and our write: show what they saved.
        fresh = _load(case_id)
        return render_error(
            409, STALE_MESSAGE, changes=case_service.header_changes(fresh, form.header())
        )
    return done or _render_edit(case, form, 422)


def _render_edit(case: Case, form: HeaderForm, status: int = 200) -> tuple[str, int]:
    confidential_viewed(case, "edit form")
    return render_template("cases/edit.html", case=case, form=form), status


# Case number anywhere ------------------------------------------------------------------------


parse_case_number = case_service.parse_case_number


@bp.get("/go")
@capability_required(Capability.READ_CASES)
def go_to_case() -> ResponseReturnValue:
    raw = (request.args.get("number") or "").strip()[:40]
    prefix = current_app.config["CASE_PREFIX"]
    number = parse_case_number(raw, prefix)
    if number is None:
        return render_error(
            400,
            f"“{raw}” is not a case number. Type a number such as {prefix}1042 or 1042."
            if raw
            else f"Type a case number such as {prefix}1042 in the case number box.",
        )
    try:
        case = permissions.get_case_by_number(current_staff(), number)
    except NotFound:
        return render_error(
            404,
            f"There is no case {prefix}{number} that you can open. Check the number and try again.",
        )
    return redirect(_case_url(case))


# The case list -------------------------------------------------------------------------------


def _filter_choices(form: CaseFilterForm, user: User) -> None:
    districts = sorted(user.districts, key=lambda d: d.code)
    form.district.choices = [("", "Any district")] + [(str(d.id), d.code) for d in districts]
    categories = category_service.all_categories()
    form.category.choices = [("", "Any category")] + [(str(c.id), c.name) for c in categories]
    staff = auth.caseworkers_near(user)
    form.assignee.choices = [("", "Anyone"), ("me", "Me"), ("none", "Nobody (unassigned)")] + [
        (str(u.id), u.full_name) for u in staff if u.id != user.id
    ]


def _int_or_none(value: str | None) -> int | None:
    """A record id or page number from the address; anything else (even '²') is None."""
    return int(value) if value and re.fullmatch(r"[0-9]{1,9}", value) else None


@bp.get("/")
@capability_required(Capability.READ_CASES)
def case_list() -> ResponseReturnValue:
    user = current_staff()
    form = CaseFilterForm(request.args)
    _filter_choices(form, user)
    if not form.validate():
        # Unknown values in the address fall back to "any" instead of an error page.
        for f in form:
            if f.errors and f.name != "page":
                f.data = f.default
                f.errors = []
    filters = case_service.CaseFilters(
        status=form.status.data if "status" in request.args else case_service.ACTIVE,
        district_id=_int_or_none(form.district.data),
        category_id=_int_or_none(form.category.data),
        assignee=form.assignee.data or "",
        priority=form.priority.data or "",
        age=form.age.data or "",
        confidential=form.confidential.data or "",
        sort=form.sort.data or "priority",
        page=max(1, min(_int_or_none(request.args.get("page")) or 1, 100_000)),
    )
    result = case_service.find_cases(user, filters)
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template(
        "cases/case_list.html",
        form=form,
        result=result,
        args=args,
        filtered=bool(args),
        own_cases_only=permissions.sees_only_own_cases(user),
    )
