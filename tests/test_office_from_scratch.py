"""Done when: an office for a real House member is set up from an empty database by commands
alone (no demo seeder), its caseload imported, and a call logged from a split ZIP."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
import sqlalchemy as sa

from constituent import create_app
from constituent.config import TestConfig
from constituent.extensions import db
from constituent.models import Agency, Case, CaseStatus, Constituent, District, OfficeSettings
from tests.caseload import write_caseload
from tests.conftest import Client
from tests.dbutil import fresh_database


@dataclass(frozen=True)
class RealOffice:
    legislator: str
    state: str
    states: str  # ZIP table states: the home state and the neighbours its split ZIPs reach
    district: str
    code: str
    timezone: str
    zips: list[str]  # ZIPs wholly in the district
    split_zip: str  # a ZIP shared with a district this office does not serve
    other: str  # that district
    city: str


ALABAMA = RealOffice(
    "Robert Aderholt", "AL", "AL", "AL-04", "AL04", "America/Chicago",
    ["35055", "35057", "35077", "35179"], "35016", "AL-05", "Cullman",
)  # fmt: skip
WYOMING = RealOffice(
    "Harriet Hageman", "WY", "WY,MT", "WY-AL", "WYAL", "America/Denver",
    ["82001", "82009", "82601", "82070"], "82801", "MT-02", "Cheyenne",
)  # fmt: skip


@pytest.mark.parametrize("office", [ALABAMA, WYOMING], ids=["AL-04", "WY-AL"])
def test_an_office_from_an_empty_database_by_commands(tmp_path, office):
    agencies, people, cases = write_caseload(tmp_path / "old", office.zips, office.city)
    with fresh_database(tmp_path, "scratch") as url:
        app = create_app(
            {
                **{k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()},
                "SQLALCHEMY_DATABASE_URI": url,
                "SEARCH_INDEX_DIR": str(tmp_path / "index"),
                "UPLOAD_DIR": str(tmp_path / "uploads"),
                "SECRET_KEY": "scratch-secret-key-not-for-production",
            }
        )
        app.test_client_class = Client
        with app.app_context():
            try:
                _set_up_and_work(app, office, agencies, people, cases)
            finally:
                db.session.remove()
                db.engine.dispose()


def _run(runner, *args: str, code: int = 0) -> str:  # type: ignore[no-untyped-def]
    db.session.commit()  # end the test's own read, as a separate command's process would
    result = runner.invoke(args=list(args))
    db.session.commit()
    assert result.exit_code == code, result.output
    return result.output


def _set_up_and_work(app, office: RealOffice, agencies, people, cases) -> None:  # type: ignore[no-untyped-def]
    runner = app.test_cli_runner()
    assert "db upgrade" in _run(runner, "users", "list", code=2)
    _run(runner, "db", "upgrade")
    _run(runner, "districts", "import", "constituent/data/zccd.csv", "--states", office.states)
    shown = _run(
        runner,
        "office", "init",
        "--name", f"Office of Representative {office.legislator}",
        "--legislator", office.legislator,
        "--body", "us_house",
        "--state", office.state,
        "--district", office.district,
        "--code", office.code,
        "--timezone", office.timezone,
        "--admin-email", "it@office.example",
        "--generate-password",
        "--starter", "categories",
        "--no-interactive",
    )  # fmt: skip
    admin_password = re.search(r"Password: (\S+)", shown).group(1)
    assert db.session.scalar(sa.select(OfficeSettings.office_code)) == office.code
    assert [d.code for d in db.session.scalars(sa.select(District))] == [office.district]
    assert "3 of 3 rows imported" in _run(runner, "agencies", "import", str(agencies))
    assert "1,000 were added" in _run(runner, "import", "constituents", str(people))
    assert "2,000 were added" in _run(runner, "import", "cases", str(cases))
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Constituent)) == 1000
    closed = db.session.scalar(
        sa.select(sa.func.count()).select_from(Case).where(Case.status == CaseStatus.CLOSED)
    )
    assert (
        closed == 1333
        and db.session.scalar(
            sa.select(sa.func.count()).select_from(Case).where(Case.closed_at.is_not(None))
        )
        == closed
    )
    assert {a.acronym for a in db.session.scalars(sa.select(Agency))} == {"SSA", "VA", "IRS"}
    assert "Indexed" in _run(runner, "search", "sync")
    made = _run(
        runner,
        "users", "create", "--email", "front@office.example", "--name", "Front Desk",
        "--role", "intake", "--district", office.district, "--generate-password",
    )  # fmt: skip
    password = re.search(r"Password: (\S+)", made).group(1)
    admin = app.test_client()
    assert admin.login("it@office.example", admin_password).status_code == 302
    assert office.code in admin.get("/admin/office").get_data(as_text=True)
    client = app.test_client()
    assert client.login("front@office.example", password).status_code == 302
    question = client.get("/intake/district", query_string={"zip5": office.split_zip})
    text = question.get_data(as_text=True)
    assert office.other in text and "outside this office&#39;s districts" in text
    category = re.search(
        r'<option value="(\d+)">IRS</option>', client.get("/intake/").get_data(as_text=True)
    ).group(1)
    logged = client.form_post(
        "/intake/",
        {
            "first_name": "Opal",
            "last_name": "Whitlock",
            "phone": "(307) 555-0199",
            "street": "40 Split Rd",
            "city": office.city,
            "zip5": office.split_zip,
            "district_id": "-1",
            "category_id": category,
            "subject": "Refund held for review",
            "channel": "phone",
            "priority": "routine",
            "action": "log",
        },
    )
    assert logged.status_code == 302, logged.get_data(as_text=True)
    opal = db.session.scalar(sa.select(Constituent).where(Constituent.last_name == "Whitlock"))
    assert opal.out_of_district and opal.state == office.state
    search = client.get("/search/", query_string={"q": "refund"})
    assert search.status_code == 200
