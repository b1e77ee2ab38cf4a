"""Log a call: check everything, then create the constituent (if new) and open the case."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import sqlalchemy as sa

from constituent.extensions import db
from constituent.models import (
    Case,
    Category,
    Channel,
    Constituent,
    District,
    Priority,
    User,
)
from constituent.services import cases, constituents, office, permissions
from constituent.services.constituents import ConstituentData
from constituent.services.errors import DomainError, NotFound
from constituent.services.permissions import Capability

MAX_SUBJECT = 200
MAX_DESCRIPTION = 10_000
CHOOSE_DISTRICT = "Choose the district"
CHOOSE_HANDLING = "Choose the district handling the case."


class IntakeRefused(DomainError):
    """The call could not be logged; ``errors`` holds every problem by form field."""

    status_code = 422

    def __init__(self, errors: dict[str, str]) -> None:
        name, message = next(iter(errors.items()))
        super().__init__(message, field=name)
        self.errors = errors


# What a call says of a new constituent, named as in ConstituentData.
PERSON_FIELDS = ("first_name", "last_name", "street", "street2", "city", "state", "zip5")


@dataclass
class CallDetails:
    """Everything the intake form sends, as plain values."""

    constituent_id: int | None = None
    first_name: str = ""
    last_name: str = ""
    phone: str = ""
    email: str = ""
    street: str = ""
    street2: str = ""
    city: str = ""
    state: str = ""  # empty: the district's state, else the office's home state
    zip5: str = ""
    zip_confirmed: bool = False
    district_id: int | None = None
    category_id: int | None = None
    subject: str = ""
    description: str = ""
    channel: str = Channel.PHONE.value
    priority: str = Priority.ROUTINE.value
    confidential: bool = False
    release_needed: bool = False

    def new_person(self) -> ConstituentData:
        """The new constituent the call describes (name and address), cleaned."""
        return ConstituentData(**{name: getattr(self, name) for name in PERSON_FIELDS}).cleaned()

    def typed(self) -> dict[str, Any]:
        """What was typed about the caller, by ``constituents.find_matches``'s keywords."""
        return {name: getattr(self, name) for name in constituents.MATCH_FIELDS}


@dataclass
class DistrictQuestion:
    """What the form says about the district, and the choices it offers (if it must ask)."""

    kind: str  # "none", "invalid", "unknown", "out", "set", "split", "on_file"
    message: str = ""
    options: list[District] = field(default_factory=list)
    label: str = "District"
    district: District | None = None  # the constituent's district, when settled
    outside_choice: bool = False  # offer "outside this office's districts" (split ZIPs)

    @property
    def warning(self) -> bool:
        return self.kind in ("unknown", "out")


def _office_districts(user: User) -> list[District]:
    """The user's districts that take new cases (a deactivated one takes none)."""
    return sorted((d for d in user.districts if d.active), key=lambda d: d.code)


def _handling(user: User) -> list[District]:
    """The user's districts to choose from when the case is the office's own (several only)."""
    own = _office_districts(user)
    return own if len(own) > 1 else []


