"""The admin ZIP-table upload: content checks, a dry run that changes nothing, a real run."""

from __future__ import annotations

import io

import pytest
import sqlalchemy as sa

from constituent.extensions import db
from constituent.models import CaseStatus, EventKind, Role, TimelineEvent, ZipDistrict
from constituent.services import districts
from tests import factories

URL = "/admin/zip-table"
HEADER = "state_fips,state_abbr,zcta,cd\n"
OLD_TABLE = HEADER + "36,NY,12901,21\n36,NY,12950,21\n36,NY,12345,20\n36,NY,12345,21\n"
# 12950 moves from NY-21 to NY-20; the rest stays.
NEW_TABLE = HEADER + "36,NY,12901,21\n36,NY,12950,20\n36,NY,12345,20\n36,NY,12345,21\n"


@pytest.fixture()
def redistricting(office):
    """The old table imported; one constituent in 12950 with an open and a closed case."""
    districts.import_zip_table(io.StringIO(OLD_TABLE))
    mover = factories.gen_constituent(office.a, first="Mo", last="Ver", zip5="12950")
    stayer = factories.gen_constituent(office.a, first="Stay", last="Put", zip5="12901")
    open_case = factories.gen_case(office.a, office.category, constituent=mover)
    closed_case = factories.gen_case(
        office.a, office.category, constituent=mover, status=CaseStatus.CLOSED
    )
    db.session.commit()
    return mover, stayer, open_case, closed_case


def upload(client, text: str | bytes, dry_run: bool, name: str = "zccd.csv"):
    body = text.encode() if isinstance(text, str) else text
    data = {"file": (io.BytesIO(body), name), "states": ""}
    if dry_run:
        data["dry_run"] = "y"
    return client.form_post(URL, data, content_type="multipart/form-data")


def table() -> set[tuple[str, str]]:
    return set(db.session.execute(sa.select(ZipDistrict.zip5, ZipDistrict.district_code)).all())


def test_only_admins_open_the_upload_page(client, office):
    for role in (Role.INTAKE, Role.CASEWORKER, Role.SUPERVISOR, Role.LEGISLATOR):
        client.login(office.user(role).email)
        assert client.get(URL).status_code == 403
        client.logout()
    client.login(office.admin.email)
    page = client.get(URL)
    assert page.status_code == 200 and 'type="file"' in page.get_data(as_text=True)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe", "not UTF-8 text"),
        ("name,email\nAnn,ann@example.org\n", "not a ZIP table: missing column(s)"),
        (HEADER + "36,NY,ABCDE,21\n", "is not five digits"),
        (HEADER, "no ZIP rows"),
    ],
)
def test_a_file_that_is_not_a_zip_table_is_refused(client, office, content, message):
    client.login(office.admin.email)
    response = upload(client, content, dry_run=False)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert table() == set()


def test_dry_run_reports_who_would_move_and_changes_nothing(client, office, redistricting):
    mover, stayer, open_case, _ = redistricting
    before = table()
    client.login(office.admin.email)
    response = upload(client, NEW_TABLE, dry_run=True)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Dry run: nothing was saved" in page
    assert "1 constituent would change district" in page
    assert f"Mo Ver (#{mover.id})" in page and "Stay Put" not in page
    db.session.refresh(mover)
    assert mover.district == office.a and table() == before
    assert db.session.scalar(sa.select(sa.func.count(TimelineEvent.id))) == 0


def test_real_run_moves_constituents_and_notes_their_open_cases(client, office, redistricting):
    mover, stayer, open_case, closed_case = redistricting
    client.login(office.admin.email)
    response = upload(client, NEW_TABLE, dry_run=False)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "1 constituent changed district" in page and "1 case note added" in page
    db.session.refresh(mover)
    db.session.refresh(stayer)
    assert mover.district == office.b and stayer.district == office.a
    assert ("12950", "NY-20") in table() and ("12950", "NY-21") not in table()
    notes = db.session.scalars(sa.select(TimelineEvent)).all()
    assert [(n.case_id, n.kind) for n in notes] == [(open_case.id, EventKind.SYSTEM)]
    assert "from NY-21 to NY-20" in notes[0].body
