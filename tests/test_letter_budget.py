"""Letter templates fill in within a budget of time and size, or say why they stopped."""

from __future__ import annotations

import html
import time

import pytest

from constituent.extensions import db
from constituent.models import Letter, LetterKind, LetterTemplate, TimelineEvent
from constituent.services import letters as letter_service
from constituent.services.errors import DomainError
from tests.conftest import count
from tests.test_letters import letter_case, template, template_form  # noqa: F401 (fixture)

LOOPS = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
EXPLOSIONS = [
    # Output that grows past the limit a little at a time.
    "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}",
    # Doubling with ~, with +, inside a namespace, and in one expression.
    "{% set a = 'x' * 40000 %}{% set b = a ~ a %}{% set c = b ~ b %}{{ c|length }}",
    "{% set a = 'x' * 40000 %}{% set b = a + a %}{{ b|length }}",
    "{% set ns = namespace(s='xy') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}"
    "{% endfor %}{{ ns.s|length }}",
    # Filters and string methods that make text from a small number.
    "{{ 'x'|center(400000000)|length }}",
    "{{ ('x\\n' * 20000)|indent(40000)|length }}",
    "{{ ('x' * 40000)|replace('x', 'yyyyyyyyyy')|length }}",
    "{{ (range(100000)|list)|join('-' * 1000)|length }}",
    "{{ 'x'.ljust(400000000)|length }}",
    "{{ '%0100000000d'|format(1)|length }}",
]


def data(body: str) -> letter_service.TemplateData:
    return letter_service.TemplateData(
        name="Budget", kind="acknowledgement", subject="Letter", body=body
    )


@pytest.fixture()
def quick_budget(app, monkeypatch):
    monkeypatch.setitem(app.config, "LETTER_RENDER_SECONDS", 0.3)
    return app


@pytest.fixture()
def roomy_time(app, monkeypatch):
    """Time enough that only the size budget can stop a render, even on a loaded machine."""
    monkeypatch.setitem(app.config, "LETTER_RENDER_SECONDS", 60.0)
    return app


def test_a_loop_that_runs_too_long_is_stopped_at_the_time_budget(quick_budget):
    started = time.monotonic()
    with pytest.raises(DomainError) as exc:
        letter_service.validate_template(data(LOOPS))
    assert exc.value.field == "body"
    assert "takes longer than 0.3 seconds" in exc.value.message
    assert time.monotonic() - started < 30  # stopped, not run to the end (hours)


@pytest.mark.parametrize("body", EXPLOSIONS)
def test_output_that_explodes_is_stopped_at_the_size_budget(roomy_time, body):
    with pytest.raises(DomainError) as exc:
        letter_service.validate_template(data(body))
    assert exc.value.field == "body"
    assert "longer than 50,000 characters" in exc.value.message


def test_the_size_budget_is_a_setting(roomy_time, monkeypatch):
    body = "{% for i in range(300) %}ab{% endfor %}"
    assert len(letter_service.validate_template(data(body)).body) == 600
    monkeypatch.setitem(roomy_time.config, "LETTER_RENDER_MAX_CHARS", 500)
    with pytest.raises(DomainError) as exc:
        letter_service.validate_template(data(body))
    assert "longer than 500 characters" in exc.value.message


def test_ordinary_filters_still_work_within_the_budget(app):
    body = (
        "{{ case.description|truncate(20) }}|{{ constituent.full_name|upper|center(30) }}|"
        "{{ ['a', 'b']|join(', ') }}|{{ 'Dear %s'|format(constituent.first_name) }}|"
        "{{ constituent.address|indent(4) }}|{{ case.subject ~ '!' }}"
    )
    text = letter_service.validate_template(data(body)).body
    assert "MARGARET A. EXAMPLE" in text and "a, b" in text and "Dear Margaret" in text
    assert "Retirement check stopped!" in text


def test_lorem_ipsum_is_not_offered(app):
    with pytest.raises(DomainError) as exc:
        letter_service.validate_template(data("{{ lipsum(10000, false, 100, 1000) }}"))
    assert "Unknown merge field: lipsum" in exc.value.message


@pytest.mark.parametrize("body", [LOOPS, EXPLOSIONS[0]])
def test_saving_a_runaway_template_says_why_and_saves_nothing(client, office, quick_budget, body):
    client.login(office.admin.email)
    response = client.form_post(
        "/agencies/letter-templates/new", {**template_form(body=body), "action": "save"}
    )
    assert response.status_code == 422
    page = html.unescape(response.get_data(as_text=True))
    assert "usa-error-message" in page
    assert "takes longer than 0.3 seconds" in page or "longer than 50,000 characters" in page
    assert count(LetterTemplate) == 0


def test_a_runaway_template_saved_earlier_gives_a_message_not_a_letter(
    client,
    office,
    quick_budget,
    letter_case,  # noqa: F811
):
    # Written straight to the database, as an older release or a hand edit might have.
    db.session.add(LetterTemplate(kind=LetterKind.CLOSING, name="Runaway", subject="S", body=LOOPS))
    db.session.commit()
    runaway = template("Runaway")
    client.login(office.caseworker.email)
    url = f"/cases/{letter_case.id}/letters/new?template_id={runaway.id}&contact_id=&referral_id="
    response = client.get(url)
    assert response.status_code == 422
    assert "takes longer than 0.3 seconds" in response.get_data(as_text=True)
    client.form_post(
        f"/cases/{letter_case.id}/letters",
        {"template_id": runaway.id, "referral_id": "", "contact_id": ""},
        token_from=f"/cases/{letter_case.id}/letters/new",
    )
    assert count(Letter) == 0 and count(TimelineEvent) == 0
