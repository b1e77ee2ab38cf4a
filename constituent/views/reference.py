"""The office's reference data on admin pages: districts, single ZIPs and categories."""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from flask_wtf import FlaskForm

from constituent import jobs
from constituent.extensions import db
from constituent.forms import choices
from constituent.forms.agencies import ConfirmForm
from constituent.forms.categories import (
    CategoryForm,
    CategoryImportForm,
    CategoryMergeForm,
    CategoryRenameForm,
)
from constituent.forms.districts import DistrictEditForm, DistrictForm, ZipAddForm
from constituent.forms.imports import CaseloadUploadForm
from constituent.models import Category, District, ImportStatus
from constituent.services import categories as category_service
from constituent.services import districts as district_service
from constituent.services import import_jobs, imports
from constituent.services.errors import DomainError
from constituent.services.permissions import Capability
from constituent.views.helpers import capability_required

bp = Blueprint("reference", __name__, url_prefix="/admin")


def _submit(form: FlaskForm, change: Callable[[], str]) -> bool:
    """Validate, call the service, commit and flash its message; a refusal rolls back and is
    shown beside its field. True when saved."""
    if not form.validate_on_submit():
        return False
    try:
        message = change()
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        if exc.field and exc.field in form:
            form[exc.field].errors = [*form[exc.field].errors, exc.message]
        else:
            form.form_errors.append(exc.message)
        return False
    flash(message, "success")
    return True


def _confirm() -> None:
    if not ConfirmForm().validate_on_submit():
        abort(400)


def district_page(
    district_form: DistrictForm | None = None, zip_form: ZipAddForm | None = None
) -> str:
    """The Districts page with its two forms (their errors, after a refused post)."""
    from constituent.views.admin import districts_context

    return render_template(
        "admin/districts.html",
        district_form=district_form or DistrictForm(formdata=None),
        zip_form=zip_form or ZipAddForm(formdata=None),
        **districts_context(),
    )


@bp.route("/districts/new", methods=["POST"])
@capability_required(Capability.ADMINISTER)
def add_district() -> ResponseReturnValue:
    form = DistrictForm()

    def add() -> str:
        district = district_service.add_district(
            district_service.DistrictSpec(
                code=form.code.data or "",
                name=form.name.data or "",
                state=(form.state.data or "").strip() or None,
                legislator_name=form.legislator_name.data or None,
            ),
            by=current_user,
        )
        return f"Added district {district.code}."

    if _submit(form, add):
        return redirect(url_for("admin.districts"))
    return district_page(district_form=form), 422


@bp.route("/districts/<int:district_id>/edit", methods=["GET", "POST"])
@capability_required(Capability.ADMINISTER)
def edit_district(district_id: int) -> ResponseReturnValue:
    district = db.session.get(District, district_id) or abort(404)
    form = DistrictEditForm(obj=district)

    def save() -> str:
        district_service.edit_district(
            district, form.name.data or "", form.legislator_name.data or "", by=current_user
        )
        return f"Saved {district.code}."

    if _submit(form, save):
        return redirect(url_for("admin.districts"))
    status = 422 if form.is_submitted() else 200
    return render_template("admin/district_edit.html", form=form, district=district), status


@bp.route("/districts/<int:district_id>/<any(deactivate, activate):change>", methods=["POST"])
@capability_required(Capability.ADMINISTER)
def set_district_active(district_id: int, change: str) -> ResponseReturnValue:
    _confirm()
    district = db.session.get(District, district_id) or abort(404)
    try:
        district_service.set_district_active(district, change == "activate", by=current_user)
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    else:
        flash(f"{district.code} is {'active' if district.active else 'deactivated'}.", "success")
    return redirect(url_for("admin.districts"))


@bp.route("/zips/new", methods=["POST"])
@capability_required(Capability.ADMINISTER)
def add_zip() -> ResponseReturnValue:
    form = ZipAddForm()

    def add() -> str:
        row = district_service.add_zip(
            form.zip5.data or "", form.district.data or "", by=current_user
        )
        return f"ZIP {row.zip5} is in {row.district_code}."

    if _submit(form, add):
        return redirect(url_for("admin.districts"))
    return district_page(zip_form=form), 422


@bp.route("/import", methods=["GET", "POST"])
@capability_required(Capability.ADMINISTER)
def import_caseload() -> ResponseReturnValue:
    """Upload constituents or cases (documented layouts). The dry run and the import run in
    the background, with a progress bar on the job's page, then every refused row there."""
    form = CaseloadUploadForm()
    if form.validate_on_submit():
        return _start_import(form)
    return _import_page(form), 422 if form.is_submitted() else 200


def _import_page(form: CaseloadUploadForm) -> str:
    return render_template(
        "admin/import.html",
        form=form,
        running=import_jobs.running_job(),
        latest=import_jobs.latest_job(),
        layouts={
            "Constituents": imports.CONSTITUENT_COLUMNS,
            "Cases": imports.CASE_COLUMNS,
        },
    )


