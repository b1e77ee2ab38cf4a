"""Seed a realistic demo office: NY districts, staff, agencies, constituents and cases."""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from faker import Faker

from constituent.extensions import db
from constituent.models import (
    Agency,
    AgencyContact,
    AgencyLevel,
    AgencyResponse,
    Case,
    CaseInterval,
    CaseStatus,
    Category,
    Channel,
    Constituent,
    ContactPoint,
    Counter,
    District,
    FollowUp,
    LetterKind,
    LetterTemplate,
    Outcome,
    PrivacyRelease,
    Referral,
    ReferralStatus,
    ReleaseState,
    Role,
    RoutingRule,
    TimelineEvent,
    User,
    ZipDistrict,
)
from constituent.models.releases import privacy_release_agencies
from constituent.services import auth, catalog, districts, normalize, office, public_demo
from constituent.services import categories as category_service
from constituent.services.clock import office_date

STATE = "NY"
DEMO_OFFICE_NAME = "Office of Representative Jordan Avery"
DEMO_DISTRICTS = [
    ("NY-20", "New York's 20th congressional district", "Rep. Jordan Avery"),
    ("NY-21", "New York's 21st congressional district", "Rep. Jordan Avery"),
    ("NY-22", "New York's 22nd congressional district", "Rep. Jordan Avery"),
]
DEMO_USERS = [
    ("intake@demo.example", "Riley Intake", Role.INTAKE),
    ("caseworker@demo.example", "Casey Caseworker", Role.CASEWORKER),
    ("supervisor@demo.example", "Sam Supervisor", Role.SUPERVISOR),
    ("legislator@demo.example", "Jordan Avery", Role.LEGISLATOR),
    ("admin@demo.example", "Alex Admin", Role.ADMIN),
]
BASE_CONSTITUENTS = 300
BASE_CASES = 400

