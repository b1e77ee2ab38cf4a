"""All models, imported here so that metadata and Alembic see every table."""

from constituent.models.agencies import Agency, AgencyContact, AgencyLevel, RoutingRule
from constituent.models.audit import AuditEvent
from constituent.models.base import Base, utcnow
from constituent.models.cases import (
    OPEN_STATUSES,
    Case,
    CaseInterval,
    CaseStatus,
    Channel,
    Counter,
    EventKind,
    FollowUp,
    Outcome,
    Priority,
    ReleaseState,
    TimelineEvent,
)
from constituent.models.categories import Category
from constituent.models.constituents import (
    Constituent,
    ContactKind,
    ContactMethod,
    ContactPoint,
    HouseholdMember,
)
from constituent.models.districts import District, ZipDistrict
from constituent.models.imports import ImportJob, ImportStatus
from constituent.models.letters import Letter, LetterKind, LetterTemplate
from constituent.models.mail import InboundMessage, InboundStatus
from constituent.models.notifications import Notification
from constituent.models.office import Body, OfficeSettings
from constituent.models.online_requests import (
    AgencyIdentifier,
    DeclineReason,
    IdentifierKind,
    Language,
    OnlineRequest,
    PreferredContact,
    ReleaseTemplate,
    ReleaseTemplateVersion,
    RequestStatus,
)
from constituent.models.password_links import PasswordLink
from constituent.models.referrals import (
    AgencyResponse,
    Referral,
    ReferralMethod,
    ReferralStatus,
    ResponseOutcome,
)
from constituent.models.releases import (
    Attachment,
    PrivacyRelease,
    RequestMethod,
    SignatureMethod,
    StoredFileChunk,
)
from constituent.models.search import SearchDocument, SearchQueue
from constituent.models.submissions import SubmissionKey
from constituent.models.users import Role, User

__all__ = [
    "AgencyIdentifier",
    "DeclineReason",
    "IdentifierKind",
    "Language",
    "OnlineRequest",
    "PreferredContact",
    "ReleaseTemplate",
    "ReleaseTemplateVersion",
    "RequestStatus",
    "OPEN_STATUSES",
    "Agency",
    "AgencyContact",
    "AgencyLevel",
    "AgencyResponse",
    "Attachment",
    "StoredFileChunk",
    "AuditEvent",
    "Base",
    "Body",
    "Case",
    "CaseInterval",
    "CaseStatus",
    "Category",
    "Channel",
    "ContactKind",
    "ContactMethod",
    "Counter",
    "ContactPoint",
    "Constituent",
    "District",
    "EventKind",
    "FollowUp",
    "HouseholdMember",
    "ImportJob",
    "ImportStatus",
    "InboundMessage",
    "InboundStatus",
    "Letter",
    "LetterKind",
    "LetterTemplate",
    "Notification",
    "OfficeSettings",
    "PasswordLink",
    "Outcome",
    "Priority",
    "PrivacyRelease",
    "Referral",
    "ReferralMethod",
    "ReferralStatus",
    "ReleaseState",
    "RequestMethod",
    "ResponseOutcome",
    "Role",
    "RoutingRule",
    "SearchDocument",
    "SearchQueue",
    "SubmissionKey",
    "SignatureMethod",
    "TimelineEvent",
    "User",
    "ZipDistrict",
    "utcnow",
]