def _start_import(form: CaseloadUploadForm) -> ResponseReturnValue:
    """Keep the file, record the job, commit, and hand it to a thread; off to its progress."""
    upload = form.file.data
    dry_run = bool(form.dry_run.data)
    path, total = jobs.keep_upload(upload)
    try:
        job = import_jobs.start_job(
            form.kind.data or "", upload.filename or "", total, by=current_user, dry_run=dry_run
        )
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        path.unlink(missing_ok=True)
        target = form[exc.field] if exc.field and exc.field in form else form.file
        target.errors = [*target.errors, exc.message]
        return _import_page(form), 422
    jobs.start_import(
        current_app._get_current_object(),  # type: ignore[attr-defined]
        job.id,
        path,
        current_user.id,
        dry_run=dry_run,
    )
    return redirect(url_for(".import_job", job_id=job.id))


def _job_context(job_id: int) -> dict[str, object]:
    job = import_jobs.get_job(job_id)
    running = job.status == ImportStatus.RUNNING and not import_jobs.is_stalled(job)
    return {
        "job": job,
        "running": running,
        "stalled": import_jobs.is_stalled(job),
        "percent": import_jobs.percent(job),
        "report": import_jobs.report_of(job),
    }


@bp.route("/import/<int:job_id>")
@capability_required(Capability.ADMINISTER)
def import_job(job_id: int) -> ResponseReturnValue:
    """An import's progress bar (refreshed while it runs), then what it imported and refused."""
    return render_template("admin/import_job.html", **_job_context(job_id))


@bp.route("/import/<int:job_id>/progress")
@capability_required(Capability.ADMINISTER)
def import_progress(job_id: int) -> ResponseReturnValue:
    """htmx: the progress region alone (it stops asking once the import has ended)."""
    return render_template("admin/_import_progress.html", **_job_context(job_id))


# --- categories ---------------------------------------------------------------------------


def _categories_page(
    form: CategoryForm | None = None,
    import_form: CategoryImportForm | None = None,
    report: category_service.CategoryImport | None = None,
) -> str:
    return render_template(
        "admin/categories.html",
        rows=category_service.with_case_counts(),
        form=form or CategoryForm(formdata=None),
        import_form=import_form or CategoryImportForm(formdata=None),
        report=report,
    )


@bp.route("/categories", methods=["GET", "POST"])
@capability_required(Capability.ADMINISTER)
def categories() -> ResponseReturnValue:
    form = CategoryForm()

    def add() -> str:
        category = category_service.add_category(
            form.name.data or "", form.description.data or "", by=current_user
        )
        return f"Added {category.name}."

    if _submit(form, add):
        return redirect(url_for("reference.categories"))
    return _categories_page(form=form), 422 if form.is_submitted() else 200


@bp.route("/categories/import", methods=["POST"])
@capability_required(Capability.ADMINISTER)
def import_categories() -> ResponseReturnValue:
    form = CategoryImportForm()
    report = None
    if form.validate_on_submit():
        try:
            text = district_service.decode_upload(form.file.data.read())
            report = category_service.import_categories(text, by=current_user)
            db.session.commit()
        except DomainError as exc:
            db.session.rollback()
            form.file.errors = [*form.file.errors, exc.message]
    status = 200 if report is not None and not report.refused else 422
    return _categories_page(import_form=form, report=report), status


def _merge_form(category: Category) -> CategoryMergeForm:
    form = CategoryMergeForm()
    form.target.choices = choices(
        (c.id, c.name)
        for c, _ in category_service.with_case_counts()
        if c.active and c.id != category.id
    )
    return form


@bp.route("/categories/<int:category_id>", methods=["GET", "POST"])
@capability_required(Capability.ADMINISTER)
def category(category_id: int) -> ResponseReturnValue:
    """Rename a category; from here also merge or deactivate it."""
    item = db.session.get(Category, category_id) or abort(404)
    form = CategoryRenameForm(obj=item)

    def rename() -> str:
        old = item.name
        category_service.rename_category(item, form.name.data or "", by=current_user)
        return f"Renamed {old} to {item.name}."

    if _submit(form, rename):
        return redirect(url_for("reference.categories"))
    status = 422 if form.is_submitted() else 200
    return render_template(
        "admin/category.html",
        category=item,
        form=form,
        merge_form=_merge_form(item),
    ), status


@bp.route("/categories/<int:category_id>/merge", methods=["POST"])
@capability_required(Capability.ADMINISTER)
def merge_category(category_id: int) -> ResponseReturnValue:
    item = db.session.get(Category, category_id) or abort(404)
    form = _merge_form(item)
    name = item.name

    def merge() -> str:
        target = db.session.get(Category, form.target.data)
        if target is None:
            raise DomainError("Choose the category to merge into.", field="target")
        report = category_service.merge_categories(item, target, by=current_user)
        return (
            f"Merged {name} into {target.name}: {report.cases} cases, {report.rules} routing "
            f"rules and {report.agencies} agencies moved."
        )

    if _submit(form, merge):
        return redirect(url_for("reference.categories"))
    rename = CategoryRenameForm(data={"name": item.name})
    return render_template("admin/category.html", category=item, form=rename, merge_form=form), 422


@bp.route("/categories/<int:category_id>/<any(deactivate, activate):change>", methods=["POST"])
@capability_required(Capability.ADMINISTER)
def set_category_active(category_id: int, change: str) -> ResponseReturnValue:
    _confirm()
    item = db.session.get(Category, category_id) or abort(404)
    category_service.set_active(item, change == "activate", by=current_user)
    db.session.commit()
    flash(f"{item.name} is {'active' if item.active else 'deactivated'}.", "success")
    return redirect(url_for("reference.categories"))
