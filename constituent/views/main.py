"""Home: each role lands on its own starting page."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user

from constituent.extensions import db
from constituent.models import Role
from constituent.services import districts as district_service
from constituent.services import followups, notifications
from constituent.views.helpers import local_today, roles_required

bp = Blueprint("main", __name__)

# Where each role starts, by endpoint; the first one that exists wins.
START_PAGES = {
    Role.INTAKE: ("intake.log_call",),
    Role.CASEWORKER: ("main.my_work",),
    Role.SUPERVISOR: ("main.my_work",),
    Role.ADMIN: ("admin.users",),
    Role.LEGISLATOR: ("summaries.overview",),
}


@bp.route("/")
def home():  # type: ignore[no-untyped-def]
    from flask import current_app

    for endpoint in START_PAGES.get(current_user.role, ()):
        if endpoint in current_app.view_functions:
            return redirect(url_for(endpoint))
    districts = district_service.districts_for(current_user)
    return render_template("main/home.html", districts=districts)


@bp.route("/my-work")
@roles_required(Role.CASEWORKER, Role.SUPERVISOR)
def my_work():  # type: ignore[no-untyped-def]
    """My open cases, follow-ups by due date and notifications (supervisors: the team too)."""
    work = followups.my_work(current_user._get_current_object(), local_today())
    return render_template("main/my_work.html", work=work)


@bp.post("/my-work/notifications/<int:notification_id>/read")
@roles_required(Role.CASEWORKER, Role.SUPERVISOR)
def mark_notification_read(notification_id: int):  # type: ignore[no-untyped-def]
    notifications.mark_read(current_user._get_current_object(), notification_id)
    db.session.commit()
    return redirect(url_for("main.my_work") + "#notifications-heading")


@bp.post("/my-work/notifications/read")
@roles_required(Role.CASEWORKER, Role.SUPERVISOR)
def mark_all_notifications_read():  # type: ignore[no-untyped-def]
    count = notifications.mark_all_read(current_user._get_current_object())
    db.session.commit()
    flash(f"{count} {'notification' if count == 1 else 'notifications'} marked as read.", "info")
    return redirect(url_for("main.my_work"))
