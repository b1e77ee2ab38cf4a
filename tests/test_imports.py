"""Bringing the caseload in: constituents and cases from CSV, by command and upload page."""

from __future__ import annotations

import io
from pathlib import Path

import sqlalchemy as sa

from constituent import jobs
from constituent.extensions import db
from constituent.models import (
    Agency,
    AgencyLevel,
    AuditEvent,
    Case,
    CaseStatus,
    Constituent,
    EventKind,
    ImportJob,
    ImportStatus,
    Outcome,
    Referral,
    SearchQueue,
    TimelineEvent,
)
from tests import factories
from tests.conftest import count

PEOPLE = (
    "external_id,first_name,last_name,street,street2,city,state,zip,phone,email\n"
    "P1,Ruby,Hollis,402 2nd Ave SE,Apt 3,Cullman,AL,35055-1234,(256) 555-0142 x15,ruby@example.org\n"
    "P2,Mae,Jordan,12 Oak St,,Cullman,,35055,,\n"
    "P3,,Nobody,,,,,,,\n"
    "P4,Bad,Zip,1 Road,,Cullman,AL,3505,,\n"
)
CASES = (
    "external_id,constituent_external_id,category,subject,opened_on,status,closed_on,outcome,"
    "agency,notes\n"
    "C1,P1,Social Security,SSDI stopped,2025-01-05,closed,2025-02-01,assisted,SSA,Called SSA\n"
    "C2,P2,social security,Retirement claim,3/1/2025,,,,,\n"
    "C3,P9,Social Security,Nobody,2025-03-01,,,,,\n"
    "C4,P1,Pensions,Wrong category,2025-03-01,,,,,\n"
    "C5,P1,Social Security,Closed without a date,2025-03-01,closed,,,,\n"
)


def _office():  # type: ignore[no-untyped-def]
    district = factories.gen_district("AL-04")
    category = factories.gen_category("Social Security")
    factories.gen_zip("35055", "AL-04")
    db.session.add(
        Agency(
            name="Social Security Administration",
            acronym="SSA",
            level=AgencyLevel.FEDERAL,
            categories=[category],
        )
    )
    db.session.commit()
    return district, category


def _write(tmp_path, name: str, text: str, encoding: str = "utf-8"):  # type: ignore[no-untyped-def]
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return str(path)


def test_a_dry_run_lists_every_refused_row_and_saves_nothing(runner, app, tmp_path):
    _office()
    result = runner.invoke(
        args=["import", "constituents", _write(tmp_path, "p.csv", PEOPLE), "--dry-run"]
    )
    assert result.exit_code == 1
    assert "line 4, first_name: Enter the first name." in result.output
    assert "line 5, zip: Enter a ZIP code of five digits, or ZIP+4" in result.output
    assert "2 would be added" in result.output and "Dry run: nothing was saved." in result.output
    assert count(Constituent) == 0


def test_constituents_import_and_a_re_run_updates_rather_than_duplicates(runner, app, tmp_path):
    district, _ = _office()
    path = _write(tmp_path, "p.csv", PEOPLE)
    first = runner.invoke(args=["import", "constituents", path])
    assert first.exit_code == 1 and "2 were added" in first.output
    ruby = db.session.scalar(sa.select(Constituent).where(Constituent.external_id == "P1"))
    assert (ruby.street2, ruby.zip5, ruby.zip4, ruby.district) == (
        "Apt 3",
        "35055",
        "1234",
        district,
    )
    assert {c.value for c in ruby.contact_points} == {"(256) 555-0142 ext. 15", "ruby@example.org"}
    mae = db.session.scalar(sa.select(Constituent).where(Constituent.external_id == "P2"))
    assert mae.state == "AL"  # from the district
    again = runner.invoke(args=["import", "constituents", path])
    assert "0 were added, 2 updated" in again.output
    assert count(Constituent) == 2
    assert db.session.scalar(
        sa.select(AuditEvent).where(AuditEvent.action == "constituents_imported")
    )
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SearchQueue)) > 0


