"""The agency directory, contacts, routing rules and letter templates."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm

from constituent.forms import choices
from constituent.forms.agencies import (
    AgencyFilterForm,
    AgencyForm,
    ConfirmForm,
    ContactForm,
    ImportForm,
    RuleForm,
    RuleTryForm,
)
from constituent.forms.letters import LetterTemplateForm
from constituent.models import Category, District, LetterKind, RoutingRule
from constituent.services import agencies as agency_service
from constituent.services import categories as category_service
from constituent.services import districts, routing
from constituent.services import letters as letter_service
from constituent.services.districts import decode_upload
from constituent.services.errors import Conflict, DomainError
from constituent.services.permissions import Capability
from constituent.views.boundary import (
    act,
    alert,
    attach_error,
    commit,
    current_staff,
    form_status,
    saved,
    submit,
)
from constituent.views.helpers import capability_required, confirm_post, required_version

bp = Blueprint("agencies", __name__, url_prefix="/agencies")

PER_PAGE = 25


# ---------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------


def _save(form: FlaskForm, save: Callable[[], tuple[str, str]]) -> ResponseReturnValue | None:
    """Submit a form whose ``save`` calls the service and returns the flash message and where
    to go (None: show the form again)."""
    return submit(form, save, lambda done: saved(*done))


class _Refusals:
    """How an edit form shows a refusal: a Conflict (someone saved since the form was loaded)
    above the differences, with a 409, the form now carrying the saved version so that saving
    again replaces theirs; any other beside its field."""

    def __init__(self, form: FlaskForm, saved_version: Callable[[], int]) -> None:
        self.form, self.saved_version = form, saved_version
        self.conflict: Conflict | None = None

    def __call__(self, exc: DomainError) -> None:
        if not isinstance(exc, Conflict):
            return attach_error(self.form, exc)
        self.conflict = exc
        self.form.form_errors.append(
            exc.message + " Check the differences below; saving "
            "again replaces what is now saved with your entries."
        )
        self.form.version.data = str(self.saved_version())

    @property
    def changes(self) -> list[tuple[str, str, str]] | None:
        return self.conflict.changes if self.conflict else None

    @property
    def status(self) -> int:
        return 409 if self.conflict else form_status(self.form)


def _categories() -> list[Category]:
    return category_service.active_categories()


def _districts() -> list[District]:
    return districts.served_districts(include_inactive=True)


# ---------------------------------------------------------------------------------------
# Agencies
# ---------------------------------------------------------------------------------------


@bp.route("/")
@capability_required(Capability.VIEW_AGENCIES)
def agency_list() -> ResponseReturnValue:
    """The directory: search, filters by level, category and status, in pages."""
    form = AgencyFilterForm(formdata=request.args)
    categories = _categories()
    form.category.choices = choices([("", "Any category")] + [(c.id, c.name) for c in categories])
    status = 200
    if request.args and not form.validate():
        status = 400
        page = agency_service.AgencyPage(items=[], total=0, page=1, per_page=PER_PAGE)
    else:
        page = agency_service.find_agencies(
            query=form.q.data or "",
            level=form.level.data or None,
            category_id=form.category.data,
            status=form.status.data or "active",
            page=request.args.get("page", 1, type=int),
            per_page=PER_PAGE,
        )
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template(
        "agencies/list.html", form=form, page=page, args=args, filtered=bool(args)
    ), status


@bp.route("/<int:agency_id>")
@capability_required(Capability.VIEW_AGENCIES)
def agency_detail(agency_id: int) -> ResponseReturnValue:
    """An agency, its contacts, the rules that suggest it, and how often it was used."""
    agency = agency_service.get_agency(agency_id)
    total, waiting = agency_service.referral_counts(agency)
    rules = routing.rules_for_agency(agency.id)
    return render_template(
        "agencies/detail.html",
        agency=agency,
        referrals_total=total,
        referrals_waiting=waiting,
        rules=rules,
        confirm=ConfirmForm(),
        describe_rule=routing.describe_rule,
    )


def _agency_data(form: AgencyForm) -> agency_service.AgencyData:
    return agency_service.AgencyData(
        name=form.name.data or "",
        level=form.level.data or "",
        acronym=form.acronym.data,
        category_ids=list(form.category_ids.data or []),
        expected_response_days=form.expected_response_days.data,
        website=form.website.data,
        notes=form.notes.data,
    )


@bp.route("/new", methods=["GET", "POST"])
@capability_required(Capability.MANAGE_DIRECTORY)
def agency_new() -> ResponseReturnValue:
    """Add an agency to the directory."""
    form = AgencyForm()
    categories = _categories()
    form.category_ids.choices = choices((c.id, c.name) for c in categories)

    def save() -> tuple[str, str]:
        agency = agency_service.create_agency(_agency_data(form), current_staff())
        return (
            f"{agency.name} was added to the directory.",
            url_for("agencies.agency_detail", agency_id=agency.id),
        )

    return _save(form, save) or (
        render_template("agencies/form.html", form=form, agency=None, categories=categories),
        form_status(form),
    )


@bp.route("/<int:agency_id>/edit", methods=["GET", "POST"])
@capability_required(Capability.MANAGE_DIRECTORY)
def agency_edit(agency_id: int) -> ResponseReturnValue:
    """Edit an agency; a save over someone else's newer save is refused (409)."""
    agency = agency_service.get_agency(agency_id)
    form = AgencyForm(obj=agency)
    categories = _categories()
    form.category_ids.choices = choices((c.id, c.name) for c in categories)
    if not form.is_submitted():
        form.category_ids.data = [c.id for c in agency.categories]
        form.version.data = str(agency.version)
    expected = required_version(form.version) if form.is_submitted() else agency.version
    refused = _Refusals(form, lambda: agency_service.get_agency(agency_id).version)
    done = submit(
        form,
        lambda: agency_service.update_agency(agency, _agency_data(form), expected, current_staff()),
        lambda _: saved(
            f"{agency.name} was saved.", url_for("agencies.agency_detail", agency_id=agency.id)
        ),
        refused=refused,
    )
    return done or (
        render_template(
            "agencies/form.html",
            form=form,
            agency=agency,
            categories=categories,
            changes=refused.changes,
        ),
        refused.status,
    )