# Per category: (subject, description) templates. {agency} and {name} are filled in.
CASE_TEXTS: dict[str, list[tuple[str, str]]] = {
    "Social Security": [
        (
            "Retirement check stopped",
            "Caller's Social Security retirement payment stopped after she reported a change of address. No notice received. Rent due on the first.",
        ),
        (
            "SSDI application delayed",
            "Disability claim filed eleven months ago; reconsideration pending. Caller cannot work after back surgery and is behind on bills.",
        ),
        (
            "Survivor benefits after spouse died",
            "Widow applied for survivor benefits after her husband passed away; the field office asked for a marriage certificate she already sent twice.",
        ),
        (
            "SSI overpayment notice",
            "Caller received an overpayment notice for SSI and wants a waiver; says she reported her income every month.",
        ),
    ],
    "Veterans": [
        (
            "VA pension stopped",
            "The woman's VA pension stopped after her husband died; she does not know whether she qualifies for survivors pension (DIC).",
        ),
        (
            "Disability claim pending",
            "Army veteran with PTSD filed a disability compensation claim; it has been in gathering-evidence status for seven months.",
        ),
        (
            "Military records for burial",
            "Family needs the DD-214 of a Korea-era veteran for burial honors at the national cemetery next week.",
        ),
        (
            "VA health care enrollment",
            "Veteran moved from Ohio and cannot get an appointment at the Albany VA medical center; enrollment shows as pending.",
        ),
    ],
    "Immigration": [
        (
            "Green card renewal delayed",
            "I-90 filed ten months ago; the receipt notice extension expires next month and the caller needs proof of status for a new job.",
        ),
        (
            "Naturalization interview scheduling",
            "N-400 filed over a year ago; biometrics done, no interview scheduled.",
        ),
        (
            "Visa for parent's visit",
            "Caller's mother was refused a visitor visa; caller asks what documents would help a new application.",
        ),
    ],
    "IRS": [
        (
            "Refund held for identity verification",
            "The tax refund has been held since April; caller verified identity online but status has not changed.",
        ),
        (
            "Notice of levy",
            "Caller received a levy notice for a balance he says was paid under an installment agreement.",
        ),
        (
            "Amended return not processed",
            "Amended return filed 14 months ago; caller needs the refund for medical bills.",
        ),
    ],
    "Medicare/Medicaid": [
        (
            "Medicaid renewal lost",
            "Caller's Medicaid coverage ended after the renewal packet was lost in the mail; insulin refill is due.",
        ),
        (
            "Medicare Part D coverage denial",
            "Prescription plan denied coverage of a heart medication; pharmacy asked for a prior authorization that the doctor already sent.",
        ),
        (
            "Medicare premium overbilled",
            "Medicare Part B premium deducted twice from the Social Security check for three months.",
        ),
    ],
    "Housing": [
        (
            "Eviction notice",
            "Tenant received an eviction notice after the landlord refused her Section 8 voucher payment; court date in two weeks.",
        ),
        (
            "Section 8 voucher transfer",
            "Family needs to transfer a housing choice voucher to another county to be near a child's school.",
        ),
        (
            "Unsafe conditions in public housing",
            "No heat in the apartment for nine days; the housing authority has not answered repair requests.",
        ),
    ],
    "Unemployment": [
        (
            "Unemployment claim on hold",
            "Claim held for identity verification for six weeks; caller was laid off from the paper mill.",
        ),
        (
            "Overpayment appeal",
            "Caller was told she owes back benefits; the appeal hearing was postponed twice.",
        ),
    ],
    "Passports": [
        (
            "Passport needed for urgent travel",
            "Caller's mother is dying in Ireland; the passport application has been in process for seven weeks and travel is in ten days.",
        ),
        (
            "Lost passport application",
            "Application mailed with original birth certificate; no record at the passport agency after eight weeks.",
        ),
    ],
    "Child welfare": [
        (
            "Child protective services case",
            "Grandmother caring for two grandchildren asks for help reaching the CPS caseworker about a kinship placement.",
        ),
        (
            "Foster care payments delayed",
            "Foster parent has not received board payments for three months.",
        ),
    ],
    "Substance use": [
        (
            "Treatment bed needed",
            "Mother says her son needs a detox and treatment bed; every facility she called has a waiting list.",
        ),
        (
            "Recovery housing",
            "Caller leaving inpatient treatment next week needs a recovery residence near Watertown.",
        ),
    ],
    "Domestic violence": [
        (
            "Shelter placement",
            "Caller fleeing an abusive partner needs shelter for herself and two children tonight.",
        ),
        (
            "Protective order and housing",
            "Survivor needs help with an emergency housing transfer after a protective order.",
        ),
    ],
    "Health care": [
        (
            "Hospital bill after insurance denial",
            "Insurer denied an emergency surgery claim; the hospital sent the bill to collections.",
        ),
        (
            "Food assistance and medical diet",
            "Senior on a renal diet asks for food bank delivery and help with a prescription copay.",
        ),
    ],
    "Utilities": [
        (
            "Heat shut-off notice",
            "National Grid sent a shut-off notice in January; caller applied for HEAP and is waiting.",
        ),
        (
            "Billing dispute",
            "Electric bill tripled after a meter replacement; the utility will not review the estimate.",
        ),
    ],
    "Federal retirement": [
        (
            "OPM annuity not started",
            "Retired postal worker has received only interim payments for eight months since retiring.",
        ),
        (
            "Survivor annuity after husband's death",
            "Widow of a federal employee applied for survivor annuity; OPM has not acknowledged the application.",
        ),
    ],
    "Mail delivery": [
        (
            "Mail not delivered for two weeks",
            "Rural route residents report no mail delivery for two weeks, including medication by mail.",
        ),
        ("Lost certified mail", "Certified letter with court documents never arrived."),
    ],
    "Disaster assistance": [
        (
            "FEMA flood claim denied",
            "Homeowner's FEMA application after the spring flooding was denied for insufficient damage.",
        ),
    ],
    "Student aid": [
        (
            "Public service loan forgiveness",
            "Teacher with ten years of qualifying payments was denied PSLF; servicer miscounted payments.",
        ),
    ],
    "Small business": [
        (
            "Disaster loan paperwork",
            "Owner of a diner damaged by flooding needs help with SBA disaster loan paperwork.",
        ),
    ],
    "Labor": [
        ("Unpaid wages", "Farmworker says the employer withheld the last four weeks of wages."),
    ],
    "Motor vehicles": [
        (
            "Licence suspended in error",
            "Caller's driver licence shows suspended for an insurance lapse; he has proof of continuous coverage.",
        ),
    ],
}

