"""Administration: users and districts (admins only)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from constituent.extensions import db
from constituent.forms import choices
from constituent.forms.agencies import ConfirmForm
from constituent.forms.audit import AuditFilterForm
from constituent.forms.districts import ZipUploadForm
from constituent.forms.office import OfficeSettingsForm
from constituent.forms.users import NewUserForm
from constituent.models import District, User, ZipDistrict
from constituent.services import audit as audit_service
from constituent.services import auth as auth_service
from constituent.services import districts as district_service
from constituent.services import exports, password_links
from constituent.services import office as office_service
from constituent.services.clock import office_tz
from constituent.services.errors import Conflict, DomainError
from constituent.services.permissions import Capability
from constituent.views.errors import render_error
from constituent.views.helpers import (
    capability_required,
    csv_download,
    format_datetime,
    required_version,
)

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.route("/users")
@capability_required(Capability.ADMINISTER)
def users() -> ResponseReturnValue:
    rows = db.session.scalars(sa.select(User).order_by(User.role, User.full_name)).all()
    return render_template(
        "admin/users.html", users=rows, mail_links=password_links.mail_configured()
    )


@bp.route("/users/new", methods=["GET", "POST"])
@capability_required(Capability.ADMINISTER)
def new_user() -> ResponseReturnValue:
    """Create a staff account; its generated password is shown once, on the answer page."""
    form = NewUserForm()
    form.districts.choices = choices(
        (d.code, f"{d.code} · {d.name}") for d in district_service.served_districts()
    )
    status = 200
    if form.validate_on_submit():
        password = auth_service.generate_password()
        try:
            user = auth_service.create_user(
                form.email.data or "",
                form.full_name.data or "",
                form.role.data or "",
                list(form.districts.data or []),
                password,
                mail_triage=bool(form.mail_triage.data),
            )
        except DomainError as exc:
            db.session.rollback()
            target = form[exc.field] if exc.field and exc.field in form else form.email
            target.errors = [*target.errors, exc.message]
            status = 422
        else:
            db.session.commit()
            return render_template("admin/password_shown.html", user=user, password=password)
    elif form.is_submitted():
        status = 422
    return render_template("admin/user_new.html", form=form), status


@bp.route("/users/<int:user_id>/reset-password", methods=["POST"])
@capability_required(Capability.ADMINISTER)
def reset_password(user_id: int) -> ResponseReturnValue:
    """Give the account a generated password, shown once; its sessions end."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    user = db.session.get(User, user_id) or abort(404)
    try:
        password = auth_service.reset_password(user, current_user)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(url_for("admin.users"))
    db.session.commit()
    return render_template("admin/password_shown.html", user=user, password=password, reset=True)


@bp.route("/users/<int:user_id>/password-link", methods=["POST"])
@capability_required(Capability.ADMINISTER)
def send_password_link(user_id: int) -> ResponseReturnValue:
    """Email the account a one-time set-password link (when outgoing mail is configured)."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    user = db.session.get(User, user_id) or abort(404)
    try:
        expires = password_links.send_link(
            user,
            current_user,
            lambda token: url_for("auth.set_password", token=token, _external=True),
        )
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(url_for("admin.users"))
    db.session.commit()
    flash(
        f"A set-password link was emailed to {user.email}. It works once, until "
        f"{format_datetime(expires.astimezone(office_tz()))}.",
        "success",
    )
    return redirect(url_for("admin.users"))


@bp.route("/users/<int:user_id>/<any(disable, enable):change>", methods=["POST"])
@capability_required(Capability.ADMINISTER)
def set_user_active(user_id: int, change: str) -> ResponseReturnValue:
    user = db.session.get(User, user_id) or abort(404)
    try:
        auth_service.set_active(user, change == "enable", current_user)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(url_for("admin.users"))
    db.session.commit()
    flash(f"{user.full_name} is now {'active' if user.active else 'disabled'}.", "success")
    return redirect(url_for("admin.users"))


def districts_context() -> dict[str, object]:
    """The districts served with their ZIP counts, and the ZIP table's size."""
    rows = db.session.execute(
        sa.select(District, sa.func.count(ZipDistrict.zip5))
        .outerjoin(ZipDistrict, ZipDistrict.district_code == District.code)
        .group_by(District.id)
        .order_by(District.code)
    ).all()
    total_zips = db.session.scalar(sa.select(sa.func.count(sa.distinct(ZipDistrict.zip5))))
    return {"rows": rows, "total_zips": total_zips}


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
    report, dry_run, status = None, True, 200
    if form.validate_on_submit():
        dry_run = bool(form.dry_run.data)
        states = {s.strip().upper() for s in (form.states.data or "").split(",") if s.strip()}
        try:
            text = district_service.decode_upload(form.file.data.read())
            report = district_service.import_zip_table(
                text, states=states or None, author=current_user
            )
        except DomainError as exc:
            db.session.rollback()
            form.file.errors = [*form.file.errors, exc.message]
            status = 422
        else:
            if dry_run:
                db.session.rollback()
            else:
                db.session.commit()
    elif form.is_submitted():
        status = 422
    return render_template(
        "admin/zip_upload.html", form=form, report=report, dry_run=dry_run
    ), status


@bp.route("/office", methods=["GET", "POST"])
@capability_required(Capability.ADMINISTER)
def office() -> ResponseReturnValue:
    """Every setting of the office, changed in one form (audited)."""
    current = office_service.profile()
    form = OfficeSettingsForm(data=None if request.method == "POST" else vars_of(current))
    if request.method == "GET":
        form.version.data = str(office_service.settings_version())
    version = required_version(form.version) if form.is_submitted() else None
    status = 200
    if form.validate_on_submit():
        try:
            office_service.save_settings(
                office_service.SettingsInput(
                    **{name: form[name].data or "" for name in SETTINGS_FIELDS}
                ),
                by=current_user,
                expected_version=version,
            )
        except Conflict as exc:
            db.session.rollback()
            return render_error(409, exc.message)
        except DomainError as exc:
            db.session.rollback()
            form[exc.field or "name"].errors = [exc.message]
            status = 422
        else:
            db.session.commit()
            flash("The office's settings are saved.", "success")
            return redirect(url_for("admin.office"))
    elif form.is_submitted():
        status = 422
    return render_template("admin/office.html", form=form, configured=current.configured), status


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
        [("", "Any action")] + [(a, a) for a in audit_service.known_actions()]
    )
    valid = form.validate()
    filters = _audit_filters(form) if valid else audit_service.AuditFilters()
    query = audit_service.find_events(filters)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0
    page = request.args.get("page", "1")
    page_no = int(page) if page.isdigit() and len(page) < 7 else 1
    pages = max(1, -(-total // AUDIT_PAGE))
    page_no = min(page_no, pages)
    events = db.session.scalars(query.limit(AUDIT_PAGE).offset((page_no - 1) * AUDIT_PAGE))
    args = {k: v for k, v in request.args.items() if k != "page"}
    return render_template(
        "admin/audit.html",
        form=form,
        events=list(events),
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