def _set_agency_active(agency_id: int, active: bool, message: str) -> ResponseReturnValue:
    """Offer an agency (``active``) or stop offering it; ``message`` names it as {name}."""
    confirm_post()
    agency = agency_service.get_agency(agency_id)
    return act(
        lambda: agency_service.set_agency_active(agency, active, current_staff()),
        message.format(name=agency.name),
        url_for("agencies.agency_detail", agency_id=agency_id),
    )


@bp.route("/<int:agency_id>/deactivate", methods=["POST"])
@capability_required(Capability.MANAGE_DIRECTORY)
def agency_deactivate(agency_id: int) -> ResponseReturnValue:
    """Stop offering an agency for new referrals and routing; its history stays."""
    message = "{name} was deactivated: it is no longer offered for new referrals."
    return _set_agency_active(agency_id, False, message)


@bp.route("/<int:agency_id>/activate", methods=["POST"])
@capability_required(Capability.MANAGE_DIRECTORY)
def agency_activate(agency_id: int) -> ResponseReturnValue:
    """Offer an agency again."""
    return _set_agency_active(agency_id, True, "{name} is active again.")


@bp.route("/<int:agency_id>/delete", methods=["POST"])
@capability_required(Capability.MANAGE_DIRECTORY)
def agency_delete(agency_id: int) -> ResponseReturnValue:
    """Delete an agency that was never referred to (others can only be deactivated)."""
    confirm_post()
    agency = agency_service.get_agency(agency_id)
    name = agency.name
    return commit(
        lambda: agency_service.delete_agency(agency, current_staff()),
        lambda _: saved(f"{name} was deleted.", url_for("agencies.agency_list")),
        lambda exc: alert(exc, url_for("agencies.agency_detail", agency_id=agency_id)),
    )


@bp.route("/import", methods=["GET", "POST"])
@capability_required(Capability.MANAGE_DIRECTORY)
def agency_import() -> ResponseReturnValue:
    """Load a directory CSV: good rows are imported, refused rows listed by line."""
    form = ImportForm()

    def imported(report: agency_service.DirectoryImport) -> ResponseReturnValue:
        return _import_page(form, report, 200)

    done = submit(
        form,
        lambda: agency_service.import_directory(
            decode_upload(form.file.data.read()), current_staff()
        ),
        imported,
    )
    return done or _import_page(form, None, form_status(form))


