"""Incoming agency email filed onto cases: upload, the per-message report, the unfiled queue,
filing from it, opening a new case from a message, and the message page."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import RequestEntityTooLarge

from constituent.extensions import csrf
from constituent.forms.mail import FileMessageForm, NewCaseForm, UploadForm
from constituent.models import InboundMessage, InboundStatus
from constituent.services import mail as mail_service
from constituent.services import office, permissions, uploads
from constituent.services.errors import DomainError
from constituent.services.permissions import Capability
from constituent.views import new_case as new_case_page
from constituent.views.boundary import (
    audit_read,
    commit,
    confidential_viewed,
    current_staff,
    error_page,
    saved,
    submit,
)
from constituent.views.errors import render_error
from constituent.views.helpers import capability_required, case_number, send_attachment

bp = Blueprint("mail", __name__, url_prefix="/mail")

# A saved message carries its attachments base64-encoded (a third larger): the upload limit
# of this page is well above the site's, so that a message with a 30 MB attachment still
# arrives and is filed (the attachment itself is refused with a reason).
DEFAULT_UPLOAD_LIMIT = 64 * 1024 * 1024


def _upload_limit() -> int:
    return int(current_app.config.get("MAIL_UPLOAD_MAX_BYTES") or DEFAULT_UPLOAD_LIMIT)


@bp.errorhandler(RequestEntityTooLarge)
def too_large(exc: RequestEntityTooLarge) -> ResponseReturnValue:
    """The whole upload is over this page's limit: say so, import nothing."""
    limit = _upload_limit() // (1024 * 1024)
    return render_error(
        413,
        f"What you sent is larger than the {limit} MB this page accepts at once. Upload "
        "fewer messages at a time, or ask the office IT staff to run `flask mail import` "
        "on the folder. Nothing was imported.",
    )


def _file_form(message: InboundMessage, given: FileMessageForm | None = None) -> FileMessageForm:
    if given is not None:
        return given
    return FileMessageForm(prefix=f"m{message.id}", formdata=None)


def _render_inbox(
    report: mail_service.ImportReport | None = None,
    upload_form: UploadForm | None = None,
    given: tuple[int, FileMessageForm] | None = None,
    code: int = 200,
) -> tuple[str, int]:
    user = current_staff()
    page = max(1, min(request.args.get("page", 1, type=int) or 1, 100_000))
    queue = mail_service.unfiled_messages(user, page)
    rows = []
    for message in queue.messages:
        form = _file_form(message, given[1] if given and given[0] == message.id else None)
        rows.append(
            {
                "message": message,
                "form": form,
                "reason": mail_service.queue_reason(message, user),
                "suggestions": mail_service.suggest_cases(message, user),
            }
        )
    return render_template(
        "mail/inbox.html",
        upload_form=upload_form or UploadForm(formdata=None),
        report=report,
        queue=queue,
        rows=rows,
        upload_limit=_upload_limit(),
        max_attachment=uploads.MAX_UPLOAD_LABEL,
    ), code


@bp.get("/")
@capability_required(Capability.TRIAGE_MAIL)
def inbox() -> ResponseReturnValue:
    """The Incoming mail page: upload, and the queue of messages waiting to be filed."""
    return _render_inbox()


@bp.post("/upload")
@csrf.exempt  # the form's own CSRF field is checked below, once the larger limit is set
@capability_required(Capability.TRIAGE_MAIL)
def upload() -> ResponseReturnValue:
    """Import the uploaded messages and show what became of each one."""
    request.max_content_length = _upload_limit()
    form = UploadForm()

    def imported() -> mail_service.ImportReport:
        sources: list[mail_service.MailSource] = []
        for upload_file in form.chosen():
            sources += mail_service.split_upload(upload_file.read(), upload_file.filename or "")
        return mail_service.import_sources(sources, user=current_staff())

    done = submit(form, imported, lambda report: _render_inbox(report=report), refused=error_page)
    return done or _render_inbox(upload_form=form, code=422)


def _already_filed(message: InboundMessage, target: str) -> ResponseReturnValue | None:
    """Filing, or opening a case from, a message that was filed meanwhile: say so at ``target``."""
    if message.status != InboundStatus.FILED:
        return None
    flash("That message was already filed.", "info")
    return redirect(target)


