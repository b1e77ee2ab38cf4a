"""Letters rendered for a case from admin-edited templates."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # not in types-WTForms yet

from constituent.extensions import db
from constituent.forms import choices
from constituent.forms.letters import LetterChoiceForm, PrintLetterForm
from constituent.models import AgencyContact, Case, Referral, User
from constituent.services import agencies as agency_service
from constituent.services import letters as letter_service
from constituent.services import permissions, routing, submissions
from constituent.services import referrals as referral_service
from constituent.services.errors import DomainError, NotFound
from constituent.services.permissions import Action, Capability, get_case
from constituent.views.boundary import commit, confidential_viewed, current_staff
from constituent.views.helpers import capability_required, local_today

bp = Blueprint("letters", __name__)


def _contact_choices() -> list[SelectChoice]:
    options = choices([("", "No agency")])
    for contact in agency_service.active_contacts():
        group = contact.agency.acronym or contact.agency.name
        options += choices([(contact.id, f"{group}: {contact.name}")], optgroup=group)
    return options


def _resolve(
    case: Case, template_id: int | None, referral_id: int | None, contact_id: int | None
) -> tuple[Any, Referral | None, AgencyContact | None]:
    template = letter_service.get_template(template_id) if template_id else None
    referral = None
    if referral_id:
        referral = db.session.get(Referral, referral_id)
        if referral is None or referral.case_id != case.id:
            raise DomainError("That referral is not on this case.", field="referral_id")
    contact = db.session.get(AgencyContact, contact_id) if contact_id else None
    if contact_id and contact is None:
        raise DomainError("That agency contact does not exist.", field="contact_id")
    return template, referral, contact


@bp.route("/cases/<int:case_id>/letters/new")
@capability_required(Capability.WRITE_LETTERS)
def new_letter(case_id: int) -> ResponseReturnValue:
    """Choose a template (and an agency contact or referral) and preview the letter."""
    user = current_staff()
    case = get_case(user, case_id, Action.EDIT)
    confidential_viewed(case, "letter preview")
    templates = letter_service.list_templates(active_only=True)
    referrals = referral_service.case_referrals(case)
    form = LetterChoiceForm(formdata=request.args if request.args else None)
    form.template_id.choices = choices(
        [("", "Choose a template")]
        + [(t.id, f"{t.name} ({letter_service.KIND_LABELS[t.kind]})") for t in templates]
    )
    form.referral_id.choices = choices(
        [("", "No referral")]
        + [
            (
                r.id,
                f"{r.agency.acronym or r.agency.name}, sent {r.sent_on:%b %-d, %Y}"
                f"{' (' + r.reference_number + ')' if r.reference_number else ''}",
            )
            for r in referrals
        ]
    )
    form.contact_id.choices = _contact_choices()
    suggestion = routing.best_rule(case.category, case.district)
    if not request.args and suggestion and suggestion.contact:
        form.contact_id.data = suggestion.contact.id
    preview, status = None, 200
    print_form = PrintLetterForm()
    if request.args:
        if form.validate():
            try:
                template, referral, contact = _resolve(
                    case, form.template_id.data, form.referral_id.data, form.contact_id.data
                )
                preview = letter_service.preview_letter(
                    template, case, user, referral=referral, contact=contact
                )
                print_form.template_id.data = str(template.id)
                print_form.referral_id.data = str(referral.id) if referral else ""
                print_form.contact_id.data = str(contact.id) if contact else ""
            except NotFound:
                form.template_id.errors = ["That template does not exist."]
                status = 422
            except DomainError as exc:
                target = (
                    form[exc.field]
                    if exc.field in ("referral_id", "contact_id")
                    else form.template_id
                )
                target.errors = [*target.errors, exc.message]
                status = 422
        else:
            status = 422
    return render_template(
        "letters/new.html",
        case=case,
        form=form,
        preview=preview,
        print_form=print_form,
        suggestion=suggestion,
        letters=letter_service.letters_for(case),
        has_templates=bool(templates),
        today=letter_service.long_date(local_today()),
    ), status


@bp.route("/cases/<int:case_id>/letters", methods=["POST"])
@capability_required(Capability.WRITE_LETTERS)
def print_letter(case_id: int) -> ResponseReturnValue:
    """Record the previewed letter on the case and open its print view."""
    user = current_staff()
    case = get_case(user, case_id, Action.EDIT)
    form = PrintLetterForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        template_id = int(form.template_id.data)
        referral_id = int(form.referral_id.data) if form.referral_id.data else None
        contact_id = int(form.contact_id.data) if form.contact_id.data else None
    except ValueError:
        abort(400)
    args = {
        "template_id": template_id,
        "referral_id": referral_id or "",
        "contact_id": contact_id or "",
    }

    def write() -> str:
        claimed = submissions.claim(user, form.submission_key.data)
        template, referral, contact = _resolve(case, template_id, referral_id, contact_id)
        letter = letter_service.render_letter(
            template, case, user, referral=referral, contact=contact
        )
        target = url_for("letters.letter_detail", letter_id=letter.id)
        submissions.record(claimed, target)
        return target

    def refused(exc: DomainError) -> ResponseReturnValue:
        if isinstance(exc, submissions.AlreadySubmitted):
            raise exc
        # Back to the preview, which shows the reason beside the field (nothing was saved).
        return redirect(url_for("letters.new_letter", case_id=case.id, **args))

    return commit(write, redirect, refused)


@bp.route("/letters/<int:letter_id>")
@capability_required(Capability.READ_CASES)
def letter_detail(letter_id: int) -> ResponseReturnValue:
    """A recorded letter, laid out to print on one US-letter page."""
    user = current_staff()
    try:
        letter = letter_service.get_letter(letter_id)
        case = get_case(user, letter.case_id, Action.VIEW)
    except NotFound:
        raise NotFound("No letter with that number is available to you.") from None
    confidential_viewed(case, f"letter {letter.id}")
    author = db.session.get(User, letter.created_by_id) if letter.created_by_id else None
    template = letter_service.get_template(letter.template_id) if letter.template_id else None
    return render_template(
        "letters/detail.html",
        letter=letter,
        case=case,
        author=author,
        template=template,
        letter_date=letter_service.long_date(letter.created_at),
        may_edit=permissions.may(user, Capability.WRITE_LETTERS)
        and permissions.may(user, Action.EDIT, case),
    )