def _import_page(
    form: ImportForm, report: agency_service.DirectoryImport | None, status: int
) -> ResponseReturnValue:
    return render_template(
        "agencies/import.html", form=form, report=report, columns=agency_service.IMPORT_COLUMNS
    ), status


# ---------------------------------------------------------------------------------------
# Contacts
# ---------------------------------------------------------------------------------------


def _contact_data(form: ContactForm) -> agency_service.ContactData:
    return agency_service.ContactData(
        name=form.name.data or "",
        title=form.title.data,
        email=form.email.data,
        phone=form.phone.data,
        notes=form.notes.data,
    )


@bp.route("/<int:agency_id>/contacts/new", methods=["GET", "POST"])
@capability_required(Capability.MANAGE_DIRECTORY)
def contact_new(agency_id: int) -> ResponseReturnValue:
    """Add a liaison to an agency."""
    agency = agency_service.get_agency(agency_id)
    form = ContactForm()

    def save() -> tuple[str, str]:
        contact = agency_service.add_contact(agency, _contact_data(form), current_staff())
        return (
            f"{contact.name} was added to {agency.name}.",
            url_for("agencies.agency_detail", agency_id=agency.id),
        )

    return _save(form, save) or (
        render_template("agencies/contact_form.html", form=form, agency=agency, contact=None),
        form_status(form),
    )


@bp.route("/contacts/<int:contact_id>/edit", methods=["GET", "POST"])
@capability_required(Capability.MANAGE_DIRECTORY)
def contact_edit(contact_id: int) -> ResponseReturnValue:
    """Edit a liaison's details."""
    contact = agency_service.get_contact(contact_id)
    form = ContactForm(obj=contact)

    def save() -> tuple[str, str]:
        agency_service.update_contact(contact, _contact_data(form), current_staff())
        return (
            f"{contact.name} was saved.",
            url_for("agencies.agency_detail", agency_id=contact.agency_id),
        )

    return _save(form, save) or (
        render_template(
            "agencies/contact_form.html", form=form, agency=contact.agency, contact=contact
        ),
        form_status(form),
    )


@bp.route("/contacts/<int:contact_id>/deactivate", methods=["POST"])
@capability_required(Capability.MANAGE_DIRECTORY)
def contact_deactivate(contact_id: int) -> ResponseReturnValue:
    """A liaison who left: no longer offered for referrals."""
    confirm_post()
    contact = agency_service.get_contact(contact_id)
    return act(
        lambda: agency_service.set_contact_active(contact, False, current_staff()),
        f"{contact.name} was deactivated.",
        url_for("agencies.agency_detail", agency_id=contact.agency_id),
    )


@bp.route("/contacts/<int:contact_id>/activate", methods=["POST"])
@capability_required(Capability.MANAGE_DIRECTORY)
def contact_activate(contact_id: int) -> ResponseReturnValue:
    """Offer a contact again."""
    confirm_post()
    contact = agency_service.get_contact(contact_id)
    return act(
        lambda: agency_service.set_contact_active(contact, True, current_staff()),
        f"{contact.name} is active again.",
        url_for("agencies.agency_detail", agency_id=contact.agency_id),
    )


# ---------------------------------------------------------------------------------------
# Routing rules
# ---------------------------------------------------------------------------------------


def _rule_choices(form: RuleForm, rule: RoutingRule | None = None) -> None:
    form.category_id.choices = choices(
        [("", "Choose a category")] + [(c.id, c.name) for c in _categories()]
    )
    form.district_id.choices = choices(
        [("", "All districts")]
        + [
            (d.id, f"{d.code} · {d.name}")
            for d in _districts()
            if d.active or (rule is not None and d.id == rule.district_id)
        ]
    )
    agencies = agency_service.active_agencies()
    form.agency_id.choices = choices(
        [("", "Choose an agency")] + [(a.id, a.label) for a in agencies]
    )
    contacts = choices([("", "The agency's first contact")])
    for agency in agencies:
        contacts += choices(
            [
                (c.id, f"{c.name}{' · ' + c.title if c.title else ''}")
                for c in agency.contacts
                if c.active
            ],
            optgroup=agency.acronym or agency.name,
        )
    form.contact_id.choices = contacts


