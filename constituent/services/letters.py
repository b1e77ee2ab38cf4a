"""Letter templates and letters: sandboxed rendering of merge fields, validation on save."""

from __future__ import annotations

import operator
import re
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from flask import current_app, has_app_context
from jinja2 import StrictUndefined, nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.exceptions import (
    SecurityError,
    TemplateError,
    TemplateRuntimeError,
    TemplateSyntaxError,
    UndefinedError,
)
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import _PassArg, missing
from sqlalchemy.orm.exc import StaleDataError

from constituent.extensions import db
from constituent.models import (
    Agency,
    AgencyContact,
    Case,
    Constituent,
    EventKind,
    Letter,
    LetterKind,
    LetterTemplate,
    Referral,
    User,
    utcnow,
)
from constituent.services import addresses, audit, office, tags, timeline
from constituent.services.clock import office_date, office_today
from constituent.services.errors import Conflict, DomainError, must_exist

MAX_SUBJECT = 200
MAX_BODY_SOURCE = 20_000
# Defaults of the render budget (settings LETTER_RENDER_SECONDS and LETTER_RENDER_MAX_CHARS).
RENDER_SECONDS = 2.0
MAX_RENDERED = 50_000
KIND_LABELS = {
    LetterKind.AGENCY_INQUIRY: "Agency inquiry",
    LetterKind.ACKNOWLEDGEMENT: "Constituent acknowledgement",
    LetterKind.CLOSING: "Closing letter",
}

# Every merge field by group: (name, what it holds, sample value used to validate templates).
_MERGE_FIELD_GROUPS: dict[str, list[tuple[str, str, str]]] = {
    "constituent": [
        ("full_name", "Full name", "Margaret A. Example"),
        ("first_name", "First name", "Margaret"),
        ("last_name", "Last name", "Example"),
        ("street", "Street address", "12 Main Street"),
        ("street2", "Apartment, suite (may be empty)", "Apt 3"),
        ("city", "City or town", "Plattsburgh"),
        ("state", "State", "NY"),
        ("zip", "ZIP code (ZIP+4 when known)", "12901-1234"),
        (
            "address",
            "Mailing address, several lines",
            "12 Main Street\nApt 3\nPlattsburgh NY 12901-1234",
        ),
        ("email", "Email (may be empty)", "margaret@example.net"),
        ("phone", "Phone (may be empty)", "(518) 555-0199"),
    ],
    "case": [
        ("number", "Case number", "1042"),
        ("reference", "Case reference as staff write it", "C-1042"),
        (
            "tag",
            "The tag agencies quote in replies (office code, number, check)",
            "[NY21 C-1042 K7QXA]",
        ),
        ("subject", "Subject", "Retirement check stopped"),
        ("description", "Description", "Payment stopped after a change of address."),
        ("category", "Category", "Social Security"),
        ("opened_on", "Date opened", "March 2, 2026"),
        ("status", "Status", "Waiting on agency"),
    ],
    "agency": [
        ("name", "Agency name", "Social Security Administration"),
        ("acronym", "Agency acronym (may be empty)", "SSA"),
        ("contact_name", "Liaison's name", "Dana Whitfield"),
        ("contact_title", "Liaison's title", "Congressional Liaison"),
        ("contact_email", "Liaison's email", "liaison@ssa.example.gov"),
        ("contact_phone", "Liaison's phone", "(212) 555-0110"),
        ("reference_number", "Agency's reference number (from the referral)", "SSA-123456"),
        ("sent_on", "Date the referral was sent", "March 8, 2026"),
        ("due_on", "Date an answer is due", "April 7, 2026"),
    ],
    "staffer": [
        ("name", "Your name", "Casey Caseworker"),
        ("email", "Your email", "casey@office.example"),
        ("role", "Your role", "Caseworker"),
    ],
    "office": [
        ("name", "Office name", "Office of Rep. Jordan Avery"),
        ("legislator", "Legislator of the case's district", "Rep. Jordan Avery"),
        ("district", "District code", "NY-21"),
        ("district_name", "District name", "New York's 21st congressional district"),
        ("date", "Today's date", "March 9, 2026"),
    ],
}
# (group, name, what it holds, sample): the list the template form shows.
MERGE_FIELDS: list[tuple[str, str, str, str]] = [
    (group, *field) for group, rows in _MERGE_FIELD_GROUPS.items() for field in rows
]
MERGE_GROUPS = tuple(_MERGE_FIELD_GROUPS)


