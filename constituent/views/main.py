"""Home: each role lands on its own starting page."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user

from constituent.extensions import db
from constituent.services import districts as district_service
from constituent.services import followups, notifications
from constituent.services.permissions import Capability
from constituent.views.helpers import capability_required, local_today, start_page

bp = Blueprint("main", __name__)


@bp.route("/")
def home():  # type: ignore[no-untyped-def]
    """Each user starts on the first page of their menu that is a start page."""
    target = start_page()
    if target is not None:
        return redirect(target)
    districts = district_service.districts_for(current_user)
    return render_template("main/home.html", districts=districts)


@bp.route("/my-work")
@capability_required(Capability.WORK_CASES)
def my_work():  # type: ignore[no-untyped-def]
    """My open cases, follow-ups by due date and notifications (supervisors: the team too)."""
    work = followups.my_work(current_user._get_current_object(), local_today())
    return render_template("main/my_work.html", work=work)


@bp.post("/my-work/notifications/<int:notification_id>/read")
@capability_required(Capability.WORK_CASES)
def mark_notification_read(notification_id: int):  # type: ignore[no-untyped-def]
    notifications.mark_read(current_user._get_current_object(), notification_id)
    db.session.commit()
    return redirect(url_for("main.my_work") + "#notifications-heading")


@bp.post("/my-work/notifications/read")
@capability_required(Capability.WORK_CASES)
def mark_all_notifications_read():  # type: ignore[no-untyped-def]
    count = notifications.mark_all_read(current_user._get_current_object())
    db.session.commit()
    flash(f"{count} {'notification' if count == 1 else 'notifications'} marked as read.", "info")
    return redirect(url_for("main.my_work"))
