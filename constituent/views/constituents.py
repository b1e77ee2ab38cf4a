"""Constituent profiles, search, edit and merge."""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # not in types-WTForms yet

from constituent.extensions import db
from constituent.forms import choices
from constituent.forms.constituents import (
    ConstituentForm,
    ContactPointForm,
    HouseholdForm,
    MergeForm,
    RemoveForm,
)
from constituent.models import Constituent, User
from constituent.services import addresses, constituents, permissions
from constituent.services.permissions import Capability
from constituent.views import boundary
from constituent.views.helpers import capability_required, required_version

bp = Blueprint("constituents", __name__, url_prefix="/constituents")


def _load(constituent_id: int) -> Constituent:
    return constituents.get_constituent(boundary.current_staff(), constituent_id)


def _profile(person: Constituent) -> str:
    return url_for("constituents.constituent_detail", constituent_id=person.id)


@bp.route("/")
@capability_required(Capability.VIEW_CONSTITUENTS)
def constituent_list() -> ResponseReturnValue:
    """Search by name (nicknames too), phone, email or ZIP; paged."""
    query = request.args.get("q", "")[:200]
    page = request.args.get("page", 1, type=int) or 1
    rows, has_next = constituents.search_constituents(boundary.current_staff(), query, page)
    return render_template(
        "constituents/list.html", rows=rows, query=query, page=page, has_next=has_next
    )


def _detail(
    person: Constituent,
    status: int = 200,
    contact_form: ContactPointForm | None = None,
    household_form: HouseholdForm | None = None,
) -> ResponseReturnValue:
    duplicates = []
    if permissions.may(boundary.current_staff(), Capability.MERGE_CONSTITUENTS):
        phone = person.phones[0].value if person.phones else ""
        email = person.emails[0].value if person.emails else ""
        duplicates = constituents.find_matches(
            boundary.current_staff(),
            first_name=person.first_name,
            last_name=person.last_name,
            phone=phone,
            email=email,
            street=person.street or "",
            zip5=addresses.zip_code(person.zip5, person.zip4),
            exclude_id=person.id,
        )
        duplicates = [m for m in duplicates if m.score >= 3]
    return render_template(
        "constituents/detail.html",
        person=person,
        cases=constituents.visible_cases_of(boundary.current_staff(), person),
        can_edit=permissions.may(boundary.current_staff(), Capability.EDIT_CONSTITUENTS),
        can_merge=permissions.may(boundary.current_staff(), Capability.MERGE_CONSTITUENTS),
        duplicates=duplicates,
        contact_form=contact_form or ContactPointForm(formdata=None),
        household_form=household_form or HouseholdForm(formdata=None),
        remove_form=RemoveForm(formdata=None),
    ), status


@bp.route("/<int:constituent_id>")
@capability_required(Capability.VIEW_CONSTITUENTS)
def constituent_detail(constituent_id: int) -> ResponseReturnValue:
    """A constituent's profile; a merged-away record's address redirects to the kept one."""
    person = _load(constituent_id)
    if person.id != constituent_id:
        return redirect(
            url_for("constituents.constituent_detail", constituent_id=person.id), code=301
        )
    return _detail(person)


def _district_choices(person: Constituent) -> list[SelectChoice]:
    """The user's own districts (and the record's present one): no record leaves scope."""
    rows = {d.id: d for d in boundary.current_staff().districts if d.active}
    if person.district is not None:  # kept even when deactivated
        rows.setdefault(person.district.id, person.district)
    ordered = sorted(rows.values(), key=lambda d: d.code)
    return choices(
        [("", "From the ZIP table")]
        + [(d.id, f"{d.code} · {d.name}") for d in ordered]
        + [(constituents.OUTSIDE_DISTRICT, "Outside this office's districts")]
    )


@bp.route("/<int:constituent_id>/edit", methods=["GET", "POST"])
@capability_required(Capability.EDIT_CONSTITUENTS)
def edit(constituent_id: int) -> ResponseReturnValue:
    """Edit a constituent; a save over someone else's newer save gets the 409 page."""
    person = _load(constituent_id)
    if person.id != constituent_id:
        return redirect(url_for("constituents.edit", constituent_id=person.id))
    form = ConstituentForm(obj=person if request.method == "GET" else None)
    form.district_id.choices = _district_choices(person)
    if request.method == "GET":
        form.version.data = str(person.version)
        form.zip5.data = addresses.zip_code(person.zip5, person.zip4)
        form.preferred_contact.data = (
            person.preferred_contact.value if person.preferred_contact else ""
        )
        form.district_id.data = person.district_id
    version = required_version(form.version) if form.is_submitted() else person.version
    done = boundary.submit(
        form,
        lambda: constituents.update_constituent(
            person,
            form.data_for_service(),
            version=version,
            district_id=form.district_id.data,
            author=boundary.current_staff(),
        ),
        lambda _: boundary.saved("Constituent saved.", _profile(person)),
    )
    return done or (
        render_template("constituents/edit.html", form=form, person=person),
        boundary.form_status(form),
    )