def test_a_person_already_on_file_is_matched_by_intakes_rules(runner, app, tmp_path):
    district, _ = _office()
    factories.gen_constituent(district, first="Margaret", last="Hollis", phone="(256) 555-0142")
    db.session.commit()
    sheet = "external_id,first_name,last_name,phone\nX7,Peggy,Hollis,256-555-0142\n"
    result = runner.invoke(args=["import", "constituents", _write(tmp_path, "p.csv", sheet)])
    assert result.exit_code == 0, result.output
    assert "1 matched to records on file" in result.output
    assert count(Constituent) == 1
    assert db.session.scalar(sa.select(Constituent.external_id)) == "X7"


def test_cases_import_with_dates_status_agency_and_notes(runner, app, tmp_path):
    _office()
    runner.invoke(args=["import", "constituents", _write(tmp_path, "p.csv", PEOPLE)])
    result = runner.invoke(args=["import", "cases", _write(tmp_path, "c.csv", CASES)])
    assert result.exit_code == 1
    assert "line 4, constituent_external_id: no constituent with external id 'P9'" in result.output
    assert "line 5, category: no category 'Pensions'" in result.output
    assert "line 6, closed_on: a closed case needs the date it was closed" in result.output
    assert "2 were added" in result.output
    closed = db.session.scalar(sa.select(Case).where(Case.external_id == "C1"))
    assert closed.status == CaseStatus.CLOSED and closed.outcome == Outcome.ASSISTED
    assert (closed.opened_at.date().isoformat(), closed.closed_at.date().isoformat()) == (
        "2025-01-05",
        "2025-02-01",
    )
    assert closed.district.code == "AL-04"
    referral = db.session.scalar(sa.select(Referral).where(Referral.case_id == closed.id))
    assert referral.agency.acronym == "SSA"
    notes = db.session.scalars(
        sa.select(TimelineEvent.body).where(
            TimelineEvent.case_id == closed.id, TimelineEvent.kind == EventKind.NOTE
        )
    ).all()
    assert notes == ["Called SSA"]
    opened = db.session.scalar(sa.select(Case).where(Case.external_id == "C2"))
    assert opened.status == CaseStatus.OPEN and opened.opened_at.date().isoformat() == "2025-03-01"
    again = runner.invoke(args=["import", "cases", _write(tmp_path, "c.csv", CASES)])
    assert "0 were added, 2 updated" in again.output and count(Case) == 2


def test_an_excel_windows_1252_file_with_semicolons_is_read_and_said_so(runner, app, tmp_path):
    _office()
    sheet = "external_id;first_name;last_name;zip\nE1;José;Peña;35055\n"
    result = runner.invoke(
        args=["import", "constituents", _write(tmp_path, "p.csv", sheet, "cp1252")]
    )
    assert result.exit_code == 0, result.output
    assert "read as Windows-1252" in result.output and "CSV UTF-8" in result.output
    assert "separated by semicolons" in result.output
    person = db.session.scalar(sa.select(Constituent))
    assert (person.first_name, person.last_name) == ("José", "Peña")


def test_a_file_in_another_layout_names_what_was_found_and_expected(runner, app, tmp_path):
    _office()
    sheet = "Name,Address\nRuby Hollis,402 2nd Ave\n"
    result = runner.invoke(args=["import", "constituents", _write(tmp_path, "p.csv", sheet)])
    assert result.exit_code == 1
    assert "lacks the column(s) external_id, first_name, last_name" in result.output
    assert "Found: name, address" in result.output
    assert count(Constituent) == 0


