"""The search queue is filled in the saving transaction: rollbacks leave nothing, early
flushes are not missed, and every kind of change reaches the document it shows up in."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from constituent.extensions import db
from constituent.models import (
    AgencyResponse,
    ContactKind,
    ContactPoint,
    EventKind,
    InboundMessage,
    InboundStatus,
    ReferralMethod,
    ResponseOutcome,
    SearchQueue,
)
from constituent.search import indexer
from constituent.search.store import IndexBusy, index_root, writer_lock
from constituent.services import timeline
from tests import factories
from tests.referral_helpers import gen_agency, gen_referral
from tests.search_support import build, case_numbers, queued, reset_index, sync


@pytest.fixture(autouse=True)
def clean_index(app):
    reset_index(app)
    yield
    reset_index(app)


def test_a_rollback_leaves_no_queue_row_and_no_ghost_in_the_index(app, office):
    build(app)
    case = factories.gen_case(
        office.a, office.category, subject="Ghostly qwyxplorn request", opened_by=office.caseworker
    )
    number = case.number
    assert ("case", case.id) in queued(in_transaction=True)  # flushed: queued already
    assert queued() == []  # but not committed
    db.session.rollback()
    assert queued() == []
    sync(app)
    assert case_numbers(office.supervisor, "qwyxplorn") == set()
    assert number not in case_numbers(office.supervisor, "ghostly")


def test_a_change_flushed_long_before_the_commit_is_indexed(app, office):
    build(app)
    case = factories.gen_case(office.a, office.category, opened_by=office.caseworker)
    db.session.commit()
    sync(app)
    timeline.add_event(
        case, EventKind.NOTE, "Spoke with the brelvinox liaison.", author=office.caseworker
    )
    db.session.flush()  # an early flush, as a service does to get ids
    db.session.add(factories.gen_category("Housing"))  # later work in the same transaction
    db.session.commit()
    assert ("case", case.id) in queued()
    sync(app)
    assert case_numbers(office.supervisor, "brelvinox") == {case.number}
    assert queued() == []


def test_a_rolled_back_savepoint_drops_only_its_own_rows(app, office):
    build(app)
    kept = factories.gen_case(office.a, office.category, subject="Kept plintova case")
    with db.session.begin_nested():
        pass
    nested = db.session.begin_nested()
    dropped = factories.gen_case(office.a, office.category, subject="Dropped plintova case")
    dropped_number = dropped.number
    nested.rollback()
    # The kept case is queued again after the savepoint (never missing).
    timeline.add_event(kept, EventKind.NOTE, "after the savepoint")
    db.session.commit()
    sync(app)
    assert case_numbers(office.supervisor, "plintova") == {kept.number}
    assert dropped_number not in case_numbers(office.supervisor, "dropped")


def test_notes_responses_and_filed_mail_reindex_their_case(app, office):
    case = factories.gen_case(office.a, office.category, opened_by=office.caseworker)
    other = factories.gen_case(office.a, office.category, opened_by=office.caseworker)
    agency = gen_agency()
    referral = gen_referral(case, agency, sent_on=date(2026, 3, 1), author=office.caseworker)
    db.session.commit()
    build(app)

    db.session.add(
        AgencyResponse(
            referral=referral,
            received_on=date(2026, 3, 2),
            channel=ReferralMethod.EMAIL,
            outcome=ResponseOutcome.PENDING,
            body="Adjudicator quentrafold has the file.",
        )
    )
    message = InboundMessage(
        sha256="a" * 64,
        sender="liaison@ssa.example",
        subject="About your inquiry",
        body_text="Ref morvalith attached.",
        status=InboundStatus.FILED,
        case_id=case.id,
    )
    db.session.add(message)
    db.session.commit()
    sync(app)
    assert case_numbers(office.supervisor, "quentrafold") == {case.number}
    assert case_numbers(office.supervisor, "morvalith") == {case.number}

    # Re-filing the message onto another case re-indexes both.
    message.case_id = other.id
    db.session.commit()
    assert {("case", case.id), ("case", other.id)} <= set(queued())
    sync(app)
    assert case_numbers(office.supervisor, "morvalith") == {other.number}


def test_renaming_a_constituent_reindexes_their_cases_and_contacts_reach_the_person(
    app, office, client
):
    person = factories.gen_constituent(office.a, first="Harriet", last="Oldname")
    case = factories.gen_case(office.a, office.category, constituent=person)
    db.session.commit()
    build(app)
    person.last_name = "Vantrelle"
    db.session.add(
        ContactPoint(
            constituent=person,
            kind=ContactKind.EMAIL,
            value="h.vantrelle@mail.example",
            normalized="h.vantrelle@mail.example",
        )
    )
    db.session.commit()
    assert ("constituent", person.id) in queued()
    assert ("case", case.id) in queued()
    sync(app)
    assert case_numbers(office.supervisor, "Vantrelle") == {case.number}
    assert case_numbers(office.supervisor, "Oldname") == set()
    client.login(office.caseworker.email)
    page = client.get("/search/?q=h.vantrelle@mail.example").get_data(as_text=True)
    assert "Harriet Vantrelle" in page


def test_renaming_an_agency_reindexes_the_cases_referred_to_it(app, office):
    case = factories.gen_case(office.a, office.category)
    agency = gen_agency(name="Office of Personnel Management", acronym="OPM")
    gen_referral(case, agency, sent_on=date(2026, 3, 1))
    db.session.commit()
    build(app)
    assert case_numbers(office.supervisor, "agency:OPM") == {case.number}
    agency.acronym = "OPMX"
    db.session.commit()
    sync(app)
    assert case_numbers(office.supervisor, "agency:OPMX") == {case.number}
    assert case_numbers(office.supervisor, "agency:OPM") == set()


def test_a_deleted_case_leaves_the_index(app, office):
    case = factories.gen_case(office.a, office.category, subject="Duplicate entry vorsk")
    db.session.commit()
    build(app)
    assert case_numbers(office.supervisor, "vorsk") == {case.number}
    db.session.delete(case)
    db.session.commit()
    sync(app)
    assert case_numbers(office.supervisor, "vorsk") == set()


def test_a_save_neither_waits_for_nor_fails_on_a_busy_or_missing_index(app, office, client):
    build(app)
    case = factories.gen_case(
        office.a, office.category, assignee=office.caseworker, opened_by=office.caseworker
    )
    db.session.commit()
    client.login(office.caseworker.email)
    root = index_root(app)
    with writer_lock(root, 0.0):  # another process is writing the index
        with pytest.raises(IndexBusy):
            indexer.drain(app, lock_timeout=0.0)
        timeline.add_event(case, EventKind.NOTE, "Saved while busy: zelvonique.")
        db.session.commit()
    assert ("case", case.id) in queued()
    reset_index(app)  # and while it is missing altogether
    timeline.add_event(case, EventKind.NOTE, "Saved while missing.")
    db.session.commit()
    sync(app)  # rebuilds, then drains
    assert case_numbers(office.supervisor, "zelvonique") == {case.number}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SearchQueue)) == 0