# ---------------------------------------------------------------------------------------
# The sandbox
# ---------------------------------------------------------------------------------------


class _TooLarge(TemplateRuntimeError):
    """An expression would produce an absurdly large value (a denial of service)."""


class _OverBudget(Exception):  # noqa: N818 - raised into template code, never caught there
    """The render ran out of its budget: ``kind`` is "time" or "size"."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


@dataclass(frozen=True)
class RenderBudget:
    """How long one subject or body may take to fill in, and how long it may come out."""

    seconds: float
    max_chars: int


def render_budget() -> RenderBudget:
    """The budget from the settings (defaults outside an application)."""
    if not has_app_context():
        return _DEFAULT_BUDGET
    cfg = current_app.config
    return RenderBudget(
        float(cfg.get("LETTER_RENDER_SECONDS", RENDER_SECONDS)),
        int(cfg.get("LETTER_RENDER_MAX_CHARS", MAX_RENDERED)),
    )


_DEFAULT_BUDGET = RenderBudget(RENDER_SECONDS, MAX_RENDERED)
_BUDGET: ContextVar[RenderBudget] = ContextVar("letter_budget", default=_DEFAULT_BUDGET)


def _limit() -> int:
    return _BUDGET.get().max_chars


def _check_size(value: Any) -> Any:
    if isinstance(value, str | list | tuple) and len(value) > _limit():
        raise _OverBudget("size")
    return value


@contextmanager
def _deadline(seconds: float) -> Iterator[None]:
    """Raise _OverBudget("time") inside the template's own code once ``seconds`` have passed.

    Every line the compiled template runs (each turn of every loop included) is traced in this
    thread only; so is every call it makes, so a long C call is caught as soon as it returns.
    """
    deadline = time.monotonic() + seconds
    previous = sys.gettrace()

    def in_template(frame: Any, event: str, arg: Any) -> Any:
        if time.monotonic() > deadline:
            raise _OverBudget("time")
        return in_template

    def on_call(frame: Any, event: str, arg: Any) -> Any:
        if time.monotonic() > deadline:
            raise _OverBudget("time")
        return in_template if frame.f_code.co_filename == "<template>" else None

    sys.settrace(on_call)
    try:
        yield
    finally:
        sys.settrace(previous)


_WIDE_FIELD = re.compile(r"\d{6,}")


def _growth(name: str, value: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> int:
    """A bound on what a string-growing filter or method could produce, before it runs."""
    params = [*args, *kwargs.values()]
    ints = [abs(a) for a in params if isinstance(a, int) and not isinstance(a, bool)]
    strs = [len(a) for a in params if isinstance(a, str)]
    size = len(value) if isinstance(value, str | list | tuple) else 0
    lines = value.count("\n") + value.count("\t") + 1 if isinstance(value, str) else 1
    widest = max([*ints, *strs, 0])
    if name in {"format", "format_map"} and isinstance(value, str) and _WIDE_FIELD.search(value):
        return sys.maxsize  # a field width or precision of a million characters or more
    if name in {"center", "ljust", "rjust", "zfill", "truncate", "wordcount", "format"}:
        return max(size, widest)
    if name in {"indent", "expandtabs"}:
        return size + widest * lines
    if name in {"replace", "join", "wordwrap", "format_map"}:
        return size + widest * (size + 1)
    return max(ints, default=0)


class _FieldGroup(dict):  # type: ignore[type-arg]
    """A group of merge fields (``case``, ``agency`` ...): keys only, no dict methods."""

    __slots__ = ("group", "unavailable")

    def __init__(self, group: str, values: dict[str, str], unavailable: str | None = None):
        super().__init__(values)
        self.group = group
        self.unavailable = unavailable


class _MergeUndefined(StrictUndefined):
    """Any use of a missing name fails, with the message naming the merge field."""

    __slots__ = ()

    def __init__(
        self,
        hint: str | None = None,
        obj: Any = missing,
        name: str | None = None,
        exc: type[TemplateRuntimeError] = UndefinedError,
    ) -> None:
        if hint is None and name is not None and exc is UndefinedError:
            if isinstance(obj, _FieldGroup):
                hint = obj.unavailable or f"Unknown merge field: {obj.group}.{name}"
            else:
                hint = f"Unknown merge field: {name}"
        super().__init__(hint, obj, name, exc)


class _LetterEnvironment(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox, strict about unknown names and bounded in output size."""

    intercepted_binops = frozenset({"*", "**", "+"})

    def getattr(self, obj: Any, attribute: str) -> Any:
        if isinstance(obj, _FieldGroup):
            return self._field(obj, attribute)
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        if isinstance(obj, _FieldGroup) and isinstance(argument, str):
            return self._field(obj, argument)
        return super().getitem(obj, argument)

    def _field(self, group: _FieldGroup, name: str) -> Any:
        if name.startswith("_"):
            return self.unsafe_undefined(group, name)
        if group.unavailable is None and name in group:
            return group[name]
        return self.undefined(obj=group, name=name)

    def call_binop(self, context: Any, op: str, left: Any, right: Any) -> Any:
        if op == "**" and isinstance(right, int | float) and abs(right) > 64:
            raise _TooLarge("the exponent is too large for a letter")
        if op == "*":
            for seq, n in ((left, right), (right, left)):
                if (
                    isinstance(seq, str | list | tuple)
                    and isinstance(n, int)
                    and len(seq) * n > _limit()
                ):
                    raise _OverBudget("size")
        if op == "+":
            return _check_size(operator.add(left, right))
        return {"*": operator.mul, "**": operator.pow}[op](left, right)

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        """Calls from a template: string methods that grow text are bounded before they run."""
        owner = getattr(__obj, "__self__", None)
        if isinstance(owner, str) and _growth(__obj.__name__, owner, args, kwargs) > _limit():
            raise _OverBudget("size")
        return _check_size(super().call(__context, __obj, *args, **kwargs))

    def bounded_join(self, parts: tuple[Any, ...]) -> str:
        """The ``~`` operator, refusing a result over the budget before building it."""
        texts = [str(p) for p in parts]
        if sum(map(len, texts)) > _limit():
            raise _OverBudget("size")
        return "".join(texts)