NOTE_TEXTS = [
    "Called the constituent back; confirmed details and the best time to reach her.",
    "Left a voicemail asking the constituent to send a copy of the notice.",
    "Constituent dropped off copies of the letters at the district office.",
    "Spoke with the {agency} liaison; they will look into it and call back within two weeks.",
    "Sent the inquiry to {agency} with the signed privacy release attached.",
    "{agency} acknowledged the inquiry and assigned it to a caseworker.",
    "Constituent called: still no payment. Explained that we are waiting on {agency}.",
    "Followed up with {agency} by email; no answer yet.",
    "Constituent emailed a scan of the denial letter.",
    "Reviewed the file with the supervisor; next step is a second inquiry.",
    "{agency} says the file was transferred to another office; asked for the new contact.",
    "Constituent reports the problem is getting worse and asks for an update.",
]
RESPONSE_TEXTS = [
    "Thank you for your inquiry on behalf of your constituent. Our records show the issue has been corrected and payment will be issued within 10 business days.",
    "We have reviewed the file. Additional documentation is required: please ask the constituent to submit proof of residence.",
    "After review, the decision stands. The constituent may file an appeal within 60 days of the date of the notice.",
    "The application is pending review by a senior adjudicator. We expect a decision within 30 days.",
]


@dataclass
class SeedResult:
    credentials: list[tuple[str, str, str]] = field(default_factory=list)
    constituents: int = 0
    cases: int = 0
    events: int = 0


def is_seeded() -> bool:
    return (db.session.scalar(sa.select(sa.func.count()).select_from(Case)) or 0) > 0


def _next_id(model: type[Any]) -> int:
    return int(db.session.scalar(sa.select(sa.func.max(model.id))) or 0) + 1


def seed(
    scale: int = 1,
    zip_csv: Path | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    seed_value: int = 2026,
    now: datetime | None = None,
) -> SeedResult:
    """Seed the office. Reference data is created once; people and cases ``scale`` times over.

    Never commits; the caller does. ``progress(stage, done, total)`` reports long stages.
    """
    # Repeatable demo data, not secrets.
    rng = random.Random(seed_value + scale)  # nosec B311
    fake = Faker("en_US")
    fake.seed_instance(seed_value + scale)
    now = now or datetime.now(UTC)
    result = SeedResult()

    _ensure_office()
    served = _ensure_districts()
    if db.session.scalar(sa.select(sa.func.count()).select_from(ZipDistrict)) == 0:
        path = zip_csv or Path(__file__).resolve().parent.parent / "data" / "zccd.csv"
        with open(path, newline="", encoding="utf-8") as fh:
            districts.import_zip_table(fh, states={STATE})
    categories = _ensure_categories()
    agencies = _ensure_agencies(categories)
    _ensure_routing_rules(categories, agencies)
    _ensure_letter_templates()
    public_demo.ensure_public_form(office.profile().legislator or DEMO_OFFICE_NAME)
    staff, result.credentials = _ensure_users(served, fake)
    db.session.flush()

    result.constituents, people = _seed_constituents(
        BASE_CONSTITUENTS * scale, served, rng, fake, now, progress
    )
    counts = _seed_cases(
        BASE_CASES * scale, people, served, categories, agencies, staff, rng, now, progress
    )
    result.cases, result.events = counts
    _fix_sequences()
    return result


def _ensure_office() -> None:
    """The demo office's settings, through the same service as ``flask office init``."""
    if office.stored_settings() is None:
        office.save_settings(
            office.SettingsInput(
                name=DEMO_OFFICE_NAME,
                legislator_name="Jordan Avery",
                legislator_title="Representative",
                body="us_house",
                state=STATE,
                office_code="NY21",
                timezone="America/New_York",
                default_area_code="518",
            )
        )


def _ensure_districts() -> dict[str, District]:
    out = {}
    for code, name, legislator in DEMO_DISTRICTS:
        d = districts.get_by_code(code)
        if d is None:
            d = districts.add_district(
                districts.DistrictSpec(
                    code=code, name=name, state=STATE, chamber="house", legislator_name=legislator
                )
            )
        out[code] = d
    return out


