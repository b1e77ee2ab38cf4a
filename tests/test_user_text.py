"""Text people wrote is set apart for its own direction (WCAG 1.3.2): a name or subject in
Arabic or Hebrew reads right to left without reordering the page's words around it."""

from __future__ import annotations

from constituent.extensions import db
from tests.case_helpers import open_case

ISOLATED = '<bdi dir="auto" class="app-user-text">'


def test_names_subjects_and_descriptions_are_set_apart_for_direction(client, office):
    case = open_case(office, subject="שיק הפנסיה נעצר", description="اتصلت مريم\nمرتين")
    case.constituent.first_name = "مريم"
    db.session.commit()
    client.login(office.supervisor.email)
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert f"{ISOLATED}שיק הפנסיה נעצר</bdi>" in page
    assert f"{ISOLATED}اتصلت مريم<br>مرتين</bdi>" in page  # line breaks kept inside
    assert f"{ISOLATED}{case.constituent.full_name}</bdi>" in page
    person = client.get(f"/constituents/{case.constituent_id}").get_data(as_text=True)
    assert f"{ISOLATED}{case.constituent.full_name}</bdi>" in person
    work = client.get("/cases/").get_data(as_text=True)
    assert f"{ISOLATED}שיק הפנסיה נעצר</bdi>" in work


def test_what_someone_wrote_is_still_escaped(client, office):
    case = open_case(office, subject="<script>alert(1)</script>")
    client.login(office.supervisor.email)
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "<script>alert(1)" not in page
    assert f"{ISOLATED}&lt;script&gt;alert(1)&lt;/script&gt;</bdi>" in page