class _LetterCodeGenerator(CodeGenerator):
    """Compiles ``a ~ b`` to the environment's bounded join (Jinja's own join is unbounded)."""

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.bounded_join((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")


def _guarded_filter(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    """A filter whose output is bounded: growth checked before it runs, size after."""
    skip = 1 if _PassArg.from_obj(func) is not None else 0

    def guarded(*args: Any, **kwargs: Any) -> Any:
        value, rest = args[skip] if len(args) > skip else None, args[skip + 1 :]
        if _growth(name, value, rest, kwargs) > _limit():
            raise _OverBudget("size")
        return _check_size(func(*args, **kwargs))

    guarded.__dict__.update(getattr(func, "__dict__", {}))  # keeps pass_context markers
    return guarded


_LetterEnvironment.code_generator_class = _LetterCodeGenerator
_ENV = _LetterEnvironment(undefined=_MergeUndefined, autoescape=False, keep_trailing_newline=False)
_ENV.filters = {name: _guarded_filter(name, f) for name, f in _ENV.filters.items()}
# Lorem ipsum has no place in a letter, and its arguments make arbitrarily much text.
_ENV.globals.pop("lipsum", None)


def _compile(source: str, field: str, label: str) -> Any:
    try:
        return _ENV.from_string(source)
    except TemplateSyntaxError as exc:
        raise DomainError(
            f"The {label} does not compile: line {exc.lineno}: {exc.message}", field=field
        ) from exc


def _generate(template: Any, fields: dict[str, _FieldGroup], budget: RenderBudget) -> str:
    """Fill in within the budget: output is counted as it comes, never built past the limit."""
    token = _BUDGET.set(budget)
    pieces: list[str] = []
    size = 0
    try:
        with _deadline(budget.seconds):
            for piece in template.generate(**fields):
                size += len(piece)
                if size > budget.max_chars:
                    raise _OverBudget("size")
                pieces.append(piece)
    finally:
        _BUDGET.reset(token)
    return "".join(pieces)


def _render(source: str, fields: dict[str, _FieldGroup], field: str, label: str) -> str:
    template = _compile(source, field, label)
    budget = render_budget()
    try:
        text = _generate(template, fields, budget)
    except _OverBudget as exc:
        if exc.kind == "time":
            raise DomainError(
                f"The {label} takes longer than {budget.seconds:g} seconds to fill in, so it "
                "was stopped. Look for a loop that runs too many times.",
                field=field,
            ) from None
        raise DomainError(
            f"The {label} comes out longer than {budget.max_chars:,} characters (or builds "
            "text that long on the way), so it was stopped.",
            field=field,
        ) from None
    except SecurityError as exc:
        raise DomainError(
            f"The {label} was refused: letter templates may use merge fields only, never "
            f"Python internals ({exc}). Use the merge fields listed on this page.",
            field=field,
        ) from exc
    except UndefinedError as exc:
        raise DomainError(f"The {label} cannot be filled in: {exc.message}", field=field) from exc
    except TemplateError as exc:
        raise DomainError(f"The {label} cannot be filled in: {exc.message}", field=field) from exc
    except (
        ArithmeticError,
        TypeError,
        ValueError,
        LookupError,
        OverflowError,
        RecursionError,
    ) as exc:
        raise DomainError(
            f"The {label} cannot be filled in: {type(exc).__name__}: {exc}", field=field
        ) from exc
    return text


# ---------------------------------------------------------------------------------------
# Merge fields (plain values only: no ORM object ever reaches a user-edited template)
# ---------------------------------------------------------------------------------------


def _config(key: str, default: str) -> str:
    return str(current_app.config.get(key, default)) if has_app_context() else default


def long_date(value: date | datetime | None) -> str:
    """A date as letters write it: 'March 2, 2026' (a datetime in the office's time zone)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = office_date(value)
    return f"{value:%B} {value.day}, {value.year}"


def sample_fields() -> dict[str, dict[str, str]]:
    """The sample values templates are checked against on save (and previewed with)."""
    out: dict[str, dict[str, str]] = {g: {} for g in MERGE_GROUPS}
    for group, name, _label, sample in MERGE_FIELDS:
        out[group][name] = sample
    out["case"]["tag"] = tags.case_tag(int(out["case"]["number"]))
    return out


def _constituent_fields(person: Constituent) -> dict[str, str]:
    """The ``constituent`` group: name, address and first phone and email."""
    phones = [c.value for c in person.contact_points if c.kind.value == "phone"]
    emails = [c.value for c in person.contact_points if c.kind.value == "email"]
    lines = addresses.address_lines(
        person.street, person.street2, person.city, person.state, person.zip5, person.zip4
    )
    return {
        "full_name": person.full_name,
        "first_name": person.first_name,
        "last_name": person.last_name,
        "street": person.street or "",
        "street2": person.street2 or "",
        "city": person.city or "",
        "state": person.state or "",
        "zip": addresses.zip_code(person.zip5, person.zip4),
        "address": "\n".join(lines),
        "email": emails[0] if emails else "",
        "phone": phones[0] if phones else "",
    }


def _agency_fields(referral: Referral | None, contact: AgencyContact | None) -> dict[str, str]:
    """The ``agency`` group: from the referral when given, else from the contact, else empty."""
    if referral is not None:
        contact = referral.contact
        agency: Agency | None = referral.agency
    else:
        agency = contact.agency if contact is not None else None
    if agency is None:
        return {}
    return {
        "name": agency.name,
        "acronym": agency.acronym or "",
        "contact_name": contact.name if contact else "",
        "contact_title": (contact.title or "") if contact else "",
        "contact_email": (contact.email or "") if contact else "",
        "contact_phone": (contact.phone or "") if contact else "",
        "reference_number": (referral.reference_number or "") if referral else "",
        "sent_on": long_date(referral.sent_on) if referral else "",
        "due_on": long_date(referral.due_on) if referral else "",
    }


def merge_fields(
    case: Case,
    user: User,
    referral: Referral | None = None,
    contact: AgencyContact | None = None,
    today: date | None = None,
) -> dict[str, dict[str, str]]:
    """The merge fields for a letter on ``case``, as plain dicts of strings.

    The agency comes from the referral when one is given, else from the chosen contact;
    without either, the ``agency`` group is empty.
    """
    prefix = _config("CASE_PREFIX", "C-")
    district = case.district
    return {
        "constituent": _constituent_fields(case.constituent),
        "case": {
            "number": str(case.number),
            "reference": f"{prefix}{case.number}",
            "tag": tags.case_tag(case.number),
            "subject": case.subject,
            "description": case.description or "",
            "category": case.category.name,
            "opened_on": long_date(case.opened_at),
            "status": case.status.label,
        },
        "agency": _agency_fields(referral, contact),
        "staffer": {"name": user.full_name, "email": user.email, "role": user.role.label},
        "office": {
            "name": office.profile().name,
            "legislator": district.legislator_name or "",
            "district": district.code,
            "district_name": district.name,
            "date": long_date(today or office_today()),
        },
    }


def _groups(fields: dict[str, dict[str, str]]) -> dict[str, _FieldGroup]:
    groups = {}
    for name in MERGE_GROUPS:
        values = {k: str(v) for k, v in fields.get(name, {}).items()}
        unavailable = None
        if name == "agency" and not values:
            unavailable = (
                "This template uses agency fields: choose an agency contact or a "
                "referral for the letter."
            )
        groups[name] = _FieldGroup(name, values, unavailable)
    return groups


@dataclass
class RenderedLetter:
    """A letter filled in but not yet recorded."""

    subject: str
    body: str


def fill(subject: str, body: str, fields: dict[str, dict[str, str]]) -> RenderedLetter:
    """Render a subject and body with these merge fields in the sandbox (DomainError if not)."""
    groups = _groups(fields)
    rendered_subject = " ".join(_render(subject, groups, "subject", "subject").split())
    rendered_subject = _office_tag(rendered_subject, fields)
    if len(rendered_subject) > MAX_SUBJECT:
        raise DomainError(
            f"The subject comes out longer than {MAX_SUBJECT} characters.", field="subject"
        )
    rendered_body = _office_tag(_render(body, groups, "body", "letter body").strip("\n"), fields)
    return RenderedLetter(subject=rendered_subject, body=rendered_body)


def _office_tag(text: str, fields: dict[str, dict[str, str]]) -> str:
    """A template written before office tags says [Case #{{ case.number }}]: the letter
    carries the office tag instead, so the agency's reply can be filed here and nowhere else."""
    case = fields.get("case") or {}
    number, tag = case.get("number", ""), case.get("tag", "")
    if not number.isascii() or not number.isdigit() or not tag:
        return text
    return tags.rewrite_legacy(text, int(number), tag)


# ---------------------------------------------------------------------------------------
# Templates
# ---------------------------------------------------------------------------------------


@dataclass
class TemplateData:
    """The editable fields of a letter template."""

    name: str
    kind: LetterKind | str
    subject: str
    body: str


def list_templates(active_only: bool = False) -> list[LetterTemplate]:
    """Letter templates by kind and name."""
    stmt = sa.select(LetterTemplate).order_by(LetterTemplate.kind, LetterTemplate.name)
    if active_only:
        stmt = stmt.where(LetterTemplate.active.is_(True))
    return list(db.session.scalars(stmt))


def get_template(template_id: int) -> LetterTemplate:
    """The template with this id, or NotFound."""
    return must_exist(
        db.session.get(LetterTemplate, template_id), "No letter template with that id."
    )


def validate_template(data: TemplateData) -> RenderedLetter:
    """Check a template as it would be saved: it compiles, and fills in with sample data.

    An agency inquiry's subject must carry the case tag so agencies' replies are filed on
    the case. Returns the sample rendering (the preview).
    """
    name = (data.name or "").strip()
    if not name:
        raise DomainError("Enter a name for the template.", field="name")
    if len(name) > 120:
        raise DomainError("The name is longer than 120 characters.", field="name")
    try:
        kind = LetterKind(data.kind)
    except ValueError as exc:
        raise DomainError("Choose what kind of letter this is.", field="kind") from exc
    subject = (data.subject or "").strip()
    if not subject:
        raise DomainError("Enter a subject.", field="subject")
    if len(subject) > MAX_SUBJECT:
        raise DomainError(f"The subject is longer than {MAX_SUBJECT} characters.", field="subject")
    if not (data.body or "").strip():
        raise DomainError("Enter the letter's text.", field="body")
    if len(data.body) > MAX_BODY_SOURCE:
        raise DomainError(
            f"The letter's text is longer than {MAX_BODY_SOURCE:,} characters.", field="body"
        )
    sample = sample_fields()
    rendered = fill(subject, data.body, sample)
    if kind == LetterKind.AGENCY_INQUIRY:
        if sample["case"]["tag"] not in rendered.subject:
            raise DomainError(
                "An agency inquiry's subject must carry the case tag, written "
                "{{ case.tag }}, so that the agency's reply is filed on the case.",
                field="subject",
            )
    return rendered


def _template_values(template: LetterTemplate) -> dict[str, str]:
    return {
        "Name": template.name,
        "Kind": KIND_LABELS[template.kind],
        "Subject": template.subject,
        "Text": template.body,
    }


def _name_taken(name: str, except_id: int | None = None) -> bool:
    stmt = sa.select(LetterTemplate.id).where(sa.func.lower(LetterTemplate.name) == name.lower())
    if except_id is not None:
        stmt = stmt.where(LetterTemplate.id != except_id)
    return db.session.scalar(stmt) is not None


def create_template(data: TemplateData, user: User | None = None) -> LetterTemplate:
    """Save a new template once it compiles and fills in with sample data."""
    validate_template(data)
    name = data.name.strip()
    if _name_taken(name):
        raise DomainError(f"A template named {name!r} already exists.", field="name")
    template = LetterTemplate(
        name=name,
        kind=LetterKind(data.kind),
        subject=data.subject.strip(),
        body=data.body,
        updated_by_id=user.id if user else None,
    )
    db.session.add(template)
    db.session.flush()
    audit.record("letter_template_created", "letter_template", template.id, detail=name, user=user)
    return template


def update_template(
    template: LetterTemplate,
    data: TemplateData,
    expected_version: int,
    user: User | None = None,
) -> LetterTemplate:
    """Save an edit made on ``expected_version``; Conflict if someone saved since."""
    if template.version != expected_version:
        try:
            kind_label = KIND_LABELS[LetterKind(data.kind)]
        except ValueError:
            kind_label = str(data.kind)
        entered = {
            "Name": (data.name or "").strip(),
            "Kind": kind_label,
            "Subject": (data.subject or "").strip(),
            "Text": data.body or "",
        }
        saved = _template_values(template)
        raise Conflict(
            f"The template {template.name!r} was changed by someone else after you opened "
            "it. Nothing you entered was saved.",
            changes=[(k, saved[k], entered[k]) for k in saved if saved[k] != entered[k]],
        )
    validate_template(data)
    name = data.name.strip()
    if _name_taken(name, except_id=template.id):
        raise DomainError(f"A template named {name!r} already exists.", field="name")
    template.name, template.kind = name, LetterKind(data.kind)
    template.subject, template.body = data.subject.strip(), data.body
    template.updated_by_id = user.id if user else None
    template.updated_at = utcnow()
    try:
        db.session.flush()
    except StaleDataError as exc:
        raise Conflict(
            "The template was changed by someone else while you saved. Nothing "
            "you entered was saved."
        ) from exc
    audit.record("letter_template_updated", "letter_template", template.id, detail=name, user=user)
    return template


def set_template_active(
    template: LetterTemplate, active: bool, user: User | None = None
) -> LetterTemplate:
    """Retire a template (no longer offered) or bring it back."""
    if template.active != active:
        template.active = active
        template.updated_at = utcnow()
        db.session.flush()
        audit.activity("letter_template", template.id, active, template.name, user=user)
    return template


# ---------------------------------------------------------------------------------------
# Letters
# ---------------------------------------------------------------------------------------


def _check_sources(case: Case, referral: Referral | None, contact: AgencyContact | None) -> None:
    if referral is not None and referral.case_id != case.id:
        raise DomainError("That referral belongs to another case.", field="referral_id")
    if contact is not None and referral is None and not (contact.active and contact.agency.active):
        raise DomainError(
            f"{contact.name} is no longer an active agency contact.", field="contact_id"
        )


def preview_letter(
    template: LetterTemplate,
    case: Case,
    user: User,
    referral: Referral | None = None,
    contact: AgencyContact | None = None,
) -> RenderedLetter:
    """Fill a template for a case without recording anything."""
    _check_sources(case, referral, contact)
    return fill(
        template.subject,
        template.body,
        merge_fields(case, user, referral=referral, contact=contact),
    )


def render_letter(
    template: LetterTemplate,
    case: Case,
    user: User,
    referral: Referral | None = None,
    contact: AgencyContact | None = None,
) -> Letter:
    """Fill a template for a case and record the letter, on the timeline and in the audit."""
    if not template.active:
        raise DomainError(f"The template {template.name!r} has been retired.", field="template_id")
    rendered = preview_letter(template, case, user, referral=referral, contact=contact)
    letter = Letter(
        case_id=case.id,
        template_id=template.id,
        referral_id=referral.id if referral else None,
        subject=rendered.subject,
        body=rendered.body,
        created_by_id=user.id,
        created_at=utcnow(),
    )
    db.session.add(letter)
    db.session.flush()
    agency = referral.agency if referral else contact.agency if contact else None
    timeline.add_event(
        case,
        EventKind.LETTER,
        f"Letter printed: {template.name} — {rendered.subject}",
        author=user,
        data={
            "letter_id": letter.id,
            "template_id": template.id,
            "referral_id": referral.id if referral else None,
            "agency_id": agency.id if agency else None,
        },
    )
    audit.record(
        "letter_printed",
        "letter",
        letter.id,
        detail=f"case {case.number}, template {template.name}",
        user=user,
    )
    return letter


def get_letter(letter_id: int) -> Letter:
    """The letter with this id, or NotFound (the caller checks access to its case)."""
    return must_exist(
        db.session.get(Letter, letter_id), "No letter with that number is available to you."
    )


def letters_for(case: Case) -> list[Letter]:
    """The letters recorded on a case, newest first."""
    return list(
        db.session.scalars(
            sa.select(Letter)
            .where(Letter.case_id == case.id)
            .order_by(Letter.created_at.desc(), Letter.id.desc())
        )
    )