def _add_to_profile(
    constituent_id: int,
    form: FlaskForm,
    add: Callable[[Constituent, User], object],
    message: str,
    again: Callable[[Constituent], ResponseReturnValue],
) -> ResponseReturnValue:
    """Add a contact point or a household member (``add(person, author)``); on a refusal
    ``again``: the profile, with the form and its errors."""
    person = _load(constituent_id)
    done = boundary.submit(
        form,
        lambda: add(person, boundary.current_staff()),
        lambda _: boundary.saved(message, _profile(person)),
    )
    return done or again(_load(constituent_id))


def _remove_from_profile(
    constituent_id: int, remove: Callable[[Constituent, User], object], message: str
) -> ResponseReturnValue:
    """Remove a contact point or a household member (``remove(person, author)``)."""
    person = _load(constituent_id)
    if not RemoveForm().validate_on_submit():
        return redirect(_profile(person))
    return boundary.act(lambda: remove(person, boundary.current_staff()), message, _profile(person))


@bp.route("/<int:constituent_id>/contact-points", methods=["POST"])
@capability_required(Capability.EDIT_CONSTITUENTS)
def add_contact_point(constituent_id: int) -> ResponseReturnValue:
    """Add a phone number or email address."""
    form = ContactPointForm()
    return _add_to_profile(
        constituent_id,
        form,
        lambda person, author: constituents.add_contact_point(
            person,
            form.kind.data or "",
            form.value.data or "",
            form.label.data or "",
            author=author,
        ),
        "Contact point added.",
        lambda person: _detail(person, 422, contact_form=form),
    )


@bp.route("/<int:constituent_id>/contact-points/<int:point_id>/remove", methods=["POST"])
@capability_required(Capability.EDIT_CONSTITUENTS)
def remove_contact_point(constituent_id: int, point_id: int) -> ResponseReturnValue:
    """Remove a phone number or email address."""
    return _remove_from_profile(
        constituent_id,
        lambda person, author: constituents.remove_contact_point(person, point_id, author=author),
        "Contact point removed.",
    )


@bp.route("/<int:constituent_id>/household", methods=["POST"])
@capability_required(Capability.EDIT_CONSTITUENTS)
def add_household_member(constituent_id: int) -> ResponseReturnValue:
    """Add a household member."""
    form = HouseholdForm()
    return _add_to_profile(
        constituent_id,
        form,
        lambda person, author: constituents.add_household_member(
            person, form.name.data or "", form.relationship.data or "", author=author
        ),
        "Household member added.",
        lambda person: _detail(person, 422, household_form=form),
    )


@bp.route("/<int:constituent_id>/household/<int:member_id>/remove", methods=["POST"])
@capability_required(Capability.EDIT_CONSTITUENTS)
def remove_household_member(constituent_id: int, member_id: int) -> ResponseReturnValue:
    """Remove a household member."""
    return _remove_from_profile(
        constituent_id,
        lambda person, author: constituents.remove_household_member(
            person, member_id, author=author
        ),
        "Household member removed.",
    )


def _load_pair(form: MergeForm) -> tuple[Constituent | None, Constituent | None]:
    found: list[Constituent | None] = []
    for name in ("kept", "duplicate"):
        value = form[name].data
        person = None
        if value:
            person = db.session.get(Constituent, value)
            if person is None or not constituents.can_see(boundary.current_staff(), person):
                form[name].errors = [
                    *form[name].errors,
                    "No constituent with that number is available to you.",
                ]
                person = None
            elif person.merged_into_id is not None:
                form[name].errors = [
                    *form[name].errors,
                    f"Record #{value} was already merged into "
                    f"#{constituents.kept_record(person).id}.",
                ]
                person = None
        found.append(person)
    return found[0], found[1]


@bp.route("/merge", methods=["GET", "POST"])
@capability_required(Capability.MERGE_CONSTITUENTS)
def merge() -> ResponseReturnValue:
    """Supervisors: compare two records, then merge the duplicate into the kept one."""
    form = MergeForm(formdata=request.form if request.method == "POST" else request.args)
    kept = duplicate = None
    status = 200
    valid = False
    if request.method == "POST" or request.args:
        valid = form.validate()
        if request.method == "GET":
            form.csrf_token.errors = []
        kept, duplicate = _load_pair(form)
        if kept and duplicate and kept.id == duplicate.id:
            form.duplicate.errors = [*form.duplicate.errors, "Choose two different records."]
            duplicate = None
    if request.method == "POST":
        status = 422
        if not form.confirm.data:
            form.confirm.errors = [
                *form.confirm.errors,
                "Confirm that both records are the same person.",
            ]
        elif valid and kept and duplicate:
            pair = (kept, duplicate)
            done = boundary.commit(
                lambda: constituents.merge_constituents(*pair, boundary.current_staff()),
                lambda report: boundary.saved(
                    f"Merged record #{pair[1].id} into this one: {report.cases} "
                    f"{'case' if report.cases == 1 else 'cases'} moved.",
                    _profile(pair[0]),
                ),
                lambda exc: boundary.attach_error(form, exc),
            )
            if done is not None:
                return done
    cases = {}
    for person in (kept, duplicate):
        if person is not None:
            cases[person.id] = constituents.visible_cases_of(boundary.current_staff(), person)
    return render_template(
        "constituents/merge.html", form=form, kept=kept, duplicate=duplicate, cases=cases
    ), status
