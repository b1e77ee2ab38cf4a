"""Flask commands. Each parses its options, calls a service, commits, and prints a summary."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import click
import sqlalchemy as sa
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

from constituent.database import immediate_writes
from constituent.extensions import db
from constituent.models import Body, Role, User
from constituent.search.cli import search_cli
from constituent.services import agencies as agency_service
from constituent.services import auth, demo
from constituent.services import districts as district_service
from constituent.services.errors import DomainError

users_cli = AppGroup("users", help="Staff accounts.")
districts_cli = AppGroup("districts", help="Districts and the ZIP table.")
demo_cli = AppGroup("demo", help="Demo data.")
agencies_cli = AppGroup("agencies", help="The agency directory.")
report_cli = AppGroup("report", help="District summary figures for scripts.")
mail_cli = AppGroup("mail", help="Agency email filed onto cases.")
office_cli = AppGroup("office", help="The office's set-up and settings.")
zips_cli = AppGroup("zips", help="Single rows of the ZIP table (territories, PO boxes, new ZIPs).")
categories_cli = AppGroup("categories", help="Case categories.")
import_cli = AppGroup("import", help="Bring an existing caseload in from CSV files.")
identifiers_cli = AppGroup("identifiers", help="Agency identifiers residents gave online.")


F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")


def writes(command: F) -> F:
    """A command that reads and then writes, possibly while the web app is saving: its
    transactions take SQLite's write lock when they begin (see ``immediate_writes``)."""

    @functools.wraps(command)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        with immediate_writes():
            return command(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


@users_cli.command("create")
@click.option("--email", required=True)
@click.option("--name", "full_name", default="", help="Full name shown in the app.")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option(
    "--district",
    "districts",
    multiple=True,
    required=True,
    help="District code, e.g. NY-21 (repeat for several).",
)
@click.option(
    "--generate-password",
    "generate",
    is_flag=True,
    help="Generate a password and print it once, instead of prompting for one.",
)
@click.option(
    "--mail-triage",
    is_flag=True,
    help="Let this caseworker work the unfiled-mail queue (it holds residents' details).",
)
@writes
def create_user(
    email: str,
    full_name: str,
    role: str,
    districts: tuple[str, ...],
    generate: bool,
    mail_triage: bool,
) -> None:
    """Create a staff account (password prompted, or generated and printed once)."""
    if generate:
        password = auth.generate_password()
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = auth.create_user(
            email, full_name, role, list(districts), password, mail_triage=mail_triage
        )
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        raise click.ClickException(exc.message) from exc
    click.echo(f"Created {user.role.value} {user.email} for {', '.join(districts)}.")
    if generate:
        click.echo(f"Password: {password}")


@users_cli.command("mail-triage")
@click.argument("email")
@click.option("--grant/--revoke", default=True, help="Give (default) or take back the grant.")
@writes
def mail_triage(email: str, grant: bool) -> None:
    """Give a caseworker the unfiled-mail queue, or take it back."""
    user = auth.find_user_by_email(email.strip().lower())
    if user is None:
        raise click.ClickException(f"No user with email {email}.")
    try:
        auth.set_mail_triage(user, grant)
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        raise click.ClickException(exc.message) from exc
    click.echo(f"{user.email} {'may' if grant else 'may no longer'} triage unfiled mail.")


@users_cli.command("list")
def list_users() -> None:
    """List staff accounts with role, districts and state."""
    users = db.session.scalars(sa.select(User).order_by(User.role, User.email)).all()
    if not users:
        click.echo("No users yet. Create one with: flask users create --email ... --role admin ...")
        return
    for user in users:
        codes = ",".join(d.code for d in user.districts)
        state = "active" if user.active else "disabled"
        if user.mail_triage:
            state += ", mail triage"
        click.echo(f"{user.email:<36} {user.role.value:<11} {codes:<24} {state}")


@districts_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--states", default="", help="Comma-separated state codes to import, e.g. NY,VT.")
@click.option("--dry-run", is_flag=True, help="Report what would change; change nothing.")
@writes
def import_districts(file: Path, states: str, dry_run: bool) -> None:
    """Import a ZIP → district table and re-district constituents.

    The Census layout (state_fips, state_abbr, zcta, cd: constituent/data/zccd.csv) or an
    office's own table with columns zip, district[, share][, state].
    """
    wanted = {s.strip().upper() for s in states.split(",") if s.strip()} or None
    try:
        with file.open(newline="", encoding="utf-8-sig") as fh:
            report = district_service.import_zip_table(fh, states=wanted)
    except DomainError as exc:
        db.session.rollback()
        raise click.ClickException(exc.message) from exc
    for change in report.changes:
        click.echo(
            f"  {change.name} (#{change.constituent_id}, ZIP {change.zip5}): "
            f"{change.old_code or 'none'} -> {change.new_code or 'out of district'}"
        )
    for change in report.needs_review:
        click.echo(
            f"  needs review: {change.name} (#{change.constituent_id}, ZIP {change.zip5}) "
            f"is in a split ZIP that no longer includes {change.old_code}"
        )
    verb = "would change" if dry_run else "changed"
    click.echo(
        f"{report.rows} rows for {', '.join(report.states)}: {report.added} added, "
        f"{report.removed} removed. {len(report.changes)} constituents {verb} district, "
        f"{len(report.needs_review)} need review, {report.notes_added} case notes."
    )
    _save_unless(dry_run)


def _save_unless(dry_run: bool) -> None:
    """Commit a command's work, or roll a dry run back and say so."""
    if dry_run:
        db.session.rollback()
        click.echo("Dry run: nothing was saved.")
    else:
        db.session.commit()


def _district(code: str) -> Any:
    district = district_service.get_by_code(code)
    if district is None:
        raise click.ClickException(f"Unknown district {code.strip().upper()}.")
    return district


def _run(change: Callable[[], Any]) -> Any:
    """Call a service, commit; a refusal rolls back and becomes the command's error."""
    try:
        result = change()
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        raise click.ClickException(exc.message) from exc
    return result


@districts_cli.command("list")
def list_districts() -> None:
    """List the districts served, with state and ZIP count."""
    for district in district_service.served_districts(include_inactive=True):
        state = "" if district.active else "  (deactivated)"
        click.echo(f"{district.code:<16} {district.state}  {district.name}{state}")


@districts_cli.command("add")
@click.argument("code")
@click.option("--name", default="", help='e.g. "Alabama\'s 4th congressional district".')
@click.option("--state", default=None, help="Two-letter state (default: the code's prefix).")
@click.option("--legislator", default=None, help="Legislator shown on letters.")
@writes
def add_district(code: str, name: str, state: str | None, legislator: str | None) -> None:
    """Add a district the office serves (any geography: AL-04, NY-SD45, MN-NORTH)."""
    from constituent.services import office

    profile = office.profile()
    spec = district_service.DistrictSpec(
        code=code,
        name=name,
        state=state or (profile.state or None),
        chamber=profile.body.value if profile.body else None,
        legislator_name=legislator if legislator is not None else profile.legislator or None,
    )
    if state is None and "-" in code and len(code.split("-", 1)[0]) == 2:
        spec.state = None  # the code's own prefix wins over the office's home state
    district = _run(lambda: district_service.add_district(spec))
    click.echo(f"Added {district.code} ({district.name}, {district.state}).")


@districts_cli.command("edit")
@click.argument("code")
@click.option("--name", default=None)
@click.option("--legislator", default=None)
@writes
def edit_district(code: str, name: str | None, legislator: str | None) -> None:
    """Change a district's name or legislator."""
    district = _district(code)
    _run(lambda: district_service.edit_district(district, name, legislator))
    click.echo(f"{district.code}: {district.name}, {district.legislator_name or 'no legislator'}.")


def _activation_commands(
    group: click.Group, argument: str, set_active: Callable[[str, bool], str], helps: list[str]
) -> None:
    """A group's ``deactivate`` and ``activate`` commands (with their help, in that order):
    ``set_active(value, active)`` finds the record, changes it and names it for the message."""
    for verb, active, help_text in zip(
        ("deactivate", "activate"), (False, True), helps, strict=True
    ):

        def command(value: str, active: bool = active) -> None:
            shown = _run(lambda: set_active(value, active))
            click.echo(f"{shown} is {'active' if active else 'deactivated'}.")

        group.command(verb, help=help_text)(
            click.argument("value", metavar=argument.upper())(writes(command))
        )


def _set_district_active(code: str, active: bool) -> str:
    district = _district(code)
    district_service.set_district_active(district, active)
    return str(district.code)


_activation_commands(
    districts_cli,
    "code",
    _set_district_active,
    [
        "Stop taking new cases in a district (its cases stay).",
        "Take new cases in a deactivated district again.",
    ],
)


@zips_cli.command("add")
@click.argument("zip5")
@click.argument("district")
@writes
def add_zip(zip5: str, district: str) -> None:
    """Put ZIP5 in DISTRICT (a served district or one already in the ZIP table)."""
    row = _run(lambda: district_service.add_zip(zip5, district))
    click.echo(f"ZIP {row.zip5} is in {row.district_code} ({row.state}).")


@categories_cli.command("list")
def list_categories() -> None:
    """List the categories, with their case counts."""
    from constituent.services import categories

    for category, cases in categories.with_case_counts():
        state = "" if category.active else "  (deactivated)"
        click.echo(f"{category.name:<40} {cases:>7} cases{state}")


@categories_cli.command("add")
@click.argument("name")
@click.option("--description", default="")
@writes
def add_category(name: str, description: str) -> None:
    """Add a case category."""
    from constituent.services import categories

    category = _run(lambda: categories.add_category(name, description))
    click.echo(f"Added {category.name}.")


@categories_cli.command("rename")
@click.argument("name")
@click.argument("new_name")
@writes
def rename_category(name: str, new_name: str) -> None:
    """Rename a category (its cases, rules and agencies follow)."""
    from constituent.services import categories

    category = _run(lambda: categories.rename_category(categories.get(name), new_name))
    click.echo(f"Renamed to {category.name}.")


def _set_category_active(name: str, active: bool) -> str:
    from constituent.services import categories

    categories.set_active(categories.get(name), active)
    return name


_activation_commands(
    categories_cli,
    "name",
    _set_category_active,
    [
        "Offer a category no more for new cases (its cases keep it).",
        "Offer a deactivated category again.",
    ],
)


@categories_cli.command("merge")
@click.argument("source")
@click.argument("target")
@writes
def merge_categories(source: str, target: str) -> None:
    """Move every case, routing rule and agency link of SOURCE to TARGET (audited)."""
    from constituent.services import categories

    report = _run(
        lambda: categories.merge_categories(categories.get(source), categories.get(target))
    )
    click.echo(
        f"Merged {source} into {target}: {report.cases} cases, {report.rules} routing rules, "
        f"{report.agencies} agencies moved; {source} is deactivated."
    )


@categories_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@writes
def import_categories(file: Path) -> None:
    """Add the categories of a CSV file (columns: name, description)."""
    from constituent.services import categories

    text = _read_text(file)
    report = _run(lambda: categories.import_categories(text))
    for line, reason in report.refused:
        click.echo(f"  line {line}: {reason}", err=True)
    click.echo(
        f"{len(report.added)} added, {len(report.unchanged)} already there, "
        f"{len(report.refused)} refused."
    )
    if report.refused:
        raise click.exceptions.Exit(1)


def _read_text(file: Path) -> Any:
    """A CSV file's text (UTF-8, or a clear message saying what it is and what to do)."""
    try:
        return district_service.decode_upload(file.read_bytes())
    except DomainError as exc:
        raise click.ClickException(f"{file}: {exc.message}") from exc


def _run_import(kind: str, file: Path, dry_run: bool) -> None:
    from constituent.services import imports

    with file.open("rb") as stream:
        total = imports.count_lines(stream)
        with click.progressbar(
            length=total, label=f"Checking {kind}" if dry_run else kind.title()
        ) as bar:

            def progress(done: int) -> None:
                bar.update(done - bar.pos)

            try:
                report = imports.run_import(
                    kind,
                    imports.ImportRun(
                        stream,
                        dry_run=dry_run,
                        progress=progress,
                        on_batch=None if dry_run else db.session.commit,
                    ),
                )
            except DomainError as exc:
                db.session.rollback()
                raise click.ClickException(f"{file}: {exc.message}") from exc
    for note in report.notes:
        click.echo(f"Note: {note}", err=True)
    for refusal in report.refused:
        click.echo(f"  line {refusal.line}, {refusal.column}: {refusal.reason}", err=True)
    click.echo(report.summary(dry_run))
    _save_unless(dry_run)
    if report.refused:
        raise click.exceptions.Exit(1)


def _import_command(kind: str) -> Callable[[Callable[[Path, bool], None]], click.Command]:
    """``flask import <kind> FILE [--dry-run]``, run with the write lock."""

    def register(command: Callable[[Path, bool], None]) -> click.Command:
        dry_run = click.option(
            "--dry-run",
            is_flag=True,
            help="Check every row and list the refused ones; save nothing.",
        )
        file = click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
        return import_cli.command(kind)(file(dry_run(writes(command))))

    return register


@_import_command("constituents")
def import_constituents(file: Path, dry_run: bool) -> None:
    """Import constituents from a CSV file (UTF-8; columns below; first row names them).

    \b
    external_id (required), first_name (required), last_name (required), middle_name, suffix,
    street, street2, city, state, zip (ZIP or ZIP+4), phone, email, language, notes.

    A re-run updates the records with the same external_id; a person already on file (same
    name and phone, email, or street and ZIP) gets the external id instead of a duplicate.
    Refused rows are listed with line, column and reason; the exit status is then 1.
    """
    _run_import("constituents", file, dry_run)


@_import_command("cases")
def import_cases(file: Path, dry_run: bool) -> None:
    """Import cases from a CSV file, onto constituents imported before.

    \b
    external_id (required), constituent_external_id (required), category (required),
    subject (required), opened_on (required, YYYY-MM-DD), status, closed_on, outcome,
    agency (name or acronym), district, channel, description, notes.

    A re-run updates the cases with the same external_id. Refused rows are listed with line,
    column and reason; the exit status is then 1.
    """
    _run_import("cases", file, dry_run)


_OFFICE_PROMPTS = [
    ("name", "Office name (shown in the header and on letters)"),
    ("legislator", "Legislator's name"),
    ("body", "Body (" + ", ".join(b.value for b in Body) + ")"),
    ("state", "Home state (two-letter postal code)"),
    ("districts", "Districts served (codes separated by commas, e.g. AL-04)"),
    ("code", "Office code used in case tags (e.g. AL04)"),
    ("timezone", "Time zone (e.g. America/Chicago)"),
    ("admin_email", "First administrator's email"),
]


def _ask_missing(given: dict[str, Any], interactive: bool) -> None:
    """Prompt for the office settings the flags left out; without a terminal, name them."""
    missing = [key for key, value in given.items() if not value]
    if missing and not interactive:
        flags = ", ".join("--" + key.replace("_", "-").rstrip("s") for key in missing)
        raise click.UsageError(f"Missing {flags} (or run in a terminal to be asked).")
    for key, label in _OFFICE_PROMPTS:
        if not given[key]:
            given[key] = click.prompt(label)


def _admin_password(generate: bool) -> str:
    """The first administrator's password: generated, or asked twice."""
    if generate:
        return auth.generate_password()
    return str(click.prompt("Administrator's password", hide_input=True, confirmation_prompt=True))


@office_cli.command("init")
@click.option("--name", default=None, help="The office's name, e.g. 'Office of Rep. Sewell'.")
@click.option("--legislator", default=None, help="The legislator's name.")
@click.option("--title", default="", help="Title before the name (default: from the body).")
@click.option("--body", default=None, type=click.Choice([b.value for b in Body]))
@click.option("--state", default=None, help="Home state, e.g. AL (default State of addresses).")
@click.option(
    "--district",
    "districts",
    multiple=True,
    help="A district served: CODE or CODE=Name (repeat; any geography, e.g. NY-SD45).",
)
@click.option("--code", default=None, help="Office code used in case tags, e.g. AL04.")
@click.option("--timezone", default=None, help="IANA time zone, e.g. America/Chicago.")
@click.option("--area-code", default="", help="Area code added to 7-digit local phone numbers.")
@click.option("--admin-email", default=None, help="The first administrator's email.")
@click.option("--admin-name", default="", help="The first administrator's name.")
@click.option(
    "--generate-password",
    "generate",
    is_flag=True,
    help="Generate the administrator's password and print it once, instead of prompting.",
)
@click.option(
    "--starter",
    multiple=True,
    type=click.Choice(["categories"]),
    help="Start with the usual casework categories (to edit afterwards).",
)
@click.option(
    "--interactive/--no-interactive",
    default=None,
    help="Prompt for what the flags leave out (default: when run in a terminal).",
)
@writes
def init_office(
    name: str | None,
    legislator: str | None,
    title: str,
    body: str | None,
    state: str | None,
    districts: tuple[str, ...],
    code: str | None,
    timezone: str | None,
    area_code: str,
    admin_email: str | None,
    admin_name: str,
    generate: bool,
    starter: tuple[str, ...],
    interactive: bool | None,
) -> None:
    """Set up the office: its name, legislator, body, districts, code, time zone, first admin."""
    import sys

    from constituent.services import office

    if interactive is None:
        interactive = sys.stdin.isatty()
    given: dict[str, Any] = {
        "name": name,
        "legislator": legislator,
        "body": body,
        "state": state,
        "districts": ",".join(districts) if districts else None,
        "code": code,
        "timezone": timezone,
        "admin_email": admin_email,
    }
    _ask_missing(given, interactive)
    if interactive and not starter:
        if click.confirm("Start with the usual casework categories?", default=True):
            starter = ("categories",)
    password = _admin_password(generate)
    texts = list(districts) if districts else str(given["districts"]).split(",")
    specs = [district_service.DistrictSpec.parse(t) for t in texts if t.strip()]
    values = office.SettingsInput(
        name=given["name"],
        legislator_name=given["legislator"],
        legislator_title=title,
        body=given["body"],
        state=given["state"],
        office_code=given["code"],
        timezone=given["timezone"],
        default_area_code=area_code,
    )
    admin = office.AdminAccount(given["admin_email"], admin_name, password)
    settings = _run(
        lambda: office.init_office(values, specs, admin, starter_categories="categories" in starter)
    )
    click.echo(
        f"Set up {settings.name} ({settings.legislator_title} {settings.legislator_name}, "
        f"{settings.body.label}) serving {', '.join(s.code.upper() for s in specs)}; "
        f"office code {settings.office_code}, time zone {settings.timezone}."
    )
    click.echo(f"Administrator: {admin.email.strip().lower()}")
    if generate:
        click.echo(f"Password: {password}")
    if "categories" in starter:
        click.echo("Added the usual casework categories; edit them with `flask categories`.")


@office_cli.command("show")
def show_office() -> None:
    """Print the office's settings."""
    from constituent.services import office

    row = office.stored_settings()
    if row is None:
        click.echo("The office is not set up yet: run `flask office init`.")
        return
    for label, value in (
        ("Name", row.name),
        ("Legislator", f"{row.legislator_title} {row.legislator_name}"),
        ("Body", row.body.label),
        ("State", row.state),
        ("Office code", row.office_code),
        ("Time zone", row.timezone),
        ("Default area code", row.default_area_code or "none"),
    ):
        click.echo(f"{label + ':':<19} {value}")


@demo_cli.command("seed")
@click.option(
    "--scale",
    default=1,
    show_default=True,
    type=click.IntRange(1, 1000),
    help="Multiply constituents and cases (10 and 100 for benchmarks).",
)
@click.option("--if-empty", is_flag=True, help="Do nothing when cases already exist.")
@writes
def seed_demo(scale: int, if_empty: bool) -> None:
    """Seed a realistic demo office and print the demo sign-ins."""
    if if_empty and demo.is_seeded():
        click.echo("Demo data already present; nothing to do.")
        _ensure_search_index()
        _print_saved_credentials()
        return
    bars: dict[str, object] = {}

    def progress(stage: str, done: int, total: int) -> None:
        bar = bars.get(stage)
        if bar is None:
            bar = click.progressbar(length=total, label=f"Seeding {stage}")
            bar.__enter__()
            bars[stage] = bar
        bar.update(done - bar.pos)  # type: ignore[attr-defined]
        if done >= total:
            bar.__exit__(None, None, None)  # type: ignore[attr-defined]

    result = demo.seed(scale=scale, progress=progress)
    db.session.commit()
    click.echo(
        f"Seeded {result.constituents} constituents, {result.cases} cases, "
        f"{result.events} timeline events."
    )
    _ensure_search_index()
    if result.credentials:
        path = Path(current_app.instance_path) / "demo-credentials.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        lines = [f"{role:<11} {email:<28} {pw}" for role, email, pw in result.credentials]
        path.write_text("\n".join(lines) + "\n")
        path.chmod(0o600)
        click.echo("Demo sign-ins (also saved in " + str(path) + "):")
        for line in lines:
            click.echo("  " + line)
    else:
        _print_saved_credentials()


def _ensure_search_index() -> None:
    """Build the search index now (with progress) if it is missing, so that the app's first
    search after start-up answers instead of waiting for a rebuild."""
    from constituent.search import backends
    from constituent.search.cli import ProgressBars
    from constituent.search.store import IndexBusy, SearchUnavailable

    bars = ProgressBars("Indexing")
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    try:
        said = backends.current(app).prepare(app, progress=bars)
    except (IndexBusy, SearchUnavailable) as exc:
        raise click.ClickException(str(getattr(exc, "message", exc))) from exc
    finally:
        bars.close()
    if said is not None:
        click.echo(said)


def _print_saved_credentials() -> None:
    path = Path(current_app.instance_path) / "demo-credentials.txt"
    if path.exists():
        click.echo("Demo sign-ins (from " + str(path) + "):")
        for line in path.read_text().splitlines():
            click.echo("  " + line)


class _StageBars:
    """Progress bars for a service's ``progress(stage, done, total)`` calls: one per stage."""

    def __init__(self, labels: dict[str, str]) -> None:
        self.labels = labels
        self.bars: dict[str, Any] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        bar = self.bars.get(stage)
        if bar is None:
            bar = click.progressbar(length=max(total, 1), label=self.labels.get(stage, stage))
            bar.__enter__()
            self.bars[stage] = bar
        bar.update(done - bar.pos)
        if done >= total and not bar.finished:
            bar.__exit__(None, None, None)

    def close(self) -> None:
        for bar in self.bars.values():
            if not bar.finished:
                bar.render_finish()


def _in_stages(stages: dict[str, str], run: Callable[[_StageBars], T]) -> T:
    """Run a long service call with a progress bar per stage; a refusal becomes the
    command's error."""
    bars = _StageBars(stages)
    try:
        return run(bars)
    except DomainError as exc:
        raise click.ClickException(exc.message) from exc
    finally:
        bars.close()


@click.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
def backup_command(path: Path) -> None:
    """Write one archive with the database and every stored file to PATH (app may keep running).

    The archive (tar) holds the database, the signed releases and attachments it refers to,
    and a manifest of their SHA-256 checksums.
    """
    from constituent.services import backup

    result = _in_stages(
        {"database": "Copying the database", "files": "Copying stored files"},
        lambda bars: backup.backup(path, progress=bars),
    )
    click.echo(
        f"Backup written to {result.path} ({result.path.stat().st_size:,} bytes): the "
        f"database at migration {result.revision} and {result.files:,} stored files "
        f"({result.file_bytes:,} bytes)."
    )


@click.command("restore")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def restore_command(path: Path, yes: bool) -> None:
    """Replace the database and stored files with the backup at PATH, after checking every
    file it needs is there; then rebuild search."""
    from constituent.search import backends
    from constituent.search.store import IndexBusy, SearchUnavailable
    from constituent.services import backup

    if not yes:
        click.confirm("This replaces every record in the database. Continue?", abort=True)
    result = _in_stages(
        {
            "checking": "Checking the archive",
            "files": "Putting back stored files",
            "database": "Restoring the database",
            "tables": "Restoring tables",
        },
        lambda bars: backup.restore(path, progress=bars),
    )
    click.echo(
        f"Restored from {path}: the database at migration {result.revision} and "
        f"{result.files:,} stored files ({result.files_written:,} written)."
    )
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    try:
        said = backends.current(app).reindex(app)
    except (IndexBusy, SearchUnavailable) as exc:  # the restore stands; say how to finish
        click.echo(f"Search was not rebuilt ({exc}): run `flask search reindex`.", err=True)
    else:
        click.echo(said)


@agencies_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Report what would change; change nothing.")
@writes
def import_agencies(file: Path, dry_run: bool) -> None:
    """Load agencies and contacts from a CSV file (one row per contact).

    Columns: name, acronym, level, categories (names separated by ';'),
    expected_response_days, website, notes, contact_name, contact_title, contact_email,
    contact_phone, contact_notes. Good rows are imported, refused rows listed by line; the
    exit status is 1 when any row was refused. Importing again updates, never duplicates.
    """
    try:
        with file.open(newline="", encoding="utf-8-sig") as fh:
            report = agency_service.import_directory(fh)
    except UnicodeDecodeError as exc:
        db.session.rollback()
        raise click.ClickException(f"{file} is not UTF-8 text.") from exc
    except DomainError as exc:
        db.session.rollback()
        raise click.ClickException(exc.message) from exc
    for error in report.errors:
        label = f" ({error.name})" if error.name else ""
        click.echo(f"  line {error.line}{label}: {error.message}", err=True)
    click.echo(
        f"{report.imported_rows} of {report.rows} rows imported: agencies "
        f"{report.agencies_created} added, {report.agencies_updated} updated, "
        f"{report.agencies_unchanged} unchanged; contacts {report.contacts_created} added, "
        f"{report.contacts_updated} updated, {report.contacts_unchanged} unchanged; "
        f"{len(report.errors)} rows refused."
    )
    _save_unless(dry_run)
    if report.errors:
        raise click.exceptions.Exit(1)


@report_cli.command("district")
@click.argument("code")
@click.option(
    "--from",
    "start",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="First day, YYYY-MM-DD (default: the last 12 months).",
)
@click.option(
    "--to", "end", type=click.DateTime(["%Y-%m-%d"]), default=None, help="Last day, YYYY-MM-DD."
)
@click.option(
    "--format", "fmt", type=click.Choice(["csv", "json"]), default="csv", show_default=True
)
@click.option(
    "--suppress-small-counts",
    is_flag=True,
    help="The figures as legislators see them: calendar periods only, small cells withheld "
    "(CONSTITUENT_SUMMARY_MIN_CELL), confidential cases in the headline totals only.",
)
def report_district(
    code: str, start: datetime | None, end: datetime | None, fmt: str, suppress_small_counts: bool
) -> None:
    """Write a district's summary figures (every table of its page) to standard output."""
    from constituent.reports import tables as summary_tables
    from constituent.services.clock import office_tz

    tz = office_tz()
    try:
        for chunk in summary_tables.report_chunks(
            code,
            start.date() if start else None,
            end.date() if end else None,
            fmt,
            suppress_small_counts=suppress_small_counts,
            threshold=int(current_app.config["SUMMARY_MIN_CELL"]),
            tz=tz,
            today=datetime.now(tz).date(),
        ):
            click.echo(chunk, nl=False)
    except DomainError as exc:
        db.session.rollback()
        raise click.ClickException(exc.message) from exc
    db.session.commit()


@mail_cli.command("import")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@writes
def import_mail(path: Path) -> None:
    """Import saved agency email: a folder of .eml files, or an mbox file.

    A message carrying this office's tag [CODE C-N CHECK] with a valid check is filed onto
    case N (and becomes the response to the case's open referral when its sender is that
    agency's contact); old-style, foreign and forged tags and the rest wait in the unfiled
    queue of the Incoming mail page. Importing the same messages again adds nothing. The exit
    status is 1 when any message was refused.
    """
    from constituent.services import mail as mail_service

    try:
        sources = mail_service.sources_in_path(path)
    except DomainError as exc:
        raise click.ClickException(exc.message) from exc
    done = 0
    with click.progressbar(length=len(sources), label="Importing mail") as bar:

        def imported(_result: mail_service.MessageReport) -> None:
            nonlocal done
            done += 1
            bar.update(1)
            if done % 100 == 0:
                db.session.commit()  # bounded transactions: a long import keeps its progress

        report = mail_service.import_sources(
            sources, user=None, on_message=imported, keep_records=False
        )
        db.session.commit()
    for message in report.messages:
        click.echo(f"  [{message.outcome.value}] {message.source}: {message.detail}")
        for note in message.attachments:
            reason = f": {note.reason}" if note.reason else ""
            click.echo(f"      attachment {note.filename}: {note.outcome.value}{reason}")
    click.echo(report.summary())
    if report.refused:
        raise click.exceptions.Exit(1)


# Commands that must run on a database that is not (yet) at the current schema.
SCHEMA_EXEMPT = {"restore"}


def requires_schema(command: click.Command) -> None:
    """Make the command refuse, with exit status 2 and the fix, to run on a database that is
    not migrated (instead of a traceback about a missing table)."""
    callback = command.callback
    if callback is None or getattr(callback, "_requires_schema", False):
        return

    @functools.wraps(callback)
    @with_appcontext
    def checked(*args: Any, **kwargs: Any) -> Any:
        from constituent.database import schema_problem

        problem = schema_problem()
        if problem:
            click.echo(problem, err=True)
            raise click.exceptions.Exit(2)
        return callback(*args, **kwargs)

    checked._requires_schema = True  # type: ignore[attr-defined]
    command.callback = checked


def _require_schema_everywhere(command: click.Command) -> None:
    if command.name in SCHEMA_EXEMPT:
        return
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            _require_schema_everywhere(sub)
    else:
        requires_schema(command)


@identifiers_cli.command("purge")
@click.option(
    "--days",
    type=click.IntRange(min=0),
    default=None,
    help="Days after a case closes (default: CONSTITUENT_IDENTIFIER_RETENTION_DAYS, 90).",
)
@writes
def purge_identifiers(days: int | None) -> None:
    """Delete the agency identifiers of cases closed more than the retention period ago, and
    those declined online requests still hold after it. Run it daily (cron)."""
    from constituent.services import online_review

    days = online_review.retention_days() if days is None else days
    click.echo(f"Purging agency identifiers of cases closed more than {days} days ago…")
    report = online_review.purge_identifiers(days=days)
    db.session.commit()
    click.echo(
        f"Deleted {report.identifiers} identifiers on {report.cases} closed cases, and cleared "
        f"those of {report.requests} online requests."
    )


def register(app: Flask) -> None:
    for group in (
        users_cli,
        districts_cli,
        demo_cli,
        agencies_cli,
        search_cli,
        report_cli,
        mail_cli,
        office_cli,
        zips_cli,
        categories_cli,
        import_cli,
        identifiers_cli,
    ):
        _require_schema_everywhere(group)
        app.cli.add_command(group)
    for command in (backup_command, restore_command):
        _require_schema_everywhere(command)
        app.cli.add_command(command)
