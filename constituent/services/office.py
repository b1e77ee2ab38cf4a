"""The office's settings and its first set-up (``flask office init``, the admin Office page and
the demo seeder all come here)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from zoneinfo import ZoneInfo, available_timezones

import sqlalchemy as sa
from flask import current_app, g, has_app_context

from constituent.extensions import db
from constituent.models import Body, OfficeSettings, User
from constituent.services import audit, auth, categories, permissions, versions
from constituent.services import districts as district_service
from constituent.services.errors import DomainError

OFFICE_CODE_RE = re.compile(r"^[A-Z][A-Z0-9]{1,7}$")
AREA_CODE_RE = re.compile(r"^[2-9][0-9]{2}$")
STATE_RE = re.compile(r"^[A-Z]{2}$")


@dataclass(frozen=True)
class OfficeProfile:
    """What the app shows of the office: the stored settings, or the configured defaults
    before ``flask office init`` has run."""

    name: str
    legislator_name: str = ""
    legislator_title: str = ""
    body: Body | None = None
    state: str = ""
    office_code: str = ""
    timezone: str = "America/New_York"
    default_area_code: str | None = None
    configured: bool = False

    @classmethod
    def stored(cls, row: OfficeSettings) -> OfficeProfile:
        """The profile of the stored settings: each field from the column of its name."""
        names = [f.name for f in fields(cls) if f.name != "configured"]
        return cls(**{name: getattr(row, name) for name in names}, configured=True)

    @property
    def legislator(self) -> str:
        """'Representative Terri Sewell' (title and name), or '' when not set up."""
        return " ".join(p for p in (self.legislator_title, self.legislator_name) if p)


def _from_config() -> OfficeProfile:
    cfg = current_app.config
    return OfficeProfile(
        name=str(cfg.get("OFFICE_NAME") or "District Office"),
        timezone=str(cfg.get("OFFICE_TIMEZONE") or "America/New_York"),
        office_code=str(cfg.get("OFFICE_CODE") or ""),
    )


def stored_settings() -> OfficeSettings | None:
    """The settings row, if the office has been set up."""
    return db.session.scalar(sa.select(OfficeSettings).order_by(OfficeSettings.id).limit(1))


def profile() -> OfficeProfile:
    """The office as the app presents it (read once per request or command)."""
    if not has_app_context():
        return OfficeProfile(name="District Office")
    cached = g.get("_office_profile")
    if isinstance(cached, OfficeProfile):
        return cached
    try:
        row = stored_settings()
    except sa.exc.OperationalError:
        # The database is busy or down (the 503 page is being drawn): show the configured
        # name rather than fail the error page too; the next request reads the settings.
        return _from_config()
    result = OfficeProfile.stored(row) if row is not None else _from_config()
    g._office_profile = result
    return result


def forget_profile() -> None:
    """Drop the cached profile (after the settings changed)."""
    if has_app_context():
        g.pop("_office_profile", None)


@dataclass
class SettingsInput:
    """The settings as typed on the Office page or given to ``flask office init``."""

    name: str
    legislator_name: str
    legislator_title: str
    body: str
    state: str
    office_code: str
    timezone: str
    default_area_code: str = ""
    errors: dict[str, str] = field(default_factory=dict)


def _clean(values: SettingsInput) -> dict[str, object]:
    """Validated column values; raises DomainError naming the first bad field."""
    name = values.name.strip()
    if not name or len(name) > 120:
        raise DomainError("Enter the office's name (at most 120 characters).", field="name")
    legislator = values.legislator_name.strip()
    if not legislator or len(legislator) > 120:
        raise DomainError(
            "Enter the legislator's name (at most 120 characters).", field="legislator_name"
        )
    try:
        body = Body(values.body.strip().lower().replace("-", "_"))
    except ValueError as exc:
        raise DomainError(
            f"Unknown body {values.body!r}; choose one of {', '.join(b.value for b in Body)}.",
            field="body",
        ) from exc
    title = values.legislator_title.strip() or body.usual_title
    if len(title) > 60:
        raise DomainError("Use at most 60 characters for the title.", field="legislator_title")
    state = values.state.strip().upper()
    if not STATE_RE.match(state):
        raise DomainError(
            "Enter the office's state as its two-letter postal code, e.g. AL.", field="state"
        )
    code = values.office_code.strip().upper()
    if not OFFICE_CODE_RE.match(code):
        raise DomainError(
            "The office code is 2 to 8 letters or digits, starting with a letter (e.g. AL04); "
            "case tags carry it.",
            field="office_code",
        )
    tz = values.timezone.strip()
    if tz not in available_timezones():
        raise DomainError(
            f"Unknown time zone {tz!r}; use a name such as America/Chicago.", field="timezone"
        )
    area = (values.default_area_code or "").strip()
    if area and not AREA_CODE_RE.match(area):
        raise DomainError(
            "The default area code is three digits, not starting with 0 or 1.",
            field="default_area_code",
        )
    return {
        "name": name,
        "legislator_name": legislator,
        "legislator_title": title,
        "body": body,
        "state": state,
        "office_code": code,
        "timezone": str(ZoneInfo(tz).key),
        "default_area_code": area or None,
    }


NOT_SET_UP = 0  # the version a page shows before the office is set up


@dataclass
class _NotSetUp:
    version: int = NOT_SET_UP


def settings_version() -> int:
    """The version of the settings row (NOT_SET_UP before there is one), for the page's form."""
    row = stored_settings()
    return row.version if row is not None else NOT_SET_UP


def save_settings(
    values: SettingsInput, by: User | None = None, expected_version: int | None = None
) -> OfficeSettings:
    """Create or change the office's settings (audited, naming the fields that changed).

    ``expected_version`` is the version the page was loaded with (None from a command): a
    save over another admin's later save is refused with a Conflict."""
    row = stored_settings()
    versions.check_version(row or _NotSetUp(), expected_version, "office's settings")
    cleaned = _clean(values)
    if row is None:
        row = OfficeSettings(**cleaned)
        db.session.add(row)
        changed = sorted(cleaned)
    else:
        changed = sorted(k for k, v in cleaned.items() if getattr(row, k) != v)
        for key, value in cleaned.items():
            setattr(row, key, value)
    db.session.flush()
    forget_profile()
    if changed:
        audit.record("office_settings_changed", "office", row.id, detail=",".join(changed), user=by)
    return row


@dataclass
class AdminAccount:
    email: str
    full_name: str
    password: str


def init_office(
    values: SettingsInput,
    district_specs: list[district_service.DistrictSpec],
    admin: AdminAccount | None,
    starter_categories: bool = False,
) -> OfficeSettings:
    """Set up a new office: settings, districts served, the first admin, starter categories.

    Refused when the office is set up already (change it on the Office page instead).
    """
    if stored_settings() is not None:
        raise DomainError(
            "The office is set up already; change its settings on the admin Office page."
        )
    row = save_settings(values)
    if not district_specs:
        raise DomainError("Name at least one district the office serves.", field="districts")
    for spec in district_specs:
        if spec.state is None:
            spec.state = row.state
        if spec.legislator_name is None:
            spec.legislator_name = f"{row.legislator_title} {row.legislator_name}"
        if spec.chamber is None:
            spec.chamber = row.body.value
        district_service.add_district(spec)
    if admin is not None:
        auth.create_user(
            admin.email, admin.full_name, permissions.FIRST_ACCOUNT_ROLE, [], admin.password
        )
    if starter_categories:
        categories.add_starter_categories()
    return row
