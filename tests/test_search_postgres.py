"""The postgres search backend: refused on SQLite; its documents are written in the saving
transaction (a rollback leaves none, an early flush is not missed, a rename reaches the cases
that show the name); `flask search reindex|check` work on it."""

from __future__ import annotations

import threading
from datetime import date

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from constituent import create_app
from constituent.config import ConfigurationError, TestConfig
from constituent.extensions import db
from constituent.models import Case, Constituent, EventKind, SearchDocument, SearchQueue, User
from constituent.search import postgres
from constituent.services import timeline
from tests import factories
from tests.referral_helpers import gen_agency, gen_referral
from tests.search_support import build, case_numbers, reset_index


@pytest.fixture(autouse=True)
def clean_index(app):
    reset_index(app)
    yield
    reset_index(app)


def test_the_postgres_backend_is_refused_on_sqlite(tmp_path):
    with pytest.raises(ConfigurationError, match="needs a PostgreSQL database"):
        create_app(
            {
                **{k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()},
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.db'}",
                "SEARCH_BACKEND": "postgres",
                "SECRET_KEY": "test-secret-key-not-for-production",
            }
        )


@pytest.fixture()
def postgres_backend(app, search_engine):
    if search_engine != "postgres":
        pytest.skip("postgres backend only")
    return app


def _committed_documents() -> set[tuple[str, int]]:
    with Session(db.engine) as session:
        return set(session.execute(sa.select(SearchDocument.kind, SearchDocument.record_id)).all())


def test_a_save_is_searchable_at_commit_and_a_rollback_leaves_nothing(postgres_backend, office):
    ghost = factories.gen_case(office.a, office.category, subject="Ghostly qwyxplorn request")
    assert ("cases", ghost.id) not in _committed_documents()
    db.session.rollback()
    assert case_numbers(office.supervisor, "qwyxplorn") == set()
    assert _committed_documents() == {
        d for d in _committed_documents() if d[0] != "cases"
    }  # no case document at all

    case = factories.gen_case(office.a, office.category, opened_by=office.caseworker)
    db.session.commit()
    timeline.add_event(
        case, EventKind.NOTE, "Spoke with the brelvinox liaison.", author=office.caseworker
    )
    db.session.flush()  # an early flush, as a service does to get ids
    db.session.add(factories.gen_category("Housing"))
    db.session.commit()
    assert case_numbers(office.supervisor, "brelvinox") == {case.number}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SearchQueue)) == 0


def test_renaming_an_agency_reaches_the_cases_referred_to_it(postgres_backend, office):
    agency = gen_agency(name="Office of Zorvath Affairs", acronym="OZA")
    case = factories.gen_case(office.a, office.category, opened_by=office.caseworker)
    gen_referral(case, agency, sent_on=date(2026, 3, 1))
    db.session.commit()
    assert case_numbers(office.supervisor, "agency:OZA") == {case.number}
    agency.acronym = "QXA"
    agency.name = "Bureau of Quillon Matters"
    db.session.commit()
    assert case_numbers(office.supervisor, "agency:OZA") == set()
    assert case_numbers(office.supervisor, "quillon") == {case.number}
    assert case_numbers(office.supervisor, '"quillon matters"') == {case.number}


def test_reindex_and_check_work_on_postgres(postgres_backend, office, runner):
    factories.gen_case(office.a, office.category, subject="Pension stopped")
    db.session.commit()
    result = runner.invoke(args=["search", "check"])
    assert result.exit_code == 0, result.output
    assert "cases: 1 documents agree with the database." in result.output
    # Drift: a row written behind the app's back is found and repaired.
    with db.engine.begin() as conn:
        conn.execute(sa.delete(SearchDocument.__table__).where(SearchDocument.kind == "cases"))
    result = runner.invoke(args=["search", "check"])
    assert result.exit_code == 1 and "cases: 1 missing" in result.output
    result = runner.invoke(args=["search", "check", "--repair"])
    assert result.exit_code == 0 and "repaired: 1 documents re-indexed" in result.output
    assert runner.invoke(args=["search", "check"]).exit_code == 0
    result = runner.invoke(args=["search", "reindex"])
    assert result.exit_code == 0, result.output
    assert "Rebuilt the PostgreSQL search documents (1 cases" in result.output
    assert case_numbers(office.supervisor, "pens*") != set()


def test_common_words_are_searched_as_whoosh_searches_them(app, search_engine, office):
    """Neither engine has a stop list: a common word alone finds its case, and a phrase's
    common words must be there (both engines, the same answers)."""
    with_after = factories.gen_case(
        office.a,
        office.category,
        subject="Pension after death of her husband",
        description="Called on Monday.",
    )
    without = factories.gen_case(
        office.a, office.category, subject="Pension death benefit", description="Called Monday."
    )
    db.session.commit()
    build(app)
    assert case_numbers(office.supervisor, "after") == {with_after.number}
    assert case_numbers(office.supervisor, "her") == {with_after.number}
    assert case_numbers(office.supervisor, '"pension after death"') == {with_after.number}
    assert case_numbers(office.supervisor, '"pension death"') == {without.number}
    assert case_numbers(office.supervisor, "pension -after") == {without.number}


def test_a_note_and_a_rename_saved_at_once_are_both_found(postgres_backend, office, monkeypatch):
    """One staffer adds a note to a case while another corrects the constituent's surname (on
    two servers, at the same moment): both transactions rebuild the case's document, and
    neither locks a row the other writes. The second waits for the first, so the document
    committed last holds the note and the new name."""
    case = factories.gen_case(office.a, office.category, opened_by=office.caseworker)
    db.session.commit()
    case_id, person_id = case.id, case.constituent_id
    first_written, release_first = threading.Event(), threading.Event()
    write = postgres.write_touched

    def held_write(session, touched):  # type: ignore[no-untyped-def]
        write(session, touched)
        if threading.current_thread().name == "first":
            first_written.set()
            assert release_first.wait(30)

    monkeypatch.setattr(postgres, "write_touched", held_write)
    app = postgres_backend
    errors: list[BaseException] = []

    def in_thread(change) -> None:  # type: ignore[no-untyped-def]
        try:
            with app.app_context():
                change()
                db.session.commit()
                db.session.remove()
        except BaseException as exc:  # noqa: BLE001  (reported by the assertion below)
            errors.append(exc)

    def add_note() -> None:
        saved = db.session.get(Case, case_id)
        author = db.session.get(User, office.caseworker.id)
        timeline.add_event(saved, EventKind.NOTE, "Called about zyrtolan.", author=author)

    def rename() -> None:
        person = db.session.get(Constituent, person_id)
        assert person is not None
        person.last_name = "Quombrex"

    first = threading.Thread(target=in_thread, args=(add_note,), name="first")
    second = threading.Thread(target=in_thread, args=(rename,), name="second")
    first.start()
    assert first_written.wait(30), errors
    second.start()
    second.join(1.5)
    waited = second.is_alive()  # it waits for the first's commit instead of racing ahead
    release_first.set()
    first.join(30)
    second.join(30)
    assert not errors, errors
    assert waited, "the second save built the case's document while the first was uncommitted"
    assert case_numbers(office.supervisor, "zyrtolan") == {case.number}
    assert case_numbers(office.supervisor, "quombrex") == {case.number}
