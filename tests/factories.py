"""Plain factories for test data: gen_x(**overrides) → a flushed model."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass
from datetime import datetime

from constituent.extensions import db
from constituent.models import (
    Case,
    Category,
    Channel,
    Constituent,
    ContactKind,
    ContactPoint,
    District,
    InboundMessage,
    InboundStatus,
    Priority,
    Role,
    User,
    ZipDistrict,
    utcnow,
)
from constituent.services import auth, normalize
from constituent.services.cases import next_case_number

PASSWORD = "correct horse battery staple"
_seq = itertools.count(1)


def gen_district(code: str = "NY-21", name: str | None = None) -> District:
    district = District(code=code, name=name or f"District {code}", state=code[:2])
    db.session.add(district)
    db.session.flush()
    return district


def gen_user(
    role: Role = Role.CASEWORKER,
    districts: list[District] | None = None,
    email: str | None = None,
    password: str = PASSWORD,
    **kw,
) -> User:
    user = User(
        email=email or f"{role.value}{next(_seq)}@test.example",
        full_name=kw.pop("full_name", f"Test {role.value.title()}"),
        role=role,
        password_hash=auth.hash_password(password),
        districts=districts or [],
        **kw,
    )
    db.session.add(user)
    db.session.flush()
    return user


def gen_category(name: str = "Social Security") -> Category:
    slug = name.lower().replace(" ", "-").replace("/", "-")
    category = Category(name=name, slug=slug)
    db.session.add(category)
    db.session.flush()
    return category


def gen_constituent(
    district: District | None = None,
    first: str = "Margaret",
    last: str = "Example",
    phone: str | None = None,
    email: str | None = None,
    zip5: str = "12901",
    **kw,
) -> Constituent:
    person = Constituent(
        first_name=first,
        last_name=last,
        first_name_key=normalize.name_key(first),
        last_name_key=normalize.name_key(last),
        zip5=zip5,
        district=district,
        street=kw.pop("street", "12 Main Street"),
        city=kw.pop("city", "Plattsburgh"),
        state="NY",
        **kw,
    )
    if phone:
        person.contact_points.append(
            ContactPoint(
                kind=ContactKind.PHONE,
                value=phone,
                normalized=normalize.phone_e164(phone) or phone,
                is_primary=True,
            )
        )
    if email:
        person.contact_points.append(
            ContactPoint(kind=ContactKind.EMAIL, value=email, normalized=normalize.email_key(email))
        )
    person.street_key = normalize.street_key(person.street)
    db.session.add(person)
    db.session.flush()
    return person


def gen_case(
    district: District,
    category: Category,
    constituent: Constituent | None = None,
    opened_by: User | None = None,
    assignee: User | None = None,
    confidential: bool = False,
    opened_at: datetime | None = None,
    **kw,
) -> Case:
    number = kw.pop("number", None)
    case = Case(
        # The real allocator, so factory cases never collide with cases opened by the app.
        number=number if number is not None else next_case_number(),
        constituent=constituent or gen_constituent(district),
        district=district,
        category=category,
        subject=kw.pop("subject", "Retirement check stopped"),
        description=kw.pop("description", "Payment stopped after a change of address."),
        channel=kw.pop("channel", Channel.PHONE),
        priority=kw.pop("priority", Priority.ROUTINE),
        confidential=confidential,
        opened_by=opened_by,
        assignee=assignee,
        opened_at=opened_at or utcnow(),
        **kw,
    )
    db.session.add(case)
    db.session.flush()
    return case


def gen_zip(zip5: str, *codes: str) -> None:
    for code in codes:
        db.session.add(ZipDistrict(zip5=zip5, district_code=code, state=code[:2]))
    db.session.flush()


@dataclass
class Office:
    a: District
    b: District
    category: Category
    intake: User
    caseworker: User
    supervisor: User
    legislator: User
    admin: User
    other_caseworker: User  # in district B only

    def user(self, role: Role) -> User:
        return {
            Role.INTAKE: self.intake,
            Role.CASEWORKER: self.caseworker,
            Role.SUPERVISOR: self.supervisor,
            Role.LEGISLATOR: self.legislator,
            Role.ADMIN: self.admin,
        }[role]


def make_office() -> Office:
    a, b = gen_district("NY-21"), gen_district("NY-20")
    category = gen_category()
    office = Office(
        a=a,
        b=b,
        category=category,
        intake=gen_user(Role.INTAKE, [a], email="intake@test.example"),
        caseworker=gen_user(Role.CASEWORKER, [a], email="caseworker@test.example"),
        supervisor=gen_user(Role.SUPERVISOR, [a], email="supervisor@test.example"),
        legislator=gen_user(Role.LEGISLATOR, [a], email="legislator@test.example"),
        admin=gen_user(Role.ADMIN, [a], email="admin@test.example"),
        other_caseworker=gen_user(Role.CASEWORKER, [b], email="other@test.example"),
    )
    db.session.commit()
    return office


def gen_message(
    subject: str = "Help with my pension",
    body: str = "My pension stopped.",
    *,
    case_id: int | None = None,
    sender: str = "resident@example.org",
) -> InboundMessage:
    """An incoming email: unfiled (in the queue), or filed on ``case_id``."""
    message = InboundMessage(
        sha256=uuid.uuid4().hex * 2,  # any 64 hex digits no real message has
        sender=sender,
        subject=subject,
        body_text=body,
        status=InboundStatus.FILED if case_id else InboundStatus.UNFILED,
        case_id=case_id,
    )
    db.session.add(message)
    db.session.flush()
    return message
