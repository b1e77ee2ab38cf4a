"""Administration: users and districts (admins only)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from flask import Blueprint, abort, render_template, request, url_for
from flask.typing import ResponseReturnValue

from constituent.extensions import db
from constituent.forms import choices
from constituent.forms.audit import AuditFilterForm
from constituent.forms.districts import ZipUploadForm
from constituent.forms.office import OfficeSettingsForm
from constituent.forms.users import NewUserForm
from constituent.models import User
from constituent.services import audit as audit_service
from constituent.services import auth as auth_service
from constituent.services import districts as district_service
from constituent.services import exports, password_links
from constituent.services import office as office_service
from constituent.services.clock import office_tz
from constituent.services.errors import DomainError
from constituent.services.permissions import Capability
from constituent.views.boundary import act, alert, commit, current_staff, form_status, saved, submit
from constituent.views.helpers import (
    action_label,
    capability_required,
    confirm_post,
    csv_download,
    format_datetime,
    paging,
    required_version,
)

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.route("/users")
@capability_required(Capability.ADMINISTER)
def users() -> ResponseReturnValue:
    return render_template(
        "admin/users.html",
        users=auth_service.list_users(),
        mail_links=password_links.mail_configured(),
    )


@bp.route("/users/new", methods=["GET", "POST"])
@capability_required(Capability.ADMINISTER)
def new_user() -> ResponseReturnValue:
    """Create a staff account; its generated password is shown once, on the answer page."""
    form = NewUserForm()
    form.districts.choices = choices(
        (d.code, f"{d.code} · {d.name}") for d in district_service.served_districts()
    )
    password = auth_service.generate_password()
    done = submit(
        form,
        lambda: auth_service.create_user(
            form.email.data or "",
            form.full_name.data or "",
            form.role.data or "",
            list(form.districts.data or []),
            password,
            mail_triage=bool(form.mail_triage.data),
        ),
        lambda user: render_template("admin/password_shown.html", user=user, password=password),
        default="email",
    )
    return done or (render_template("admin/user_new.html", form=form), form_status(form))


def _user_button(user_id: int) -> User:
    """The account a button on the Users page acts on (the post must carry its token)."""
    confirm_post()
    return db.session.get(User, user_id) or abort(404)


def _to_users(exc: DomainError) -> ResponseReturnValue:
    return alert(exc, url_for("admin.users"))


@bp.route("/users/<int:user_id>/reset-password", methods=["POST"])
@capability_required(Capability.ADMINISTER)
def reset_password(user_id: int) -> ResponseReturnValue:
    """Give the account a generated password, shown once; its sessions end."""
    user = _user_button(user_id)
    return commit(
        lambda: auth_service.reset_password(user, current_staff()),
        lambda password: render_template(
            "admin/password_shown.html", user=user, password=password, reset=True
        ),
        _to_users,
    )


@bp.route("/users/<int:user_id>/password-link", methods=["POST"])
@capability_required(Capability.ADMINISTER)
def send_password_link(user_id: int) -> ResponseReturnValue:
    """Email the account a one-time set-password link (when outgoing mail is configured)."""
    user = _user_button(user_id)
    return commit(
        lambda: password_links.send_link(
            user,
            current_staff(),
            lambda token: url_for("auth.set_password", token=token, _external=True),
        ),
        lambda expires: saved(
            f"A set-password link was emailed to {user.email}. It works once, until "
            f"{format_datetime(expires.astimezone(office_tz()))}.",
            url_for("admin.users"),
        ),
        _to_users,
    )


@bp.route("/users/<int:user_id>/<any(disable, enable):change>", methods=["POST"])
@capability_required(Capability.ADMINISTER)
def set_user_active(user_id: int, change: str) -> ResponseReturnValue:
    user = db.session.get(User, user_id) or abort(404)
    return act(
        lambda: auth_service.set_active(user, change == "enable", current_staff()),
        lambda: f"{user.full_name} is now {'active' if user.active else 'disabled'}.",
        url_for("admin.users"),
    )


def districts_context() -> dict[str, object]:
    """The districts served with their ZIP counts, and the ZIP table's size."""
    return {
        "rows": district_service.with_zip_counts(),
        "total_zips": district_service.zip_count(),
    }


@bp.route("/districts")
@capability_required(Capability.ADMINISTER)
def districts() -> ResponseReturnValue:
    from constituent.views.reference import district_page

    return district_page()


