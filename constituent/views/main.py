"""Home: each role lands on its own starting page."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue

from constituent.services import districts as district_service
from constituent.services import followups, notifications
from constituent.services.permissions import Capability
from constituent.views.boundary import alert, commit, current_staff, error_page
from constituent.views.helpers import capability_required, local_today, start_page

bp = Blueprint("main", __name__)

MY_WORK_CASES = 10  # rows of each case list on My work; "See all" leads to the case list


@bp.route("/")
def home() -> ResponseReturnValue:
    """Each user starts on the first page of their menu that is a start page."""
    target = start_page()
    if target is not None:
        return redirect(target)
    districts = district_service.districts_for(current_staff())
    return render_template("main/home.html", districts=districts)


@bp.route("/my-work")
@capability_required(Capability.WORK_CASES)
def my_work() -> ResponseReturnValue:
    """What needs doing now (emergencies, unassigned, overdue, due today), then my open cases,
    follow-ups by due date and notifications (supervisors: the team too)."""
    work = followups.my_work(current_staff(), local_today(), case_limit=MY_WORK_CASES)
    return render_template("main/my_work.html", work=work)


@bp.post("/my-work/notifications/<int:notification_id>/read")
@capability_required(Capability.WORK_CASES)
def mark_notification_read(notification_id: int) -> ResponseReturnValue:
    target = url_for("main.my_work") + "#notifications-heading"
    return commit(
        lambda: notifications.mark_read(current_staff(), notification_id),
        lambda _: redirect(target),
        lambda exc: alert(exc, target),
    )


@bp.post("/my-work/notifications/read")
@capability_required(Capability.WORK_CASES)
def mark_all_notifications_read() -> ResponseReturnValue:
    target = url_for("main.my_work")

    def marked(count: int) -> ResponseReturnValue:
        flash(
            f"{count} {'notification' if count == 1 else 'notifications'} marked as read.", "info"
        )
        return redirect(target)

    return commit(lambda: notifications.mark_all_read(current_staff()), marked, error_page)
