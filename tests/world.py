"""One of every record, for the access matrix and the fuzz tests: ids to fill every route."""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from constituent.extensions import db
from constituent.models import (
    Agency,
    AgencyContact,
    AgencyLevel,
    AgencyResponse,
    FollowUp,
    HouseholdMember,
    ImportJob,
    ImportStatus,
    InboundMessage,
    InboundStatus,
    LetterKind,
    LetterTemplate,
    Notification,
    Referral,
    ReferralMethod,
    ResponseOutcome,
    RoutingRule,
)
from constituent.models.mail import AttachmentOutcome, InboundAttachment
from constituent.services import letters, uploads
from constituent.services.clock import office_today
from tests import factories
from tests.online_helpers import gen_request, gen_template

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00"
    b"\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N"
    b"\x00\x00\x00\x00IEND\xaeB`\x82"
)


@dataclass
class World:
    office: factories.Office
    ids: dict[str, int] = field(default_factory=dict)  # URL parameter name → id
    other_ids: dict[str, int] = field(default_factory=dict)  # the same kinds, in district B
    confidential_ids: dict[str, int] = field(default_factory=dict)  # district A, confidential,
    # assigned to the supervisor: the caseworker is not its assignee


def _case_family(
    office: factories.Office,
    district,
    assignee,
    agency,
    contact,
    template,
    confidential: bool = False,
) -> dict[str, int]:
    person = factories.gen_constituent(
        district, first="Margaret", last="Sample", phone="(518) 555-0100"
    )
    member = HouseholdMember(constituent=person, name="Robert Sample", relationship_label="spouse")
    db.session.add(member)
    case = factories.gen_case(
        district,
        office.category,
        constituent=person,
        opened_by=office.intake,
        assignee=assignee,
        confidential=confidential,
    )
    today = office_today()  # the office's day: UTC's is tomorrow for an evening in New York
    follow_up = FollowUp(case=case, assignee=assignee, due_on=today, description="Call back")
    db.session.add(follow_up)
    attachment = uploads.store_upload(
        io.BytesIO(PNG), "release.png", case=case, uploaded_by=office.supervisor
    )
    referral = Referral(
        case=case,
        agency=agency,
        contact=contact,
        method=ReferralMethod.EMAIL,
        sent_on=today - timedelta(days=40),
        due_on=today - timedelta(days=10),
        created_by_id=assignee.id,
    )
    db.session.add(referral)
    db.session.flush()
    response = AgencyResponse(
        referral=referral,
        received_on=today,
        channel=ReferralMethod.EMAIL,
        body="We are looking into it.",
        outcome=ResponseOutcome.PENDING,
    )
    db.session.add(response)
    letter = letters.render_letter(template, case, office.supervisor, referral=referral)
    message = InboundMessage(
        sha256=f"{case.id:064d}",
        sender="liaison@ssa.example.gov",
        subject=f"Re: [Case #{case.number}]",
        body_text="Update.",
        status=InboundStatus.FILED,
        case_id=case.id,
    )
    db.session.add(message)
    db.session.flush()
    item = InboundAttachment(
        message_id=message.id,
        attachment_id=attachment.id,
        filename="release.png",
        content_type="image/png",
        size=attachment.size,
        outcome=AttachmentOutcome.KEPT,
    )
    db.session.add(item)
    db.session.flush()
    contact_point = person.contact_points[0]
    return {
        "case_id": case.id,
        "constituent_id": person.id,
        "member_id": member.id,
        "point_id": contact_point.id,
        "follow_up_id": follow_up.id,
        "attachment_id": attachment.id,
        "referral_id": referral.id,
        "response_id": response.id,
        "letter_id": letter.id,
        "message_id": message.id,
        "item_id": item.id,
        "case_number": case.number,
    }


def make_world() -> World:
    """Office users in district A (NY-21), other_caseworker in B, and a case family in each."""
    office = factories.make_office()
    agency = Agency(
        name="Social Security Administration",
        acronym="SSA",
        level=AgencyLevel.FEDERAL,
        expected_response_days=30,
        categories=[office.category],
    )
    contact = AgencyContact(agency=agency, name="Dana Whitfield", email="liaison@ssa.example.gov")
    db.session.add_all([agency, contact])
    rule = RoutingRule(category=office.category, agency=agency, contact=contact, follow_up_days=30)
    template = LetterTemplate(
        kind=LetterKind.AGENCY_INQUIRY,
        name="Agency inquiry",
        subject="Inquiry [Case #{{ case.number }}]",
        body="Dear {{ agency.contact_name }}: {{ case.subject }}",
    )
    db.session.add_all([rule, template])
    db.session.flush()
    world = World(office=office)
    world.ids = _case_family(office, office.a, office.caseworker, agency, contact, template)
    world.other_ids = _case_family(
        office, office.b, office.other_caseworker, agency, contact, template
    )
    world.confidential_ids = _case_family(
        office, office.a, office.supervisor, agency, contact, template, confidential=True
    )
    notification = Notification(
        user_id=office.caseworker.id,
        case_id=world.ids["case_id"],
        kind="assigned",
        message="Case assigned to you",
    )
    db.session.add(notification)
    # A message waiting in the queue, so that the filing forms are fuzzed too.
    unfiled = factories.gen_message(
        f"Re: [Case #{world.ids['case_number']}] pension",
        "Margaret Sample's pension is being reissued.",
        sender="liaison@ssa.example.gov",
    )
    db.session.flush()
    # Reference data an admin may deactivate or merge without changing anyone's casework.
    finished_import = ImportJob(
        kind="constituents", filename="people.csv", status=ImportStatus.DONE, total_rows=1
    )
    db.session.add(finished_import)
    spare_district = factories.gen_district("NY-99")
    spare_category = factories.gen_category("Spare category")
    # A resident's request waiting in the Online requests queue, signed, with an identifier.
    online = gen_request(
        office.category,
        release=gen_template([agency]),
        identifiers={"claim_number": "WORLD-CLAIM-0001"},
    )
    world.ids.update(
        {
            "district_id": spare_district.id,
            "category_id": spare_category.id,
            "agency_id": agency.id,
            "contact_id": contact.id,
            "rule_id": rule.id,
            "template_id": template.id,
            "notification_id": notification.id,
            "unfiled_message_id": unfiled.id,
            "user_id": office.other_caseworker.id,
            "job_id": finished_import.id,
            "request_id": online.id,
            "release_template_id": online.release_version.template_id,
        }
    )
    db.session.commit()
    return world


def fresh_records(world: World) -> dict[str, dict[str, int]]:
    """New throw-away records for routes that delete or remove, so order never matters."""
    from constituent.models import ContactKind, ContactPoint

    person_id = world.ids["constituent_id"]
    point = ContactPoint(
        constituent_id=person_id,
        kind=ContactKind.PHONE,
        value="(518) 555-0199",
        normalized="+15185550199",
    )
    member = HouseholdMember(constituent_id=person_id, name="Temporary Member")
    agency = Agency(name=f"Throw-away agency {uuid.uuid4().hex[:8]}", level=AgencyLevel.STATE)
    db.session.add_all([point, member, agency])
    db.session.flush()
    rule = RoutingRule(
        category_id=world.office.category.id,
        district_id=world.office.a.id,
        agency_id=agency.id,
        follow_up_days=10,
    )
    db.session.add(rule)
    db.session.commit()
    return {
        "point_id": {"point_id": point.id},
        "member_id": {"member_id": member.id},
        "agency_id": {"agency_id": agency.id},
        "rule_id": {"rule_id": rule.id},
    }