def _ensure_categories() -> dict[str, Category]:
    category_service.add_starter_categories()
    return {c.name: c for c in db.session.scalars(sa.select(Category))}


def _ensure_agencies(categories: dict[str, Category]) -> dict[str, Agency]:
    existing = {a.name: a for a in db.session.scalars(sa.select(Agency))}
    for name, acronym, level, days, site, cats, contacts in catalog.AGENCIES:
        if name in existing:
            continue
        agency = Agency(
            name=name,
            acronym=acronym,
            level=AgencyLevel(level),
            expected_response_days=days,
            website=site,
            categories=[categories[c] for c in cats],
        )
        for cname, title, email, phone in contacts:
            agency.contacts.append(AgencyContact(name=cname, title=title, email=email, phone=phone))
        db.session.add(agency)
        existing[name] = agency
    db.session.flush()
    return existing


def _ensure_routing_rules(categories: dict[str, Category], agencies: dict[str, Agency]) -> None:
    if db.session.scalar(sa.select(sa.func.count()).select_from(RoutingRule)):
        return
    for category in categories.values():
        candidates = [a for a in agencies.values() if category in a.categories]
        if not candidates:
            continue
        agency = sorted(candidates, key=lambda a: list(AgencyLevel).index(a.level))[0]
        db.session.add(
            RoutingRule(
                category=category,
                agency=agency,
                contact=agency.contacts[0] if agency.contacts else None,
                follow_up_days=agency.expected_response_days,
            )
        )


LETTER_TEMPLATES = [
    (
        LetterKind.AGENCY_INQUIRY,
        "Agency inquiry",
        "Congressional inquiry [Case #{{ case.number }}]",
        "{{ agency.contact_name }}\n{{ agency.name }}\n\nDear {{ agency.contact_name }}:\n\n"
        "I am writing on behalf of my constituent, {{ constituent.full_name }}, who has asked for "
        "my help with the following matter: {{ case.subject }}.\n\nA signed privacy release is "
        "enclosed. Please review the matter and reply to my office, quoting [Case #{{ case.number }}].\n\n"
        "Sincerely,\n\n{{ office.legislator }}\n{{ office.name }}\nStaff contact: {{ staffer.name }}",
    ),
    (
        LetterKind.ACKNOWLEDGEMENT,
        "Constituent acknowledgement",
        "We received your request",
        "Dear {{ constituent.full_name }}:\n\nThank you for contacting my office about "
        "{{ case.subject|lower }}. {{ staffer.name }} of my staff will work on your request "
        "(reference {{ case.reference }}).\n\nSincerely,\n\n{{ office.legislator }}",
    ),
    (
        LetterKind.CLOSING,
        "Closing letter",
        "Your request is complete",
        "Dear {{ constituent.full_name }}:\n\nMy office has completed its work on "
        "{{ case.subject|lower }}. If you need further help, please call {{ office.name }}.\n\n"
        "Sincerely,\n\n{{ office.legislator }}",
    ),
]


def _ensure_letter_templates() -> None:
    if db.session.scalar(sa.select(sa.func.count()).select_from(LetterTemplate)):
        return
    for kind, name, subject, body in LETTER_TEMPLATES:
        db.session.add(LetterTemplate(kind=kind, name=name, subject=subject, body=body))


def _ensure_users(
    served: dict[str, District], fake: Faker
) -> tuple[list[User], list[tuple[str, str, str]]]:
    creds = []
    codes = list(served)
    for email, name, role in DEMO_USERS:
        if auth.find_user_by_email(email) is None:
            password = auth.generate_password()
            auth.create_user(email, name, role, codes, password)
            creds.append((role.value, email, password))
    # A few more caseworkers so that work is spread over a team (no printed passwords).
    for i in range(1, 4):
        email = f"caseworker{i}@demo.example"
        if auth.find_user_by_email(email) is None:
            auth.create_user(
                email,
                fake.name(),
                Role.CASEWORKER,
                [codes[(i - 1) % len(codes)]],
                auth.generate_password(),
            )
    staff = list(
        db.session.scalars(
            sa.select(User)
            .where(User.role.in_([Role.CASEWORKER, Role.SUPERVISOR, Role.INTAKE]))
            .order_by(User.id)
        )
    )
    return staff, creds


