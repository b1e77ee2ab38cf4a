"""The office's reference data on admin pages: districts, single ZIPs and categories."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from flask import Blueprint, abort, current_app, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm

from constituent import jobs
from constituent.extensions import db
from constituent.forms import choices
from constituent.forms.categories import (
    CategoryForm,
    CategoryImportForm,
    CategoryMergeForm,
    CategoryPublicForm,
    CategoryRenameForm,
)
from constituent.forms.districts import DistrictEditForm, DistrictForm, ZipAddForm
from constituent.forms.imports import CaseloadUploadForm
from constituent.forms.release_templates import AgenciesForm, TemplateForm, VersionForm
from constituent.models import (
    Category,
    District,
    IdentifierKind,
    ImportJob,
    ImportStatus,
    ReleaseTemplate,
    User,
)
from constituent.services import categories as category_service
from constituent.services import districts as district_service
from constituent.services import import_jobs, imports, releases
from constituent.services import release_templates as template_service
from constituent.services.errors import DomainError
from constituent.services.permissions import Capability
from constituent.views import boundary
from constituent.views.helpers import capability_required, confirm_post

bp = Blueprint("reference", __name__, url_prefix="/admin")


def _submit(
    form: FlaskForm, change: Callable[[User], str], endpoint: str
) -> ResponseReturnValue | None:
    """``boundary.submit`` of ``change(by)`` (``by`` the signed-in staff), which answers the
    success message; then to ``endpoint``."""
    return boundary.submit(
        form,
        lambda: change(boundary.current_staff()),
        lambda message: boundary.saved(message, url_for(endpoint)),
    )


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

    def add(by: User) -> str:
        district = district_service.add_district(
            district_service.DistrictSpec(
                code=form.code.data or "",
                name=form.name.data or "",
                state=(form.state.data or "").strip() or None,
                legislator_name=form.legislator_name.data or None,
            ),
            by=by,
        )
        return f"Added district {district.code}."

    return _submit(form, add, "admin.districts") or (district_page(district_form=form), 422)


@bp.route("/districts/<int:district_id>/edit", methods=["GET", "POST"])
@capability_required(Capability.ADMINISTER)
def edit_district(district_id: int) -> ResponseReturnValue:
    district = db.session.get(District, district_id) or abort(404)
    form = DistrictEditForm(obj=district)

    def save(by: User) -> str:
        district_service.edit_district(
            district, form.name.data or "", form.legislator_name.data or "", by=by
        )
        return f"Saved {district.code}."

    return _submit(form, save, "admin.districts") or (
        render_template("admin/district_edit.html", form=form, district=district),
        boundary.form_status(form),
    )


class _Switchable(NamedTuple):
    """A kind of reference record an admin activates or deactivates: what names one in the
    message, its service's ``set_active(record, active, by=...)``, the page to return to."""

    name: Callable[[Any], str]
    set_active: Callable[..., None]
    endpoint: str


_SWITCHABLE: dict[type[District] | type[Category], _Switchable] = {
    District: _Switchable(
        lambda d: d.code, district_service.set_district_active, "admin.districts"
    ),
    Category: _Switchable(lambda c: c.name, category_service.set_active, "reference.categories"),
}


def _set_active(
    model: type[District] | type[Category], ident: int, change: str
) -> ResponseReturnValue:
    """Activate or deactivate (``change``) the district or category ``ident``; then back to
    its list."""
    confirm_post()
    record: District | Category = db.session.get(model, ident) or abort(404)
    kind = _SWITCHABLE[model]
    return boundary.act(
        lambda: kind.set_active(record, change == "activate", by=boundary.current_staff()),
        lambda: f"{kind.name(record)} is {'active' if record.active else 'deactivated'}.",
        url_for(kind.endpoint),
    )


@bp.route("/districts/<int:district_id>/<any(deactivate, activate):change>", methods=["POST"])
@capability_required(Capability.ADMINISTER)
def set_district_active(district_id: int, change: str) -> ResponseReturnValue:
    return _set_active(District, district_id, change)


