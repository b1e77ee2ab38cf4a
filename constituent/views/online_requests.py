"""The Online requests queue: what residents sent through the public help form, reviewed by
intake staff before it becomes a case (accept, with intake's matching and district rules) or
is declined with a reason; identifiers shown masked, revealed on an audited post."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request, url_for
from flask.typing import ResponseReturnValue

from constituent.forms.agencies import ConfirmForm
from constituent.forms.online_requests import AcceptForm, DeclineForm
from constituent.models import Case, IdentifierKind, OnlineRequest, RequestStatus
from constituent.services import online_review, permissions, uploads
from constituent.services.errors import NotFound
from constituent.services.permissions import Action, Capability
from constituent.views import new_case as new_case_page
from constituent.views.boundary import (
    alert,
    audit_read,
    commit,
    current_staff,
    saved,
    submit,
)
from constituent.views.helpers import (
    capability_required,
    case_number,
    confirm_post,
    paging,
    send_attachment,
)

bp = Blueprint("online_requests", __name__, url_prefix="/online-requests")
REVIEW = Capability.REVIEW_ONLINE_REQUESTS


@bp.get("/")
@capability_required(REVIEW)
def queue() -> ResponseReturnValue:
    """The requests waiting for review, newest first, and the last ones reviewed."""
    user = current_staff()
    page, _, args = paging(online_review.waiting_count(user), online_review.PAGE_SIZE)
    waiting = online_review.queue(user, page)
    return render_template(
        "online_requests/queue.html",
        waiting=waiting,
        args=args,
        reviewed=online_review.recently_reviewed(user),
        district_note=online_review.district_note,
    )


def _accept_form(item: OnlineRequest, posted: bool = False) -> AcceptForm:
    """The accept form, filled from the post when it was the one sent, else from the request
    (the page shown again after a reveal or a refused decline starts from the request)."""
    if posted:
        form = AcceptForm()
    else:
        # Every field named as in CallDetails starts from what the resident sent.
        form = AcceptForm(formdata=None, obj=online_review.call_details(item))
    form.category_id.choices = new_case_page.category_choices()
    return form


def _render(
    item: OnlineRequest,
    *,
    form: AcceptForm | None = None,
    decline_form: DeclineForm | None = None,
    revealed: dict[IdentifierKind, str] | None = None,
    code: int = 200,
) -> tuple[str, int]:
    user = current_staff()
    context: dict[str, Any] = {
        "item": item,
        "notice": online_review.already_reviewed(item) if code == 409 else "",
        "identifiers": online_review.stored_identifiers(item),
        "revealed": revealed or {},
        "mask": online_review.mask,
        "may_accept": online_review.may_accept(user),
        "accept_refusal": online_review.ACCEPT_NEEDS_INTAKE,
        "decline_form": decline_form or DeclineForm(formdata=None),
        "reveal_form": ConfirmForm(formdata=None),
        "case_visible": item.case is not None and permissions.can(user, Action.VIEW, item.case),
        "new": item.status == RequestStatus.NEW,
    }
    if item.status == RequestStatus.NEW and context["may_accept"]:
        context.update(new_case_page.context(form or _accept_form(item)))
    else:
        context["question"] = online_review.district_question(user, item)
    return render_template("online_requests/request.html", **context), code


def _opened(case: Case) -> ResponseReturnValue:
    message = f"Case {case_number(case.number)} opened for {case.constituent.full_name}"
    if permissions.can(current_staff(), Action.VIEW, case):
        return saved(message + ".", url_for("cases.case_detail", case_id=case.id))
    return saved(
        message + f" in {case.district.code}; that district's staff will handle it.",
        url_for(".queue"),
    )


@bp.route("/<int:request_id>", methods=["GET", "POST"])
@capability_required(REVIEW)
def request_detail(request_id: int) -> ResponseReturnValue:
    """One request: what the resident wrote, the release, the identifiers (masked), the
    suggested matches and district question, and the accept and decline forms. "Find
    matches" re-renders with candidates for what staff typed (no JavaScript needed)."""
    user = current_staff()
    item = online_review.get_request(user, request_id)
    if request.method == "GET" or not online_review.may_accept(user):
        return _render(item)
    form = _accept_form(item, posted=True)
    if request.form.get("action") == "find" or item.status != RequestStatus.NEW:
        return _render(item, form=form, code=200 if item.status == RequestStatus.NEW else 409)
    done = new_case_page.open_case(
        form,
        lambda details: online_review.accept(item, user, details),
        _opened,
        lambda case: url_for("cases.case_detail", case_id=case.id),
        fallback="subject",
    )
    if done is not None:
        return done
    return _render(online_review.get_request(user, request_id), form=form, code=422)


@bp.post("/<int:request_id>/decline")
@capability_required(REVIEW)
def decline(request_id: int) -> ResponseReturnValue:
    """Decline a request with a reason."""
    user = current_staff()
    item = online_review.get_request(user, request_id)
    form = DeclineForm()
    done = submit(
        form,
        lambda: online_review.decline(item, user, form.reason.data or ""),
        lambda declined: saved(
            f"Online request {declined.reference} declined "
            f"({declined.decline_reason.label.lower() if declined.decline_reason else ''}).",
            url_for(".queue"),
        ),
        default="reason",
    )
    return done or _render(online_review.get_request(user, request_id), decline_form=form, code=422)


@bp.post("/<int:request_id>/reveal")
@capability_required(REVIEW)
def reveal(request_id: int) -> ResponseReturnValue:
    """Show the request's agency identifiers in full on this one answer (audited)."""
    user = current_staff()
    item = online_review.get_request(user, request_id)
    confirm_post()
    return commit(
        lambda: online_review.reveal_request_identifiers(user, item),
        lambda shown: _render(item, revealed=shown),
        lambda exc: alert(exc, url_for(".request_detail", request_id=request_id)),
    )


@bp.get("/<int:request_id>/release")
@capability_required(REVIEW)
def release_copy(request_id: int) -> ResponseReturnValue:
    """The stored copy of the release the resident signed (audited download)."""
    item = online_review.get_request(current_staff(), request_id)
    stored = item.release_copy
    if stored is None:
        raise NotFound("This request has no signed release.")
    content = uploads.stored_content(stored)
    audit_read("attachment_downloaded", "attachment", stored.id, f"online request {item.reference}")
    return send_attachment(content, stored)