def district_question(
    user: User, zip5: str, constituent: Constituent | None = None
) -> DistrictQuestion:
    """What the intake form should say and ask about the district for this ZIP or record."""
    handling_label = "District handling the case"
    if constituent is not None:
        if constituent.district is not None and not constituent.district.active:
            return DistrictQuestion(
                "on_file",
                f"District on file: {constituent.district.code}, which is deactivated: the case "
                "is handled by your office.",
                _handling(user),
                handling_label,
            )
        if constituent.district is not None:
            return DistrictQuestion(
                "on_file",
                f"District on file: {constituent.district.code}.",
                district=constituent.district,
            )
        note = (
            "On file as out of district: the case is handled by your office."
            if constituent.out_of_district
            else "No district on file: the case is handled by your office."
        )
        return DistrictQuestion("on_file", note, _handling(user), handling_label)
    where = constituents.districting(zip5)
    if where.kind == "set":
        district = where.served[0]
        return DistrictQuestion(
            "set", f"ZIP {where.zip5} is in {district.code} ({district.name}).", district=district
        )
    if where.kind == "split":
        return DistrictQuestion(
            "split",
            f"ZIP {where.zip5} is split between {' and '.join(where.codes)}: ask the caller's "
            f"address. It is {constituents.split_choices(where)}.",
            where.served,
            "District (split ZIP)",
            outside_choice=len(where.served) < len(where.codes),
        )
    if where.kind == "out":
        return DistrictQuestion(
            "out",
            f"Out of district: ZIP {where.zip5} is in {', '.join(where.codes)}, outside "
            "this office's districts. The constituent will be flagged out of district and the "
            "case handled by your office (a courtesy referral is still possible).",
            _handling(user),
            handling_label,
        )
    if where.kind == "unknown":
        return DistrictQuestion(
            "unknown",
            f"ZIP {where.zip5} is not in the ZIP table, so it says nothing about the district. "
            "Check it with the caller, then choose the district the address is in, or tick "
            "“This ZIP is right” to flag the constituent out of district.",
            _office_districts(user),
            "District of the address (ZIP not in the table)",
            outside_choice=True,
        )
    return DistrictQuestion(where.kind, "", _handling(user), handling_label)


@dataclass
class _Plan:
    constituent: Constituent | None = None
    new: ConstituentData | None = None
    constituent_district: District | None = None
    out_of_district: bool = False
    case_district: District | None = None
    category: Category | None = None


def _pick(options: list[District], chosen_id: int | None) -> District | None:
    return next((d for d in options if d.id == chosen_id), None)


def _known_caller(
    user: User, details: CallDetails, plan: _Plan, errors: dict[str, str]
) -> DistrictQuestion:
    """Plan a call from a constituent already on file: the district comes from their address."""
    assert details.constituent_id is not None
    try:
        plan.constituent = constituents.get_constituent(user, details.constituent_id)
    except NotFound:
        errors["constituent_id"] = (
            "That constituent is not available to you; search again or enter a new constituent."
        )
    if plan.constituent is None:
        return DistrictQuestion("none")
    return district_question(user, "", plan.constituent)


def _new_caller(
    user: User, details: CallDetails, plan: _Plan, errors: dict[str, str]
) -> DistrictQuestion:
    """Plan a call from a new constituent: their details, and the district of their ZIP."""
    plan.new = details.new_person()
    errors.update(constituents.validate_constituent(plan.new))
    _check_contact(details, errors)
    question = district_question(user, plan.new.zip5)
    plan.out_of_district = question.kind == "out"
    if question.kind != "unknown":
        return question
    chosen = _pick(question.options, details.district_id)
    if chosen is not None:  # staff placed the address in a served district
        return DistrictQuestion("set", district=chosen)
    if details.zip_confirmed or details.district_id == constituents.OUTSIDE_DISTRICT:
        plan.out_of_district = True
        return DistrictQuestion("out")  # handled by the office: its first district
    errors.setdefault("zip5", question.message)
    return DistrictQuestion("none")


def _check_contact(details: CallDetails, errors: dict[str, str]) -> None:
    """A new caller's phone and email, each checked only when given."""
    if details.phone.strip():
        try:
            constituents.check_phone(details.phone.strip())
        except DomainError as exc:
            errors["phone"] = exc.message
    if details.email.strip():
        try:
            constituents.check_email(details.email)
        except DomainError as exc:
            errors["email"] = exc.message