def test_the_upload_page_dry_runs_then_imports(app, client):
    office = factories.make_office()
    factories.gen_zip("12901", "NY-21")
    db.session.commit()
    client.login(office.admin.email)
    page = client.get("/admin/import").get_data(as_text=True)
    assert "constituent_external_id" in page  # the layouts are documented on the page
    sheet = "external_id,first_name,last_name,zip\nW1,Dorothy,Vance,12901\nW2,,Nobody,12901\n"

    def upload(dry_run: bool):  # type: ignore[no-untyped-def]
        data = {"kind": "constituents", "file": (io.BytesIO(sheet.encode()), "people.csv")}
        if dry_run:
            data["dry_run"] = "y"
        return client.form_post("/admin/import", data, content_type="multipart/form-data")

    dry = upload(True)  # in the background too (a long file would outlast a request)
    assert dry.status_code == 302 and "/admin/import/" in dry.location
    jobs.wait(int(dry.location.rsplit("/", 1)[-1]), timeout=30)
    html = client.get(dry.location).get_data(as_text=True)
    assert "Dry run: nothing was saved" in html and "1 would be added" in html
    assert '<th scope="row">3</th><td>first_name</td>' in html
    assert count(Constituent) == 0
    real = upload(False)  # runs in the background; its page shows the progress, then this
    assert real.status_code == 302 and "/admin/import/" in real.location
    job_id = int(real.location.rsplit("/", 1)[-1])
    jobs.wait(job_id, timeout=30)
    done = client.get(real.location).get_data(as_text=True)
    assert "1 were added" in done and '<th scope="row">3</th><td>first_name</td>' in done
    assert db.session.scalar(sa.select(Constituent.district_id)) == office.a.id
    assert db.session.get(ImportJob, job_id).status == ImportStatus.DONE
    assert not list((Path(app.config["UPLOAD_DIR"]) / "imports").glob("*"))  # file removed


# The upload page: a real import in the background, with a progress bar ------------------------


def _upload(client, sheet: str, *, kind: str = "constituents", dry_run: bool = False):  # type: ignore[no-untyped-def]
    data = {"kind": kind, "file": (io.BytesIO(sheet.encode()), f"{kind}.csv")}
    if dry_run:
        data["dry_run"] = "y"
    return client.form_post("/admin/import", data, content_type="multipart/form-data")


def _job_of(response) -> int:  # type: ignore[no-untyped-def]
    assert response.status_code == 302, response.get_data(as_text=True)
    return int(response.location.rstrip("/").rsplit("/", 1)[-1])


def test_a_running_import_shows_a_progress_bar_that_polls_until_it_ends(app, client):
    office = factories.make_office()
    job = ImportJob(kind="constituents", filename="people.csv", total_rows=1000)
    job.processed_rows = 250
    db.session.add(job)
    db.session.commit()
    client.login(office.admin.email)
    page = client.get(f"/admin/import/{job.id}").get_data(as_text=True)
    assert '<progress id="import-bar"' in page and 'max="1000" value="250"' in page
    assert "250 of about 1,000 rows read (25%)" in page
    assert 'hx-trigger="every 1s"' in page  # htmx asks again every second
    assert '<noscript><meta http-equiv="refresh" content="3"></noscript>' in page  # or no JS
    part = client.get(f"/admin/import/{job.id}/progress").get_data(as_text=True)
    assert part.lstrip().startswith("<div") and "250 of about 1,000" in part
    assert "An import of constituents is running" in client.get("/admin/import").get_data(
        as_text=True
    )
    # Ended: no more polling, and the result.
    job.status, job.processed_rows, job.created = ImportStatus.DONE, 1000, 1000
    db.session.commit()
    done = client.get(f"/admin/import/{job.id}/progress").get_data(as_text=True)
    assert "hx-trigger" not in done and "1,000 were added" in done and 'value="1000"' in done
    assert "http-equiv" not in client.get(f"/admin/import/{job.id}").get_data(as_text=True)


def test_a_second_import_waits_for_the_running_one(app, client):
    office = factories.make_office()
    db.session.add(ImportJob(kind="cases", filename="cases.csv", total_rows=9000))
    db.session.commit()
    client.login(office.admin.email)
    refused = _upload(client, "external_id,first_name,last_name\nW1,Dorothy,Vance\n")
    assert refused.status_code == 422
    assert "An import of cases is running" in refused.get_data(as_text=True)
    assert count(ImportJob) == 1 and count(Constituent) == 0
    assert not list((Path(app.config["UPLOAD_DIR"]) / "imports").glob("*"))  # file not kept
    # A dry run writes nothing: it may run beside the import.
    checked = _upload(client, "external_id,first_name,last_name\nW1,Dorothy,Vance\n", dry_run=True)
    jobs.wait(_job_of(checked), timeout=30)
    assert "1 would be added" in client.get(checked.location).get_data(as_text=True)
    assert count(Constituent) == 0


