"""Routing rules: category (optionally district) → suggested agency, contact and follow-up."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from constituent.extensions import db
from constituent.models import Agency, AgencyContact, Category, District, RoutingRule, User
from constituent.services import audit, districts
from constituent.services.errors import DomainError, must_exist

MAX_FOLLOW_UP_DAYS = 365


@dataclass(frozen=True)
class RuleSuggestion:
    """The rule that fits a case, what it suggests, and why (for the referral form)."""

    rule: RoutingRule
    agency: Agency
    contact: AgencyContact | None
    follow_up_days: int
    reason: str


def describe_rule(rule: RoutingRule) -> str:
    """'Rule for Social Security in NY-21' or 'Rule for Social Security (all districts)'."""
    if rule.district is not None:
        return f"Rule for {rule.category.name} in {rule.district.code}"
    return f"Rule for {rule.category.name} (all districts)"


def best_rule(category: Category | int, district: District | int | None) -> RuleSuggestion | None:
    """The best active rule for a category in a district: district-specific beats general.

    Rules that are inactive, or whose agency is inactive, are skipped. When the rule's
    contact has been deactivated, the agency's first active contact is suggested instead.
    """
    category_id = category if isinstance(category, int) else category.id
    district_id = district if isinstance(district, int) or district is None else district.id
    where_district: sa.ColumnElement[bool] = RoutingRule.district_id.is_(None)
    if district_id is not None:
        where_district = sa.or_(where_district, RoutingRule.district_id == district_id)
    rule = db.session.scalar(
        sa.select(RoutingRule)
        .join(Agency, Agency.id == RoutingRule.agency_id)
        .where(
            RoutingRule.category_id == category_id,
            RoutingRule.active.is_(True),
            Agency.active.is_(True),
            where_district,
        )
        # District-specific first (NULL district sorts last on every database), then oldest.
        .order_by(sa.case((RoutingRule.district_id.is_(None), 1), else_=0), RoutingRule.id)
        .limit(1)
    )
    if rule is None:
        return None
    agency = rule.agency
    reason = describe_rule(rule)
    contact = rule.contact
    if contact is not None and not contact.active:
        replacement = next((c for c in agency.contacts if c.active), None)
        reason += f"; its contact {contact.name} is inactive" + (
            f", so {replacement.name} is suggested" if replacement else ""
        )
        contact = replacement
    elif contact is None:
        contact = next((c for c in agency.contacts if c.active), None)
    days = rule.follow_up_days or agency.expected_response_days
    return RuleSuggestion(
        rule=rule, agency=agency, contact=contact, follow_up_days=days, reason=reason
    )


# ---------------------------------------------------------------------------------------
# Administration of rules
# ---------------------------------------------------------------------------------------


@dataclass
class RuleData:
    """The editable fields of a routing rule, as plain ids and numbers."""

    category_id: int
    agency_id: int
    district_id: int | None = None
    contact_id: int | None = None
    follow_up_days: int | None = None


def list_rules() -> list[RoutingRule]:
    """Every rule, by category, with general rules after district-specific ones."""
    return list(
        db.session.scalars(
            sa.select(RoutingRule)
            .join(Category, Category.id == RoutingRule.category_id)
            .outerjoin(District, District.id == RoutingRule.district_id)
            .order_by(
                Category.name,
                sa.case((RoutingRule.district_id.is_(None), 1), else_=0),
                District.code,
                RoutingRule.id,
            )
        )
    )


def get_rule(rule_id: int) -> RoutingRule:
    """The rule with this id, or NotFound."""
    return must_exist(db.session.get(RoutingRule, rule_id), "No routing rule with that id.")


def _resolve(
    data: RuleData, kept_district_id: int | None = None
) -> tuple[Category, District | None, Agency, AgencyContact | None]:
    category = db.session.get(Category, data.category_id) if data.category_id else None
    if category is None:
        raise DomainError("Choose a category.", field="category_id")
    district = None
    if data.district_id:
        district = districts.choosable(
            data.district_id, "That district does not exist.", kept_district_id
        )
    agency = db.session.get(Agency, data.agency_id) if data.agency_id else None
    if agency is None:
        raise DomainError("Choose an agency.", field="agency_id")
    if not agency.active:
        raise DomainError(
            f"{agency.name} is inactive; reactivate it first or choose another agency.",
            field="agency_id",
        )
    contact = None
    if data.contact_id:
        contact = db.session.get(AgencyContact, data.contact_id)
        if contact is None or contact.agency_id != agency.id:
            raise DomainError(
                f"That contact does not work at {agency.name}; choose one of its contacts or none.",
                field="contact_id",
            )
        if not contact.active:
            raise DomainError(
                f"{contact.name} is inactive; choose an active contact.", field="contact_id"
            )
    days = data.follow_up_days
    if days is not None and not 1 <= days <= MAX_FOLLOW_UP_DAYS:
        raise DomainError(
            f"Follow-up days must be between 1 and {MAX_FOLLOW_UP_DAYS}, or "
            "empty to use the agency's expected response days.",
            field="follow_up_days",
        )
    return category, district, agency, contact


def _refuse_duplicate(
    category: Category, district: District | None, except_id: int | None = None
) -> None:
    stmt = sa.select(RoutingRule.id).where(
        RoutingRule.category_id == category.id,
        RoutingRule.active.is_(True),
        RoutingRule.district_id.is_(None)
        if district is None
        else RoutingRule.district_id == district.id,
    )
    if except_id is not None:
        stmt = stmt.where(RoutingRule.id != except_id)
    if db.session.scalar(stmt) is not None:
        where = f"in {district.code}" if district else "for all districts"
        raise DomainError(
            f"There is already an active rule for {category.name} {where}. Edit "
            "that rule, or deactivate it first.",
            field="district_id",
        )


def _saved(rule: RoutingRule, done: str, user: User | None) -> None:
    """Flush a changed rule and audit it (``routing_rule_<done>``), naming its agency unless
    only its activity changed."""
    db.session.flush()
    detail = describe_rule(rule)
    if done in ("created", "updated"):
        detail += f" → {rule.agency.name}"
    audit.record(f"routing_rule_{done}", "routing_rule", rule.id, detail=detail, user=user)


def create_rule(data: RuleData, user: User | None = None) -> RoutingRule:
    """Add a routing rule (one active rule per category and district)."""
    category, district, agency, contact = _resolve(data)
    _refuse_duplicate(category, district)
    rule = RoutingRule(
        category=category,
        district=district,
        agency=agency,
        contact=contact,
        follow_up_days=data.follow_up_days,
    )
    db.session.add(rule)
    _saved(rule, "created", user)
    return rule


def update_rule(rule: RoutingRule, data: RuleData, user: User | None = None) -> RoutingRule:
    """Change a routing rule."""
    category, district, agency, contact = _resolve(data, kept_district_id=rule.district_id)
    if rule.active:
        _refuse_duplicate(category, district, except_id=rule.id)
    rule.category, rule.district, rule.agency, rule.contact = category, district, agency, contact
    rule.follow_up_days = data.follow_up_days
    _saved(rule, "updated", user)
    return rule


def set_rule_active(rule: RoutingRule, active: bool, user: User | None = None) -> RoutingRule:
    """Deactivate or reactivate a rule (reactivating refuses a duplicate active rule)."""
    if rule.active == active:
        return rule
    if active:
        _refuse_duplicate(rule.category, rule.district, except_id=rule.id)
        if not rule.agency.active:
            raise DomainError(f"{rule.agency.name} is inactive; reactivate the agency first.")
    rule.active = active
    _saved(rule, "activated" if active else "deactivated", user)
    return rule


def delete_rule(rule: RoutingRule, user: User | None = None) -> None:
    """Delete a rule (rules carry no history; referrals keep their own agency)."""
    detail = describe_rule(rule)
    rule_id = rule.id
    db.session.delete(rule)
    db.session.flush()
    audit.record("routing_rule_deleted", "routing_rule", rule_id, detail=detail, user=user)


def rules_for_agency(agency_id: int) -> list[RoutingRule]:
    """The rules that suggest this agency, oldest first (the agency's page)."""
    return list(
        db.session.scalars(
            sa.select(RoutingRule)
            .where(RoutingRule.agency_id == agency_id)
            .order_by(RoutingRule.id)
        )
    )