def _place_case(
    user: User,
    details: CallDetails,
    question: DistrictQuestion,
    plan: _Plan,
    errors: dict[str, str],
) -> None:
    """The district that handles the case (and the constituent's, when the answer settles it)."""
    no_district = "Your account has no district; ask an administrator."
    if (
        question.kind == "split"
        and question.outside_choice
        and (details.district_id == constituents.OUTSIDE_DISTRICT)
    ):
        plan.out_of_district = True  # the unserved part of a split ZIP: handled as courtesy
        own = _office_districts(user)
        plan.case_district = own[0] if own else None
        if plan.case_district is None:
            errors["district_id"] = no_district
    elif question.kind == "split":
        plan.constituent_district = plan.case_district = _pick(
            question.options, details.district_id
        )
        if plan.case_district is None:
            errors["district_id"] = f"{CHOOSE_DISTRICT}: {question.message}"
    elif question.district is not None:
        plan.constituent_district = plan.case_district = question.district
    elif question.options:
        plan.case_district = _pick(question.options, details.district_id)
        if plan.case_district is None:
            errors["district_id"] = CHOOSE_HANDLING
    elif _office_districts(user):
        plan.case_district = _office_districts(user)[0]
    elif "constituent_id" not in errors:
        errors["district_id"] = no_district


def _check_case_fields(details: CallDetails, plan: _Plan, errors: dict[str, str]) -> None:
    """The case's own fields: category, subject, description, channel and priority."""
    plan.category = (
        db.session.scalar(
            sa.select(Category).where(Category.id == details.category_id, Category.active.is_(True))
        )
        if details.category_id
        else None
    )
    if plan.category is None:
        errors["category_id"] = "Choose a category."
    if not details.subject.strip():
        errors["subject"] = "Enter a subject: a few words on what the caller needs."
    for name, limit in (("subject", MAX_SUBJECT), ("description", MAX_DESCRIPTION)):
        message = constituents.too_long(getattr(details, name), limit)
        if message:
            errors[name] = message
    if details.channel not in {c.value for c in Channel}:
        errors["channel"] = "Choose how the constituent contacted the office."
    if details.priority not in {p.value for p in Priority}:
        errors["priority"] = "Choose a priority."


def _check(user: User, details: CallDetails) -> tuple[dict[str, str], _Plan]:
    errors: dict[str, str] = {}
    plan = _Plan()
    caller = _known_caller if details.constituent_id else _new_caller
    question = caller(user, details, plan, errors)
    _place_case(user, details, question, plan, errors)
    _check_case_fields(details, plan, errors)
    return errors, plan


def usual_channel(user: User) -> Channel:
    """The channel of the last case this user opened (phone before the first): the next call
    most likely came the same way."""
    last = db.session.scalar(
        sa.select(Case.channel)
        .where(Case.opened_by_id == user.id)
        .order_by(Case.opened_at.desc(), Case.id.desc())
        .limit(1)
    )
    return last or Channel.PHONE


def validate_call(user: User, details: CallDetails) -> dict[str, str]:
    """Every problem with the call's details, by form field (empty when it can be logged)."""
    if not permissions.may(user, Capability.LOG_CALLS):
        return {"constituent_id": "Your role does not log calls."}
    return _check(user, details)[0]


def log_call(user: User, details: CallDetails) -> Case:
    """Log a call: create the constituent if new, open the case with its first event (flushes).

    Everything is checked before anything is written, so a refused call saves nothing.
    """
    errors = validate_call(user, details)
    if errors:
        raise IntakeRefused(errors)
    _, plan = _check(user, details)
    person = plan.constituent
    if person is None:
        assert plan.new is not None
        if not plan.new.state:  # USPS addresses carry a state: the district's, else the office's
            home = plan.constituent_district.state if plan.constituent_district else ""
            plan.new = replace(plan.new, state=home or office.profile().state)
        person = constituents.create_constituent(
            plan.new,
            phones=[details.phone],
            emails=[details.email],
            district=plan.constituent_district,
            out_of_district=plan.out_of_district,
            author=user,
        )
    assert plan.case_district is not None and plan.category is not None
    return cases.open_case(
        constituent=person,
        header=cases.CaseHeader(
            subject=details.subject,
            description=details.description,
            category=plan.category,
            priority=Priority(details.priority),
            confidential=details.confidential,
            district=plan.case_district,
        ),
        channel=Channel(details.channel),
        release_needed=details.release_needed,
        opened_by=user,
    )