def test_an_import_that_stopped_writing_progress_is_said_to_have_stopped(app, client):
    from datetime import timedelta

    from constituent.models import ImportJob, utcnow

    office = factories.make_office()
    job = ImportJob(kind="constituents", filename="people.csv", total_rows=1000)
    job.processed_rows = 500
    db.session.add(job)
    db.session.commit()
    db.session.execute(sa.update(ImportJob).values(updated_at=utcnow() - timedelta(minutes=30)))
    db.session.commit()
    client.login(office.admin.email)
    page = client.get(f"/admin/import/{job.id}").get_data(as_text=True)
    assert "has written no progress since" in page and "hx-trigger" not in page
    # It blocks no new import.
    sheet = "external_id,first_name,last_name\nW1,Dorothy,Vance\n"
    jobs.wait(_job_of(_upload(client, sheet)), timeout=30)
    assert count(Constituent) == 1


def test_an_import_stopped_by_a_bad_line_keeps_its_whole_batches_and_says_where(app, client):
    office = factories.make_office()
    client.login(office.admin.email)
    street = "Main Street, past the feed store on the county road"  # rows past 64 KB in all
    good = "".join(f"B{n},Dorothy,Vance{n},{n} {street}\n" for n in range(1, 1201))
    sheet = "external_id,first_name,last_name,street\n" + good
    bad = sheet.encode() + b"B9999,Jos\xe9,Bad,1 Road\n"  # Windows-1252 past the sniffed start
    response = client.form_post(
        "/admin/import",
        {"kind": "constituents", "file": (io.BytesIO(bad), "people.csv")},
        content_type="multipart/form-data",
    )
    job_id = _job_of(response)
    jobs.wait(job_id, timeout=60)
    page = client.get(f"/admin/import/{job_id}").get_data(as_text=True)
    assert "Stopped after 1,000 of about 1,201 rows" in page
    assert "Line 1202: The file is not readable as UTF-8 text" in page  # the line itself
    assert "none is half-imported" in page
    assert count(Constituent) == 1000  # two whole batches of 500; the third rolled back
    # A dry run of the same file stops at the same line, and says nothing was saved.
    checked = client.form_post(
        "/admin/import",
        {"kind": "constituents", "file": (io.BytesIO(bad), "people.csv"), "dry_run": "y"},
        content_type="multipart/form-data",
    )
    jobs.wait(_job_of(checked), timeout=60)
    dry_page = client.get(checked.location).get_data(as_text=True)
    assert "Line 1202" in dry_page and "Nothing was saved (a dry run)." in dry_page


def test_a_file_with_old_mac_line_ends_is_read(runner, app, tmp_path):
    _office()
    sheet = "external_id,first_name,last_name\rM1,Ruby,Hollis\rM2,Mae,Jordan\r"
    result = runner.invoke(args=["import", "constituents", _write(tmp_path, "mac.csv", sheet)])
    assert result.exit_code == 0, result.output
    assert count(Constituent) == 2


def test_an_external_id_met_again_later_in_the_file_is_refused(runner, app, tmp_path):
    """Even past a batch: the ids met so far are kept (on disk) for the whole file."""
    _office()
    rows = [f"D{n},Ruby,Hollis{n}" for n in range(1, 1202)] + ["D7,Mae,Jordan", "D1201,Al,Ng"]
    sheet = "external_id,first_name,last_name\n" + "\n".join(rows) + "\n"
    result = runner.invoke(args=["import", "constituents", _write(tmp_path, "d.csv", sheet)])
    assert result.exit_code == 1
    assert "1203" in result.output and "'D7' is on an earlier line too" in result.output
    assert "'D1201' is on an earlier line too" in result.output
    assert count(Constituent) == 1201
    assert (
        db.session.scalar(sa.select(Constituent.last_name).where(Constituent.external_id == "D7"))
        == "Hollis7"
    )
