"""Each call saved once: create forms carry a one-time key; a repeat goes to what the first made."""

from __future__ import annotations

import re
import threading

import pytest
from flask.testing import FlaskClient

from constituent.extensions import db
from constituent.models import (
    AgencyLevel,
    Case,
    Constituent,
    FollowUp,
    Letter,
    Referral,
    SubmissionKey,
)
from constituent.views.helpers import local_today
from tests import factories
from tests.conftest import count
from tests.referral_helpers import gen_agency
from tests.world import make_world

KEY_RE = re.compile(r'name="([a-z-]*submission_key)" type="hidden" value="([^"]+)"')


def key_on(page: str) -> tuple[str, str]:
    """The one-time key field of the page's create form: (name, value)."""
    match = KEY_RE.search(page)
    assert match, "the form carries no one-time key"
    return match.group(1), match.group(2)


def call(office) -> dict[str, str]:
    return {
        "first_name": "Dorothy",
        "last_name": "Vance",
        "phone": "(518) 555-0199",
        "street": "4 Elm Street",
        "city": "Plattsburgh",
        "zip5": "12901",
        "category_id": str(office.category.id),
        "subject": "Pension stopped",
        "channel": "phone",
        "priority": "routine",
        "action": "log",
    }


@pytest.fixture()
def world(app):  # type: ignore[no-untyped-def]
    world = make_world()
    factories.gen_zip("12901", "NY-21")
    world.state = gen_agency("State Housing Agency", None, AgencyLevel.STATE)
    world.unfiled_id = factories.gen_message().id
    db.session.commit()
    return world


def _forms(world):  # type: ignore[no-untyped-def]
    """(name, page with the form, address it posts to, fields a person fills in, what it makes)."""
    office, case_id = world.office, world.ids["case_id"]
    today = local_today().isoformat()
    return [
        ("log a call", "/intake/", "/intake/", call(office), Case),
        (
            "new case from mail",
            f"/mail/{world.unfiled_id}/new-case",
            f"/mail/{world.unfiled_id}/new-case",
            {**call(office), "channel": "email"},
            Case,
        ),
        (
            "follow-up",
            f"/cases/{case_id}",
            f"/cases/{case_id}/follow-ups",
            {
                "followup-due_on": today,
                "followup-assignee": str(office.caseworker.id),
                "followup-description": "Call the resident back",
            },
            FollowUp,
        ),
        (
            "referral",
            f"/referrals/case/{case_id}/new",
            f"/referrals/case/{case_id}/new",
            {
                "agency": str(world.state.id),
                "contact": "0",
                "method": "email",
                "sent_on": today,
                "due_on": "",
                "reference_number": "",
            },
            Referral,
        ),
        (
            "letter",
            f"/cases/{case_id}/letters/new?template_id={world.ids['template_id']}"
            f"&contact_id={world.ids['contact_id']}",
            f"/cases/{case_id}/letters",
            {
                "template_id": str(world.ids["template_id"]),
                "contact_id": str(world.ids["contact_id"]),
                "referral_id": "",
            },
            Letter,
        ),
    ]


@pytest.mark.parametrize("index", range(5), ids=["call", "mail", "follow-up", "referral", "letter"])
def test_the_same_form_sent_twice_saves_once_and_both_land_on_what_it_made(client, world, index):
    name, page_url, post_url, fields, made = _forms(world)[index]
    world.office.supervisor.mail_triage = False
    db.session.commit()
    client.login(world.office.supervisor.email)
    page = client.get(page_url).get_data(as_text=True)
    key_name, key = key_on(page)
    before = count(made)
    token = client.csrf_token(page_url)
    data = {**fields, key_name: key, "csrf_token": token}
    first = client.post(post_url, data=data)
    assert first.status_code == 302, (name, first.get_data(as_text=True)[:2000])
    second = client.post(post_url, data=data)
    assert second.status_code in (302, 303), name
    assert count(made) == before + 1, name
    if name != "new case from mail":  # a filed message already says so and links its case
        assert second.status_code == 303 and second.location == first.location, name
        shown = client.get(second.location).get_data(as_text=True)
        assert "That form was already sent; here is what it saved." in shown
    if made is Case:
        assert count(Constituent) == 4  # three in the world, one new caller


def test_a_fresh_page_has_a_fresh_key_and_saves_again(client, world):
    client.login(world.office.intake.email)
    keys = set()
    for _ in range(2):
        page = client.get("/intake/").get_data(as_text=True)
        key_name, key = key_on(page)
        keys.add(key)
        data = {**call(world.office), key_name: key, "first_name": f"Dorothy{len(keys)}"}
        assert client.form_post("/intake/", data).status_code == 302
    assert len(keys) == 2 and count(SubmissionKey) == 2


def test_a_form_refused_for_its_input_can_be_corrected_and_sent_with_the_same_key(client, world):
    client.login(world.office.intake.email)
    key_name, key = key_on(client.get("/intake/").get_data(as_text=True))
    refused = client.form_post("/intake/", {**call(world.office), key_name: key, "subject": ""})
    assert refused.status_code == 422 and key in refused.get_data(as_text=True)
    assert count(SubmissionKey) == 0  # nothing saved, the key not used up
    assert client.form_post("/intake/", {**call(world.office), key_name: key}).status_code == 302
    assert count(Case) == 4


def test_a_key_no_form_made_is_refused(client, world):
    client.login(world.office.intake.email)
    response = client.form_post("/intake/", {**call(world.office), "submission_key": "<x>"})
    assert response.status_code == 400 and count(Case) == 3


def test_two_posts_at_the_same_moment_save_one_call(app, world):
    """A double click on a slow connection: both posts arrive together (SQLite or PostgreSQL)."""
    client = app.test_client()
    client.login(world.office.intake.email)
    page = client.get("/intake/").get_data(as_text=True)
    key_name, key = key_on(page)
    token = client.csrf_token("/intake/")
    session_cookie = client.get_cookie("session")
    assert session_cookie is not None
    data = {**call(world.office), key_name: key, "csrf_token": token}
    start = threading.Barrier(2)
    answers: list = []

    def post() -> None:
        browser = FlaskClient(app)  # each request in its own app context and connection
        browser.set_cookie("session", session_cookie.value)
        start.wait()
        answers.append(browser.post("/intake/", data=data))

    threads = [threading.Thread(target=post) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(a.status_code for a in answers) == [302, 303]
    assert answers[0].location == answers[1].location
    db.session.commit()  # a new snapshot: what the two requests saved
    assert count(Case) == 4 and count(Constituent) == 4 and count(SubmissionKey) == 1