@bp.route("/zips/new", methods=["POST"])
@capability_required(Capability.ADMINISTER)
def add_zip() -> ResponseReturnValue:
    form = ZipAddForm()

    def add(by: User) -> str:
        row = district_service.add_zip(form.zip5.data or "", form.district.data or "", by=by)
        return f"ZIP {row.zip5} is in {row.district_code}."

    return _submit(form, add, "admin.districts") or (district_page(zip_form=form), 422)


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

    def started(job: ImportJob) -> ResponseReturnValue:
        jobs.start_import(
            current_app._get_current_object(),  # type: ignore[attr-defined]
            job.id,
            path,
            boundary.current_staff().id,
            dry_run=dry_run,
        )
        return redirect(url_for(".import_job", job_id=job.id))

    def refused(exc: DomainError) -> ResponseReturnValue:
        path.unlink(missing_ok=True)
        boundary.attach_error(form, exc, "file")
        return _import_page(form), 422

    return boundary.commit(
        lambda: import_jobs.start_job(
            form.kind.data or "",
            upload.filename or "",
            total,
            by=boundary.current_staff(),
            dry_run=dry_run,
        ),
        started,
        refused,
    )


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

    def add(by: User) -> str:
        category = category_service.add_category(
            form.name.data or "", form.description.data or "", by=by
        )
        return f"Added {category.name}."

    return _submit(form, add, "reference.categories") or (
        _categories_page(form=form),
        boundary.form_status(form),
    )


@bp.route("/categories/import", methods=["POST"])
@capability_required(Capability.ADMINISTER)
def import_categories() -> ResponseReturnValue:
    form = CategoryImportForm()
    done = boundary.submit(
        form,
        lambda: category_service.import_categories(
            district_service.decode_upload(form.file.data.read()), by=boundary.current_staff()
        ),
        lambda report: (
            _categories_page(import_form=form, report=report),
            422 if report.refused else 200,
        ),
        refused=lambda exc: boundary.attach_error(form, exc, "file"),
    )
    return done or (_categories_page(import_form=form), 422)


def _category_page(
    item: Category,
    *,
    form: CategoryRenameForm | None = None,
    merge_form: CategoryMergeForm | None = None,
    public_form: CategoryPublicForm | None = None,
) -> str:
    """The category page with its three forms (the submitted one re-shown with its errors)."""
    if public_form is None:
        public_form = CategoryPublicForm(
            formdata=None,
            public=item.public,
            name_es=item.public_name_es or "",
            blurb_en=item.public_blurb_en or "",
            blurb_es=item.public_blurb_es or "",
            asks=[a for a in item.asks_identifiers.split(",") if a],
        )
    public_form.asks.choices = choices((k.value, k.label) for k in IdentifierKind)
    return render_template(
        "admin/category.html",
        category=item,
        form=form or CategoryRenameForm(formdata=None, data={"name": item.name}),
        merge_form=merge_form or _merge_form(item),
        public_form=public_form,
    )


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

    def rename(by: User) -> str:
        old = item.name
        category_service.rename_category(item, form.name.data or "", by=by)
        return f"Renamed {old} to {item.name}."

    return _submit(form, rename, "reference.categories") or (
        _category_page(item, form=form),
        boundary.form_status(form),
    )


@bp.route("/categories/<int:category_id>/merge", methods=["POST"])
@capability_required(Capability.ADMINISTER)
def merge_category(category_id: int) -> ResponseReturnValue:
    item = db.session.get(Category, category_id) or abort(404)
    form = _merge_form(item)
    name = item.name

    def merge(by: User) -> str:
        target = db.session.get(Category, form.target.data)
        if target is None:
            raise DomainError("Choose the category to merge into.", field="target")
        report = category_service.merge_categories(item, target, by=by)
        return (
            f"Merged {name} into {target.name}: {report.cases} cases, {report.rules} routing "
            f"rules and {report.agencies} agencies moved."
        )

    return _submit(form, merge, "reference.categories") or (
        _category_page(item, merge_form=form),
        422,
    )


@bp.route("/categories/<int:category_id>/<any(deactivate, activate):change>", methods=["POST"])
@capability_required(Capability.ADMINISTER)
def set_category_active(category_id: int, change: str) -> ResponseReturnValue:
    return _set_active(Category, category_id, change)


@bp.route("/categories/<int:category_id>/public", methods=["POST"])
@capability_required(Capability.ADMINISTER)
def category_public(category_id: int) -> ResponseReturnValue:
    """Offer the category on the public help form (or stop), with its sentences."""
    item = db.session.get(Category, category_id) or abort(404)
    form = CategoryPublicForm()
    form.asks.choices = choices((k.value, k.label) for k in IdentifierKind)

    def change() -> str:
        category_service.set_public(
            item,
            public=bool(form.public.data),
            blurb_en=form.blurb_en.data or "",
            blurb_es=form.blurb_es.data or "",
            asks=list(form.asks.data or []),
            name_es=form.name_es.data or "",
            by=boundary.current_staff(),
        )
        shown = "is offered" if item.public else "is not offered"
        return f"{item.name} {shown} on the public help form."

    done = boundary.submit(
        form,
        change,
        lambda message: boundary.saved(message, url_for("reference.category", category_id=item.id)),
    )
    return done or (_category_page(item, public_form=form), 422)