@bp.post("/<int:message_id>/file")
@capability_required(Capability.TRIAGE_MAIL)
def file_message(message_id: int) -> ResponseReturnValue:
    """File a queued message onto the case whose number the staffer typed or picked."""
    user = current_staff()
    message = mail_service.get_message(user, message_id)
    if filed := _already_filed(message, url_for(".inbox")):
        return filed
    form = FileMessageForm(prefix=f"m{message.id}")
    back = request.form.get("back") == "detail"

    def file() -> mail_service.Filing:
        if not form.validate_on_submit():
            raise DomainError(
                next(iter(form.case_number.errors or ["Type the case number."])),
                field="case_number",
            )
        return mail_service.file_by_number(message, form.case_number.data or "", user)

    def refused(exc: DomainError) -> ResponseReturnValue:
        if exc.status_code != 400:
            raise exc
        form.case_number.errors = [exc.message]
        if back:
            return _render_detail(mail_service.get_message(user, message_id), form, 422)
        return _render_inbox(given=(message_id, form), code=422)

    return commit(file, lambda filing: saved(_filed(message, filing), url_for(".inbox")), refused)


def _filed(message: InboundMessage, filing: mail_service.Filing) -> str:
    """What filing the message did, in a sentence or two."""
    text = f"Filed “{message.subject or 'no subject'}” to case {case_number(filing.case.number)}."
    if filing.referral is not None:
        text += (
            f" Recorded as the response to the referral to {filing.referral.agency.label}"
            " (outcome pending)."
        )
    elif filing.note:
        text += " " + filing.note
    return text


def _render_detail(
    message: InboundMessage, form: FileMessageForm | None = None, code: int = 200
) -> tuple[str, int]:
    user = current_staff()
    context: dict[str, Any] = {
        "message": message,
        "case": None,
        "form": None,
        "suggestions": [],
        "reason": "",
        "response": None,
    }
    if message.status == InboundStatus.FILED and message.case_id is not None:
        case = permissions.get_case(user, message.case_id)
        confidential_viewed(case, f"inbound message {message.id}")
        context["case"] = case
        context["response"] = mail_service.response_of(message)
    else:
        context["form"] = form or _file_form(message)
        context["suggestions"] = mail_service.suggest_cases(message, user)
        context["reason"] = mail_service.queue_reason(message, user)
    return render_template("mail/detail.html", **context), code


@bp.get("/<int:message_id>")
@capability_required(Capability.READ_FILED_MAIL)
def message_detail(message_id: int) -> ResponseReturnValue:
    """One message: its headers, its text (escaped), its attachments, and filing."""
    return _render_detail(mail_service.open_message(current_staff(), message_id))


@bp.get("/<int:message_id>/attachments/<int:item_id>")
@capability_required(Capability.READ_FILED_MAIL)
def attachment(message_id: int, item_id: int) -> ResponseReturnValue:
    """Download a kept attachment of a message the user may see."""
    message = mail_service.get_message(current_staff(), message_id)
    item = mail_service.get_attachment(message, item_id)
    stored = item.attachment
    assert stored is not None
    content = uploads.stored_content(stored)
    detail = f"inbound message {message.id}"
    if message.case is not None:
        detail += f", case {message.case.number}" + (
            " (confidential)" if message.case.confidential else ""
        )
    audit_read("attachment_downloaded", "attachment", stored.id, detail)
    return send_attachment(content, stored)


# Opening a new case from a message -----------------------------------------------------------


@bp.route("/<int:message_id>/new-case", methods=["GET", "POST"])
@capability_required(Capability.TRIAGE_MAIL)
def new_case(message_id: int) -> ResponseReturnValue:
    """Open a new case from a queued message: "Find matches" re-renders with candidates."""
    user = current_staff()
    message = mail_service.get_message(user, message_id)
    if filed := _already_filed(message, url_for(".message_detail", message_id=message.id)):
        return filed
    if request.method == "GET":
        message = mail_service.open_message(user, message_id)  # audited: a read's own commit
        sender = mail_service.sender_address(message)
        form = NewCaseForm(
            formdata=None,
            subject=message.subject[:200],
            email="" if mail_service.is_agency_sender(sender) else sender,
            state=office.profile().state,  # the usual State; staff change it
        )
    else:
        form = NewCaseForm()
    form.category_id.choices = new_case_page.category_choices()
    status = 200
    if request.method == "POST" and request.form.get("action") != "find":
        done = new_case_page.open_case(
            form,
            lambda details: mail_service.open_case_from_message(message, user, details),
            lambda case: saved(
                f"Case {case_number(case.number)} opened for "
                f"{case.constituent.full_name}, with the email on its timeline.",
                url_for("cases.case_detail", case_id=case.id),
            ),
            lambda case: url_for("cases.case_detail", case_id=case.id),
            fallback="subject",
        )
        if done is not None:
            return done
        message = mail_service.get_message(user, message_id)
        status = 422
    context = new_case_page.context(form)
    return render_template("mail/new_case.html", message=message, **context), status