def _zip_pool(
    served: dict[str, District],
) -> tuple[list[tuple[str, str | None, list[str]]], list[str]]:
    """ZIPs to draw addresses from: (zip5, district code or None when split, the served codes),
    and the ZIPs of the state outside every served district."""
    rows = db.session.execute(
        sa.select(ZipDistrict.zip5, ZipDistrict.district_code).where(ZipDistrict.state == STATE)
    ).all()
    by_zip: dict[str, list[str]] = {}
    for z, code in rows:
        by_zip.setdefault(z, []).append(code)
    pool: list[tuple[str, str | None, list[str]]] = []
    for z, codes in sorted(by_zip.items()):
        mine = [c for c in codes if c in served]
        if mine:
            pool.append((z, mine[0] if len(mine) == 1 else None, mine))
    outside = [z for z, codes in sorted(by_zip.items()) if not any(c in served for c in codes)]
    return pool, outside


def _seed_constituents(
    n: int,
    served: dict[str, District],
    rng: random.Random,
    fake: Faker,
    now: datetime,
    progress: Callable[[str, int, int], None] | None,
) -> tuple[int, list[tuple[int, int | None, bool]]]:
    pool, outside_zips = _zip_pool(served)
    towns: dict[str, str] = {}
    next_id = _next_id(Constituent)
    cp_ids = itertools.count(_next_id(ContactPoint))
    people: list[tuple[int, int | None, bool]] = []
    rows: list[dict[str, Any]] = []
    cps: list[dict[str, Any]] = []
    area_codes = ["518", "315", "607", "845"]
    for i in range(n):
        cid = next_id + i
        first, last = fake.first_name(), fake.last_name()
        if rng.random() < 0.08 and outside_zips:
            zip5 = rng.choice(outside_zips)
            district_id, ood = None, True
        else:
            zip5, code, candidates = rng.choice(pool)
            code = code or rng.choice(candidates)
            district_id, ood = served[code].id, False
        town = towns.setdefault(zip5, fake.city())
        street = fake.street_address()
        rows.append(
            {
                "id": cid,
                "first_name": first,
                "last_name": last,
                "first_name_key": normalize.name_key(first),
                "last_name_key": normalize.name_key(last),
                "street": street,
                "street_key": normalize.street_key(street),
                "city": town,
                "state": STATE,
                "zip5": zip5,
                "district_id": district_id,
                "out_of_district": ood,
                "district_override": False,
                "is_veteran": rng.random() < 0.12,
                "is_senior": rng.random() < 0.25,
                "has_disability": rng.random() < 0.1,
                "do_not_contact": rng.random() < 0.01,
                "language": rng.choice(["English"] * 9 + ["Spanish"]),
                "version": 1,
                "created_at": now,
                "updated_at": now,
            }
        )
        phone_raw = f"({rng.choice(area_codes)}) {rng.randint(200, 999)}-{rng.randint(0, 9999):04d}"
        cps.append(
            {
                "id": next(cp_ids),
                "constituent_id": cid,
                "kind": "phone",
                "value": phone_raw,
                "normalized": normalize.phone_e164(phone_raw) or phone_raw,
                "label": "mobile",
                "is_primary": True,
                "created_at": now,
            }
        )
        if rng.random() < 0.6:
            email = f"{normalize.name_key(first)}.{normalize.name_key(last)}{cid}@example.net"
            cps.append(
                {
                    "id": next(cp_ids),
                    "constituent_id": cid,
                    "kind": "email",
                    "value": email,
                    "normalized": email,
                    "label": None,
                    "is_primary": False,
                    "created_at": now,
                }
            )
        people.append((cid, district_id, ood))
        if len(rows) >= 2000:
            _flush_rows((Constituent, rows), (ContactPoint, cps))
            if progress:
                progress("constituents", i + 1, n)
    _flush_rows((Constituent, rows), (ContactPoint, cps))
    if progress:
        progress("constituents", n, n)
    return n, people