def _rule_data(form: RuleForm) -> routing.RuleData:
    return routing.RuleData(
        category_id=form.category_id.data,
        agency_id=form.agency_id.data,
        district_id=form.district_id.data,
        contact_id=form.contact_id.data,
        follow_up_days=form.follow_up_days.data,
    )


@bp.route("/rules")
@capability_required(Capability.MANAGE_DIRECTORY)
def rule_list() -> ResponseReturnValue:
    """Routing rules, and which one a category and district would get (and why)."""
    try_form = RuleTryForm(formdata=request.args)
    try_form.try_category.choices = choices(
        [("", "Choose a category")] + [(c.id, c.name) for c in _categories()]
    )
    try_form.try_district.choices = choices(
        [("", "No district")] + [(d.id, d.code) for d in _districts()]
    )
    suggestion, tried = None, False
    status = 200
    if request.args:
        if try_form.validate() and try_form.try_category.data:
            tried = True
            suggestion = routing.best_rule(try_form.try_category.data, try_form.try_district.data)
        elif not try_form.validate():
            status = 400
    return render_template(
        "agencies/rules.html",
        rules=routing.list_rules(),
        try_form=try_form,
        suggestion=suggestion,
        tried=tried,
        confirm=ConfirmForm(),
        describe_rule=routing.describe_rule,
    ), status


@bp.route("/rules/new", methods=["GET", "POST"])
@capability_required(Capability.MANAGE_DIRECTORY)
def rule_new() -> ResponseReturnValue:
    """Add a routing rule."""
    form = RuleForm()
    _rule_choices(form)

    def save() -> tuple[str, str]:
        rule = routing.create_rule(_rule_data(form), current_staff())
        return f"{routing.describe_rule(rule)} was added.", url_for("agencies.rule_list")

    return _save(form, save) or (
        render_template("agencies/rule_form.html", form=form, rule=None),
        form_status(form),
    )


@bp.route("/rules/<int:rule_id>/edit", methods=["GET", "POST"])
@capability_required(Capability.MANAGE_DIRECTORY)
def rule_edit(rule_id: int) -> ResponseReturnValue:
    """Change a routing rule."""
    rule = routing.get_rule(rule_id)
    form = RuleForm(obj=rule)
    _rule_choices(form, rule)

    def save() -> tuple[str, str]:
        routing.update_rule(rule, _rule_data(form), current_staff())
        return f"{routing.describe_rule(rule)} was saved.", url_for("agencies.rule_list")

    return _save(form, save) or (
        render_template("agencies/rule_form.html", form=form, rule=rule),
        form_status(form),
    )


def _rule_action(rule_id: int, action: str) -> ResponseReturnValue:
    confirm_post()
    rule = routing.get_rule(rule_id)
    label = routing.describe_rule(rule)

    def change() -> None:
        if action == "delete":
            routing.delete_rule(rule, current_staff())
        else:
            routing.set_rule_active(rule, action == "activate", current_staff())

    done = {"delete": "deleted", "activate": "activated", "deactivate": "deactivated"}[action]
    return act(change, f"{label} was {done}.", url_for("agencies.rule_list"))


@bp.route("/rules/<int:rule_id>/deactivate", methods=["POST"])
@capability_required(Capability.MANAGE_DIRECTORY)
def rule_deactivate(rule_id: int) -> ResponseReturnValue:
    """Stop using a rule for suggestions."""
    return _rule_action(rule_id, "deactivate")


@bp.route("/rules/<int:rule_id>/activate", methods=["POST"])
@capability_required(Capability.MANAGE_DIRECTORY)
def rule_activate(rule_id: int) -> ResponseReturnValue:
    """Use a rule again."""
    return _rule_action(rule_id, "activate")


@bp.route("/rules/<int:rule_id>/delete", methods=["POST"])
@capability_required(Capability.MANAGE_DIRECTORY)
def rule_delete(rule_id: int) -> ResponseReturnValue:
    """Delete a rule."""
    return _rule_action(rule_id, "delete")