# --- release templates (the wording residents sign on the public form) ---------------------


def _agency_choices(form: TemplateForm | AgenciesForm) -> None:
    form.agencies.choices = choices((a.id, a.label) for a in releases.active_agencies())


def _templates_page(form: TemplateForm | None = None) -> str:
    if form is None:
        form = TemplateForm(formdata=None)
    _agency_choices(form)
    return render_template(
        "admin/release_templates.html",
        templates=template_service.all_templates(),
        latest=template_service.latest,
        form=form,
    )


@bp.route("/release-templates", methods=["GET", "POST"])
@capability_required(Capability.ADMINISTER)
def release_templates() -> ResponseReturnValue:
    """The release wordings residents sign online; add one (with its first version)."""
    form = TemplateForm()
    _agency_choices(form)

    def create() -> ReleaseTemplate:
        return template_service.create_template(
            form.name.data or "",
            releases.agencies_by_id(list(form.agencies.data or [])),
            form.text_en.data or "",
            form.text_es.data or "",
            by=boundary.current_staff(),
        )

    done = boundary.submit(
        form,
        create,
        lambda template: boundary.saved(
            f"Added {template.name} (version 1).",
            url_for("reference.release_template", release_template_id=template.id),
        ),
    )
    return done or (_templates_page(form), boundary.form_status(form))


def _template_page(
    template: ReleaseTemplate,
    version_form: VersionForm | None = None,
    agencies_form: AgenciesForm | None = None,
) -> str:
    current = template_service.latest(template)
    if version_form is None:
        version_form = VersionForm(
            formdata=None,
            text_en=current.text_en if current else "",
            text_es=current.text_es if current else "",
        )
    if agencies_form is None:
        agencies_form = AgenciesForm(formdata=None, agencies=[a.id for a in template.agencies])
    _agency_choices(agencies_form)
    return render_template(
        "admin/release_template.html",
        template=template,
        current=current,
        version_form=version_form,
        agencies_form=agencies_form,
    )


def _change_template(
    template: ReleaseTemplate,
    form: FlaskForm,
    change: Callable[[], Any],
    message: Callable[[Any], str],
) -> ResponseReturnValue | None:
    """``boundary.submit`` of a change to ``template``, then back to its page saying
    ``message(what change answered)``; None when refused (the form carries the error)."""
    return boundary.submit(
        form,
        change,
        lambda done: boundary.saved(
            message(done), url_for("reference.release_template", release_template_id=template.id)
        ),
    )


@bp.get("/release-templates/<int:release_template_id>")
@capability_required(Capability.ADMINISTER)
def release_template(release_template_id: int) -> ResponseReturnValue:
    """One template: its versions (never edited), a new version, its agencies."""
    return _template_page(template_service.get_template(release_template_id))


@bp.post("/release-templates/<int:release_template_id>/versions")
@capability_required(Capability.ADMINISTER)
def release_template_version(release_template_id: int) -> ResponseReturnValue:
    """A new version of the wording."""
    template = template_service.get_template(release_template_id)
    form = VersionForm()
    return _change_template(
        template,
        form,
        lambda: template_service.add_version(
            template, form.text_en.data or "", form.text_es.data or "", by=boundary.current_staff()
        ),
        lambda version: (
            f"Version {version.number} of {template.name} is what residents read from now on."
        ),
    ) or (_template_page(template, version_form=form), 422)


@bp.post("/release-templates/<int:release_template_id>/agencies")
@capability_required(Capability.ADMINISTER)
def release_template_agencies(release_template_id: int) -> ResponseReturnValue:
    """The agencies the template covers."""
    template = template_service.get_template(release_template_id)
    form = AgenciesForm()
    _agency_choices(form)
    return _change_template(
        template,
        form,
        lambda: template_service.set_agencies(
            template,
            releases.agencies_by_id(list(form.agencies.data or [])),
            by=boundary.current_staff(),
        ),
        lambda _: f"{template.name} now covers {', '.join(a.label for a in template.agencies)}.",
    ) or (_template_page(template, agencies_form=form), 422)


@bp.post("/release-templates/<int:release_template_id>/<any(deactivate, activate):change>")
@capability_required(Capability.ADMINISTER)
def set_release_template_active(release_template_id: int, change: str) -> ResponseReturnValue:
    confirm_post()
    template = template_service.get_template(release_template_id)
    return boundary.act(
        lambda: template_service.set_active(
            template, change == "activate", by=boundary.current_staff()
        ),
        lambda: f"{template.name} is {'offered' if template.active else 'no longer offered'}.",
        url_for("reference.release_template", release_template_id=template.id),
    )