@bp.route("/zip-table", methods=["GET", "POST"])
@capability_required(Capability.ADMINISTER)
def zip_upload() -> ResponseReturnValue:
    """Upload a ZIP table (zccd.csv format): a dry run reports, a real run re-districts."""
    form = ZipUploadForm()
    dry_run = bool(form.dry_run.data) if form.is_submitted() else True

    def page(report: district_service.ImportReport | None = None) -> str:
        return render_template("admin/zip_upload.html", form=form, report=report, dry_run=dry_run)

    def upload() -> district_service.ImportReport:
        states = {s.strip().upper() for s in (form.states.data or "").split(",") if s.strip()}
        text = district_service.decode_upload(form.file.data.read())
        return district_service.import_zip_table(
            text, states=states or None, author=current_staff()
        )

    done = submit(form, upload, page, default="file", keep=not dry_run)
    return done or (page(), form_status(form))


@bp.route("/office", methods=["GET", "POST"])
@capability_required(Capability.ADMINISTER)
def office() -> ResponseReturnValue:
    """Every setting of the office, changed in one form (audited)."""
    current = office_service.profile()
    form = OfficeSettingsForm(data=None if request.method == "POST" else vars_of(current))
    if request.method == "GET":
        form.version.data = str(office_service.settings_version())
    version = required_version(form.version) if form.is_submitted() else None
    done = submit(
        form,
        lambda: office_service.save_settings(
            office_service.SettingsInput(
                **{name: form[name].data or "" for name in SETTINGS_FIELDS}
            ),
            by=current_staff(),
            expected_version=version,
        ),
        lambda _: saved("The office's settings are saved.", url_for("admin.office")),
        default="name",
    )
    return done or (
        render_template("admin/office.html", form=form, configured=current.configured),
        form_status(form),
    )


SETTINGS_FIELDS = (
    "name",
    "legislator_name",
    "legislator_title",
    "body",
    "state",
    "office_code",
    "timezone",
    "default_area_code",
)


def vars_of(profile: office_service.OfficeProfile) -> dict[str, str]:
    """The form's initial values from the office's profile."""
    values = {name: getattr(profile, name) or "" for name in SETTINGS_FIELDS}
    values["body"] = profile.body.value if profile.body else ""
    return values


AUDIT_PAGE = 50


def _audit_filters(form: AuditFilterForm) -> audit_service.AuditFilters:
    tz = office_tz()

    def instant(day: date | None, extra: int = 0) -> datetime | None:
        if day is None:
            return None
        return datetime.combine(day + timedelta(days=extra), time.min, tz)

    return audit_service.AuditFilters(
        user=(form.user.data or "").strip(),
        action=form.action.data or "",
        record_type=(form.record_type.data or "").strip(),
        record_id=(form.record_id.data or "").strip().lstrip("#"),
        since=instant(form.since.data),
        before=instant(form.until.data, 1),
    )


@bp.route("/audit")
@capability_required(Capability.ADMINISTER)
def audit() -> ResponseReturnValue:
    """The audit trail, filtered by user, record, action and date, newest first."""
    form = AuditFilterForm(request.args)
    form.action.choices = choices(
        [("", "Any action")] + [(a, action_label(a)) for a in audit_service.known_actions()]
    )
    valid = form.validate()
    filters = _audit_filters(form) if valid else audit_service.AuditFilters()
    total = audit_service.count_events(filters)
    page_no, pages, args = paging(total, AUDIT_PAGE)
    events = audit_service.event_page(filters, page_no, AUDIT_PAGE)
    return render_template(
        "admin/audit.html",
        form=form,
        events=events,
        total=total,
        page=page_no,
        pages=pages,
        args=args,
    ), 200 if valid else 422


@bp.route("/audit.csv")
@capability_required(Capability.ADMINISTER)
def audit_csv() -> ResponseReturnValue:
    """Every audit event matching the filters, streamed as CSV (the export is audited too)."""
    form = AuditFilterForm(request.args)
    form.action.choices = []
    if not form.validate():
        abort(400)
    filters = _audit_filters(form)
    tz = office_tz()
    rows = (
        (
            exports.local_text(e.at, tz),
            e.user_email or "",
            e.action,
            e.record_type or "",
            e.record_id or "",
            e.detail,
            e.ip or "",
        )
        for (e,) in exports.stream_rows(audit_service.find_events(filters))
    )
    header = ["When (office time)", "User", "Action", "Record type", "Record", "Detail", "Address"]
    return csv_download(
        "audit-events.csv", header, rows, record_type="audit", record_id=None, what="audit events"
    )