# ---------------------------------------------------------------------------------------
# Letter templates
# ---------------------------------------------------------------------------------------


def _template_data(form: LetterTemplateForm) -> letter_service.TemplateData:
    return letter_service.TemplateData(
        name=form.name.data or "",
        kind=form.kind.data or "",
        subject=form.subject.data or "",
        body=(form.body.data or "").replace("\r\n", "\n"),
    )


@bp.route("/letter-templates")
@capability_required(Capability.MANAGE_DIRECTORY)
def template_list() -> ResponseReturnValue:
    """Letter templates."""
    return render_template(
        "agencies/templates.html",
        templates=letter_service.list_templates(),
        kinds=letter_service.KIND_LABELS,
        confirm=ConfirmForm(),
    )


def _template_page(
    form: LetterTemplateForm, template: Any, status: int, preview: Any = None, changes: Any = None
) -> ResponseReturnValue:
    return render_template(
        "agencies/template_form.html",
        form=form,
        template=template,
        preview=preview,
        changes=changes,
        merge_fields=letter_service.MERGE_FIELDS,
    ), status


@bp.route("/letter-templates/new", methods=["GET", "POST"])
@capability_required(Capability.MANAGE_DIRECTORY)
def template_new() -> ResponseReturnValue:
    """Write a new letter template (checked with sample data before it is saved)."""
    form = LetterTemplateForm()
    if not form.is_submitted():
        form.kind.data = LetterKind.AGENCY_INQUIRY.value
    if request.form.get("action") == "preview":
        return _preview(form, None)
    done = submit(
        form,
        lambda: letter_service.create_template(_template_data(form), current_staff()),
        lambda template: saved(
            f"The template {template.name!r} was saved.", url_for("agencies.template_list")
        ),
    )
    return done or _template_page(form, None, form_status(form))


@bp.route("/letter-templates/<int:template_id>/edit", methods=["GET", "POST"])
@capability_required(Capability.MANAGE_DIRECTORY)
def template_edit(template_id: int) -> ResponseReturnValue:
    """Edit a letter template; refused when it does not compile or fill in, or on a conflict."""
    template = letter_service.get_template(template_id)
    form = LetterTemplateForm(obj=template)
    if not form.is_submitted():
        form.version.data = str(template.version)
    expected = required_version(form.version) if form.is_submitted() else template.version
    if request.form.get("action") == "preview":
        return _preview(form, template)
    refused = _Refusals(form, lambda: letter_service.get_template(template_id).version)
    done = submit(
        form,
        lambda: letter_service.update_template(
            template, _template_data(form), expected, current_staff()
        ),
        lambda _: saved(
            f"The template {template.name!r} was saved.", url_for("agencies.template_list")
        ),
        refused=refused,
    )
    return done or _template_page(form, template, refused.status, changes=refused.changes)


def _preview(form: LetterTemplateForm, template: Any) -> ResponseReturnValue:
    """The template filled in with sample data (nothing is saved), or why it cannot be."""
    done = submit(
        form,
        lambda: letter_service.validate_template(_template_data(form)),
        lambda preview: _template_page(form, template, 200, preview),
        keep=False,
    )
    return done or _template_page(form, template, 422)


@bp.route("/letter-templates/<int:template_id>/deactivate", methods=["POST"])
@capability_required(Capability.MANAGE_DIRECTORY)
def template_deactivate(template_id: int) -> ResponseReturnValue:
    """Retire a template: it is no longer offered for new letters."""
    confirm_post()
    template = letter_service.get_template(template_id)
    return act(
        lambda: letter_service.set_template_active(template, False, current_staff()),
        f"The template {template.name!r} was retired.",
        url_for("agencies.template_list"),
    )


@bp.route("/letter-templates/<int:template_id>/activate", methods=["POST"])
@capability_required(Capability.MANAGE_DIRECTORY)
def template_activate(template_id: int) -> ResponseReturnValue:
    """Offer a retired template again."""
    confirm_post()
    template = letter_service.get_template(template_id)
    return act(
        lambda: letter_service.set_template_active(template, True, current_staff()),
        f"The template {template.name!r} is offered again.",
        url_for("agencies.template_list"),
    )