def _flush_rows(*batches: tuple[Any, list[dict[str, Any]]]) -> None:
    """Insert each (model or table, rows) batch in one statement and empty its list."""
    for model, rows in batches:
        if rows:
            db.session.execute(sa.insert(model), rows)
            rows.clear()


# The tables _seed_cases fills with bulk inserts, in the order they are written (parents first).
_SEEDED_TABLES: tuple[type[Any], ...] = (
    Case,
    CaseInterval,
    TimelineEvent,
    FollowUp,
    Referral,
    AgencyResponse,
    PrivacyRelease,
)


def _seed_cases(
    n: int,
    people: list[tuple[int, int | None, bool]],
    served: dict[str, District],
    categories: dict[str, Category],
    agencies: dict[str, Agency],
    staff: list[User],
    rng: random.Random,
    now: datetime,
    progress: Callable[[str, int, int], None] | None,
) -> tuple[int, int]:
    workers = [u for u in staff if u.role in (Role.CASEWORKER, Role.SUPERVISOR)]
    intakes = [u for u in staff if u.role == Role.INTAKE] or workers
    served_ids = [d.id for d in served.values()]
    rules = {r.category_id: r for r in db.session.scalars(sa.select(RoutingRule))}
    cat_list = [c for c in categories.values() if c.name in CASE_TEXTS]
    weights = [
        8
        if c.name in ("Social Security", "Veterans", "Immigration", "IRS")
        else 4
        if c.name in ("Medicare/Medicaid", "Housing", "Passports", "Unemployment")
        else 1
        for c in cat_list
    ]
    counter = db.session.get(Counter, "case")
    if counter is None:
        counter = Counter(name="case", value=1000)
        db.session.add(counter)
        db.session.flush()
    number = counter.value
    ids: dict[type[Any], int] = {m: _next_id(m) for m in _SEEDED_TABLES}
    buf: dict[type[Any], list[dict[str, Any]]] = {m: [] for m in ids}
    covered: list[dict[str, Any]] = []  # privacy_release_agencies rows
    events = 0

    def add(model: type[Any], row: dict[str, Any]) -> int:
        new_id = ids[model]
        row["id"] = new_id
        ids[model] += 1
        buf[model].append(row)
        return new_id

    def ev(
        case_id: int,
        kind: str,
        body: str,
        at: datetime,
        author: int | None,
        data: dict[str, Any] | None = None,
    ) -> None:
        nonlocal events
        events += 1
        add(
            TimelineEvent,
            {
                "case_id": case_id,
                "kind": kind,
                "body": body,
                "author_id": author,
                "data": data,
                "occurred_at": at,
                "created_at": at,
            },
        )

    for i in range(n):
        number += 1
        person_id, district_id, ood = rng.choice(people)
        district_id = district_id or rng.choice(served_ids)
        category = rng.choices(cat_list, weights)[0]
        subject, description = rng.choice(CASE_TEXTS[category.name])
        rule = rules.get(category.id)
        agency = rule.agency if rule else None
        agency_name = agency.acronym or agency.name if agency else "the agency"
        age_days = min(rng.expovariate(1 / 200), 720)
        opened = now - timedelta(days=age_days, hours=rng.random() * 8)
        opener = rng.choice(intakes)
        assignee = rng.choice(workers) if rng.random() < 0.93 else None
        priority = rng.choices(["routine", "expedite", "emergency"], [80, 16, 4])[0]
        channel = rng.choices([c.value for c in Channel], [55, 12, 18, 7, 6, 2])[0]
        confidential = (
            category.name in ("Domestic violence", "Child welfare", "Substance use")
            or rng.random() < 0.03
        )
        federal = agency is not None and agency.level == AgencyLevel.FEDERAL
        # Lifecycle: open intervals; a closed case may have been reopened.
        intervals: list[tuple[datetime, datetime | None]] = []
        t = opened
        closed_for_good = False
        for _round in range(3):
            span = timedelta(days=rng.lognormvariate(3.1, 0.8))
            end = t + span
            if end >= now:
                intervals.append((t, None))
                break
            intervals.append((t, end))
            if rng.random() < 0.9 or _round == 2:
                closed_for_good = True
                break
            t = end + timedelta(days=rng.uniform(2, 40))
            if t >= now:
                closed_for_good = True
                break
        if closed_for_good:
            status = CaseStatus.CLOSED
        else:
            status = rng.choices(
                [
                    CaseStatus.OPEN,
                    CaseStatus.WAITING_ON_CONSTITUENT,
                    CaseStatus.WAITING_ON_AGENCY,
                    CaseStatus.RESOLVED,
                ],
                [30, 15, 45, 10],
            )[0]
            if status == CaseStatus.WAITING_ON_AGENCY and agency is None:
                status = CaseStatus.OPEN
        last_close = intervals[-1][1] if closed_for_good else None
        outcome = (
            rng.choices([o.value for o in Outcome], [55, 15, 15, 5, 4, 4, 2])[0]
            if closed_for_good
            else None
        )
        release_state = (
            ReleaseState.RECEIVED
            if federal and (closed_for_good or status == CaseStatus.WAITING_ON_AGENCY)
            else ReleaseState.REQUESTED
            if federal
            else ReleaseState.NOT_NEEDED
        )
        last_activity = last_close or max(opened, now - timedelta(days=rng.uniform(0, 20)))
        # Milestones of the first stretch of work fall inside it (before its close, or before
        # now): a young or quickly closed case does them sooner, never in the future.
        window = (intervals[0][1] or now) - opened
        milestones = _Milestones(opened, window)
        case_id = add(
            Case,
            {
                "number": number,
                "constituent_id": person_id,
                "district_id": district_id,
                "category_id": category.id,
                "subject": subject,
                "description": description,
                "channel": channel,
                "priority": priority,
                "status": status.value,
                "confidential": confidential,
                "release_state": release_state.value,
                "assignee_id": assignee.id if assignee else None,
                "opened_by_id": opener.id,
                "outcome": outcome,
                "opened_at": opened,
                "closed_at": last_close,
                "last_activity_at": last_activity,
                "version": 1,
                "created_at": opened,
                "updated_at": last_activity,
            },
        )
        author = assignee.id if assignee else None
        ev(
            case_id,
            "intake",
            f"{channel.replace('_', '-').capitalize()} intake: {description}",
            opened,
            opener.id,
        )
        if assignee:
            ev(
                case_id,
                "assignment",
                f"Assigned to {assignee.full_name}.",
                milestones.at(timedelta(minutes=20), 0.05),
                opener.id,
                {"assignee_id": assignee.id},
            )
        for k, (start, closed) in enumerate(intervals):
            add(CaseInterval, {"case_id": case_id, "opened_at": start, "closed_at": closed})
            if k > 0:
                ev(
                    case_id,
                    "status_change",
                    "Reopened: the constituent called back, the problem came back.",
                    start,
                    author,
                    {"from": "closed", "to": "open"},
                )
            span_end = closed or now
            notes = rng.randint(2, 6)
            for j in range(notes):
                at = start + (span_end - start) * ((j + 1) / (notes + 1))
                ev(
                    case_id,
                    rng.choice(["note", "note", "call", "email"]),
                    rng.choice(NOTE_TEXTS).format(agency=agency_name),
                    at,
                    author,
                )
            if closed is not None:
                ev(
                    case_id,
                    "status_change",
                    f"Closed with outcome: {Outcome(outcome or 'assisted').label}.",
                    closed,
                    author,
                    {"from": "resolved", "to": "closed", "outcome": outcome},
                )
        received_at = milestones.at(timedelta(days=5), 0.3)
        if release_state != ReleaseState.NOT_NEEDED:
            requested_at = milestones.at(timedelta(days=1), 0.1)
            received = release_state == ReleaseState.RECEIVED
            signed_at = requested_at + (received_at - requested_at) * 0.75
            release_id = add(
                PrivacyRelease,
                {
                    "case_id": case_id,
                    "requested_on": office_date(requested_at),
                    "request_method": "mailed_form",
                    "signed_on": office_date(signed_at) if received else None,
                    "signature_method": "wet" if received else None,
                    "received_at": received_at if received else None,
                    "recorded_by_id": author,
                    "created_at": requested_at,
                },
            )
            if received and agency is not None:  # the signed release names the agency
                covered.append({"release_id": release_id, "agency_id": agency.id})
        if (
            rule is not None
            and agency is not None
            and (closed_for_good or status in (CaseStatus.WAITING_ON_AGENCY, CaseStatus.RESOLVED))
            and (not federal or release_state == ReleaseState.RECEIVED)
        ):
            # Sent after the release arrived (the release gate), within the first stretch.
            sent_at = milestones.at(timedelta(days=6), 0.4)
            sent = office_date(sent_at)
            days = rule.follow_up_days or agency.expected_response_days
            responded = closed_for_good or status == CaseStatus.RESOLVED
            # Answered after it was sent, and before the case closed for good (or now).
            resp_at = min(
                sent_at + timedelta(days=max(1, rng.lognormvariate(2.8, 0.6))),
                sent_at + ((last_close or now) - sent_at) * 0.9,
            )
            resp_on = office_date(resp_at)
            ref_id = add(
                Referral,
                {
                    "case_id": case_id,
                    "agency_id": agency.id,
                    "contact_id": rule.contact_id,
                    "method": rng.choice(["email", "portal", "letter"]),
                    "sent_on": sent,
                    "due_on": sent + timedelta(days=days),
                    "reference_number": f"{(agency.acronym or 'REF')}-{rng.randint(100000, 999999)}",
                    "status": ReferralStatus.RESPONDED.value
                    if responded
                    else ReferralStatus.SENT.value,
                    "inquiry_count": 1,
                    "responded_on": resp_on if responded else None,
                    "created_by_id": author,
                    "version": 1,
                    "created_at": sent_at,
                    "updated_at": resp_at if responded else sent_at,
                },
            )
            ev(
                case_id,
                "referral",
                f"Referred to {agency.name}.",
                sent_at,
                author,
                {"referral_id": ref_id},
            )
            if responded:
                text = rng.choice(RESPONSE_TEXTS)
                add(
                    AgencyResponse,
                    {
                        "referral_id": ref_id,
                        "received_on": resp_on,
                        "channel": "email",
                        "body": text,
                        "outcome": "resolved",
                        "recorded_by_id": author,
                        "created_at": resp_at,
                    },
                )
                ev(case_id, "response", f"Response from {agency.name}: {text}", resp_at, author)
        if not closed_for_good and assignee and rng.random() < 0.7:
            add(
                FollowUp,
                {
                    "case_id": case_id,
                    "assignee_id": assignee.id,
                    "due_on": (now + timedelta(days=rng.randint(-10, 14))).date(),
                    "description": rng.choice(
                        [
                            "Call the constituent back",
                            "Check with the agency",
                            "Second inquiry if no answer",
                        ]
                    ),
                    "created_by_id": assignee.id,
                    "created_at": opened,
                },
            )
        if len(buf[TimelineEvent]) >= 5000 or i == n - 1:
            for model in _SEEDED_TABLES:
                _flush_rows((model, buf[model]))
            _flush_rows((privacy_release_agencies, covered))
            if progress:
                progress("cases", i + 1, n)
    counter.value = number
    return n, events


@dataclass(frozen=True)
class _Milestones:
    """When things happen in a case's first stretch of work (``window`` long from ``opened``)."""

    opened: datetime
    window: timedelta

    def at(self, usual: timedelta, share: float) -> datetime:
        """``usual`` after opening, or ``share`` of the window when the window is too short."""
        return self.opened + min(usual, self.window * share)


def _fix_sequences() -> None:
    """Explicit ids were inserted; move PostgreSQL's sequences past them."""
    if db.session.get_bind().dialect.name != "postgresql":
        return
    # Fixed table names from this module, never user input.
    for table in (
        "constituents",
        "contact_points",
        "cases",
        "case_intervals",
        "timeline_events",
        "follow_ups",
        "referrals",
        "agency_responses",
        "privacy_releases",
    ):
        statement = (
            "SELECT setval(pg_get_serial_sequence('{0}', 'id'), "
            "COALESCE((SELECT MAX(id) FROM {0}), 1))"
        )
        db.session.execute(sa.text(statement.format(table)))
