"""Bringing the caseload in: constituents and cases from CSV, by command and upload page."""

from __future__ import annotations

import io

import sqlalchemy as sa

from constituent.extensions import db
from constituent.models import (
    Agency,
    AgencyLevel,
    AuditEvent,
    Case,
    CaseStatus,
    Constituent,
    EventKind,
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

    dry = upload(True)
    html = dry.get_data(as_text=True)
    assert dry.status_code == 200 and "Dry run: nothing was saved" in html
    assert '<th scope="row">3</th><td>first_name</td>' in html
    assert count(Constituent) == 0
    real = upload(False)
    assert real.status_code == 200 and "1 were added" in real.get_data(as_text=True)
    assert db.session.scalar(sa.select(Constituent.district_id)) == office.a.id
