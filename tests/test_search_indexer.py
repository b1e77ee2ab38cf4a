"""The indexer: several processes, rebuilds under load, a lost or damaged index, drift."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from constituent.extensions import db
from constituent.models import Case, EventKind, SearchQueue
from constituent.search import indexer
from constituent.search.store import (
    BROKEN,
    current_generation,
    index_root,
    open_index,
    search_index,
)
from constituent.services import timeline
from tests import factories
from tests.search_support import build, case_numbers, count, queued, reset_index, sync

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def clean_index(app):
    reset_index(app)
    yield
    indexer.stop_background_indexer(app)
    reset_index(app)


def _env(app, tmp_path: Path) -> dict[str, str]:
    """Environment for another process of the same deployment (same database and index)."""
    env = dict(os.environ)
    env.update(
        {
            "CONSTITUENT_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
            "CONSTITUENT_SEARCH_INDEX_DIR": app.config["SEARCH_INDEX_DIR"],
            "CONSTITUENT_SECRET_KEY": "test-secret-key-not-for-production",
            "CONSTITUENT_INSTANCE_PATH": str(tmp_path / "instance"),
            "CONSTITUENT_SEARCH_BACKGROUND_INDEXER": "0",
            "FLASK_APP": "constituent",
            "PYTHONPATH": str(ROOT),
        }
    )
    return env


SAVER = textwrap.dedent("""
    import os, sys, time
    from pathlib import Path
    from constituent import create_app
    from constituent.extensions import db
    from constituent.models import Case, EventKind
    from constituent.search import indexer
    from constituent.search.store import IndexBusy
    from constituent.services import timeline

    case_id, word, go = int(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
    app = create_app()
    with app.app_context():
        while not go.exists():
            time.sleep(0.005)
        # As a web request does: one write transaction, committed once.
        with app.test_request_context(method="POST"):
            case = db.session.get(Case, case_id)
            timeline.add_event(case, EventKind.NOTE, f"Saved by process {os.getpid()}: {word}")
            db.session.commit()
        # Then the process's indexer takes its turn, unless another process holds the lock.
        try:
            result = indexer.drain(app, lock_timeout=0.0)
            print("drained", result.rows)
        except IndexBusy:
            print("busy: left in the queue")
""")


def test_two_processes_saving_at_once_both_end_up_indexed(app, office, tmp_path):
    first = factories.gen_case(office.a, office.category)
    second = factories.gen_case(office.a, office.category)
    db.session.commit()
    build(app)
    go = tmp_path / "go"
    env = _env(app, tmp_path)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", SAVER, str(case.id), word, str(go)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for case, word in ((first, "vexmorant"), (second, "quillovane"))
    ]
    go.touch()
    outputs = [p.communicate(timeout=120) for p in procs]
    for proc, (out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
        assert "drained" in out or "busy" in out
    sync(app)  # the next round of any indexer picks up what a busy process left
    assert case_numbers(office.supervisor, "vexmorant") == {first.number}
    assert case_numbers(office.supervisor, "quillovane") == {second.number}
    assert queued() == []


def test_the_worker_command_indexes_saves_made_by_web_processes(app, office, tmp_path):
    case = factories.gen_case(office.a, office.category)
    db.session.commit()
    build(app)
    worker = subprocess.Popen(
        [sys.executable, "-m", "flask", "search", "worker", "--interval", "0.1"],
        env=_env(app, tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        timeline.add_event(case, EventKind.NOTE, "Worker should find drosselvank.")
        db.session.commit()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not case_numbers(office.supervisor, "drosselvank"):
            time.sleep(0.1)
        assert case_numbers(office.supervisor, "drosselvank") == {case.number}
    finally:
        worker.send_signal(signal.SIGTERM)
        out, err = worker.communicate(timeout=60)
    assert worker.returncode == 0, err
    assert "Search worker stopped." in out


def test_reindex_during_searches_keeps_answering_and_carries_over_saves(app, office):
    cases = [
        factories.gen_case(office.a, office.category, subject=f"Heating assistance {i}")
        for i in range(30)
    ]
    db.session.commit()
    build(app)
    before = current_generation(index_root(app))
    paused, resume = threading.Event(), threading.Event()
    failures: list[BaseException] = []

    def progress(name: str, done: int, total: int) -> None:
        if name == "cases" and done and not paused.is_set():
            paused.set()
            resume.wait(60)

    def rebuild() -> None:
        try:
            with app.app_context():
                indexer.rebuild(app, progress=progress, procs=1, batch_size=10)
        except BaseException as exc:  # reported below
            failures.append(exc)
            paused.set()

    thread = threading.Thread(target=rebuild)
    thread.start()
    try:
        assert paused.wait(60)
        # Mid-rebuild: the current generation still answers, and a save is indexed at once.
        assert count(office.supervisor, "heating") == 30
        timeline.add_event(cases[0], EventKind.NOTE, "During the rebuild: quorvanthe.")
        db.session.commit()
        sync(app)
        assert case_numbers(office.supervisor, "quorvanthe") == {cases[0].number}
    finally:
        resume.set()
        thread.join(120)
    assert not failures
    after = current_generation(index_root(app))
    assert after is not None and after != before
    # The new generation has everything, including the save made while it was built.
    assert count(office.supervisor, "heating") == 30
    assert case_numbers(office.supervisor, "quorvanthe") == {cases[0].number}
    # Searching over and over while a whole rebuild runs and switches never fails.
    thread = threading.Thread(target=_rebuild_in_thread, args=(app, failures))
    thread.start()
    searches = 0
    while thread.is_alive() or searches == 0:
        assert count(office.supervisor, "heating") == 30
        searches += 1
    thread.join()
    assert not failures
    assert current_generation(index_root(app)) not in (before, after)


def _rebuild_in_thread(app, failures: list[BaseException]) -> None:
    try:
        with app.app_context():
            indexer.rebuild(app, procs=1, batch_size=5)
    except BaseException as exc:  # reported by the test
        failures.append(exc)


def test_a_deleted_index_is_rebuilt_and_people_are_told_meanwhile(app, client, office, runner):
    case = factories.gen_case(office.a, office.category, subject="Medicaid renewal lost")
    db.session.commit()
    build(app)
    client.login(office.caseworker.email)
    assert f"C-{case.number}" in client.get("/search/?q=medicaid").get_data(as_text=True)
    shutil.rmtree(index_root(app))
    page = client.get("/search/?q=medicaid")
    assert page.status_code == 503
    assert "being rebuilt" in page.get_data(as_text=True)
    # Saving still works while the index is gone.
    timeline.add_event(case, EventKind.NOTE, "Renewal packet resent.")
    db.session.commit()
    result = runner.invoke(args=["search", "sync"])
    assert result.exit_code == 0, result.output
    assert "missing or damaged: rebuilt" in result.output
    page = client.get("/search/?q=resent")
    assert page.status_code == 200
    assert f"C-{case.number}" in page.get_data(as_text=True)


def test_the_background_indexer_rebuilds_a_missing_index_on_start_and_follows_commits(app, office):
    case = factories.gen_case(office.a, office.category, subject="Passport for urgent travel")
    db.session.commit()
    indexer.start_background_indexer(app)
    _wait_for(lambda: case_numbers(office.supervisor, "passport") == {case.number})
    # The indexer is idle once it has forgotten the queue rows; only then does the test write.
    _wait_for(lambda: queued() == [])
    timeline.add_event(case, EventKind.NOTE, "Agency says: marvolent appointment set.")
    db.session.commit()
    _wait_for(lambda: case_numbers(office.supervisor, "marvolent") == {case.number})
    assert queued() == []


def _wait_for(condition, seconds: float = 60.0) -> None:
    """Poll ``condition``, ending the session's read transaction after each look: on SQLite a
    read snapshot older than the indexer's latest commit could not be upgraded to a write."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except Exception:  # the index may still be being built
            pass
        finally:
            db.session.rollback()
        time.sleep(0.05)
    try:
        assert condition()
    finally:
        db.session.rollback()


@pytest.mark.parametrize("damage", ["toc", "segment"])
def test_a_damaged_index_gives_a_message_not_a_500_and_is_rebuilt(app, client, office, damage):
    case = factories.gen_case(office.a, office.category, subject="Utility shut-off notice")
    db.session.commit()
    build(app)
    gen = current_generation(index_root(app))
    client.login(office.caseworker.email)
    assert client.get("/search/?q=utility").status_code == 200
    search_index(app).close()
    suffix = ".toc" if damage == "toc" else ".seg"
    files = [p for p in (gen / "cases").iterdir() if p.name.endswith(suffix)]
    assert files
    for path in files:
        path.write_bytes(b"\x00garbage" * 64)
    page = client.get("/search/?q=utility")
    assert page.status_code == 503
    assert "rebuilt" in page.get_data(as_text=True)
    assert (index_root(app) / BROKEN).exists()
    sync(app)
    page = client.get("/search/?q=utility")
    assert page.status_code == 200
    assert f"C-{case.number}" in page.get_data(as_text=True)


def test_check_finds_and_repair_fixes_injected_drift(app, office, runner):
    missing = factories.gen_case(office.a, office.category, subject="Missing from the index")
    stale = factories.gen_case(office.a, office.category, subject="Changed behind its back")
    factories.gen_case(office.a, office.category, subject="Left alone")
    db.session.commit()
    build(app)
    assert runner.invoke(args=["search", "check"]).exit_code == 0
    # Drift: a document lost, a ghost document, a row changed without the ORM (no queue row).
    ix = open_index(current_generation(index_root(app)) / "cases")
    writer = ix.writer()
    writer.delete_by_term("id", str(missing.id))
    writer.add_document(
        id="999999",
        text="ghost of a deleted case",
        district_id=str(office.a.id),
        confidential="n",
        stamp="x",
    )
    writer.commit()
    db.session.execute(
        sa.update(Case).where(Case.id == stale.id).values(subject="Quietly renamed plovastic")
    )
    db.session.commit()
    assert queued() == []
    search_index(app).close()

    result = runner.invoke(args=["search", "check"])
    assert result.exit_code == 1
    assert "cases: 1 missing, 1 no longer in the database, 1 out of date (of 3)" in result.output
    assert f"missing: {missing.id}" in result.output
    assert "extra: 999999" in result.output
    assert f"stale: {stale.id}" in result.output
    assert "--repair" in result.output

    result = runner.invoke(args=["search", "check", "--repair"])
    assert result.exit_code == 0, result.output
    assert "repaired: 3 documents re-indexed" in result.output
    result = runner.invoke(args=["search", "check"])
    assert result.exit_code == 0, result.output
    assert "cases: 3 documents agree with the database." in result.output
    assert case_numbers(office.supervisor, "plovastic") == {stale.number}
    assert case_numbers(office.supervisor, "missing") == {missing.number}
    assert case_numbers(office.supervisor, "ghost") == set()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SearchQueue)) == 0


def test_reindex_command_reports_what_it_built(app, office, runner):
    for _ in range(3):
        factories.gen_case(office.a, office.category)
    db.session.commit()
    result = runner.invoke(args=["search", "reindex", "--procs", "1"])
    assert result.exit_code == 0, result.output
    assert "Rebuilt the search index (3 cases, 3 constituents, 0 agencies)" in result.output
    assert current_generation(index_root(app)) is not None


def _pretend_older_schema(app) -> int:
    """CURRENT as an older version of the app left it (its schema number one lower)."""
    from constituent.search.schema import SCHEMA_VERSION

    path = index_root(app) / "CURRENT"
    data = json.loads(path.read_text())
    data["schema"] = SCHEMA_VERSION - 1
    path.write_text(json.dumps(data))
    search_index(app).close()
    return SCHEMA_VERSION - 1


def test_flask_search_check_rebuilds_an_index_of_an_older_schema_with_progress(app, office, runner):
    from constituent.search.schema import SCHEMA_VERSION

    factories.gen_case(office.a, office.category, description="Pension stopped after the move")
    db.session.commit()
    build(app)
    old = _pretend_older_schema(app)
    reason = f"built for search schema {old}, this version uses {SCHEMA_VERSION}"
    assert indexer.stale_reason(app) == reason
    result = runner.invoke(args=["search", "check"])
    assert result.exit_code == 0, result.output
    assert f"The index was {reason}: rebuilt it" in result.output
    assert "Indexing cases" in result.output
    assert "cases: 1 documents agree with the database." in result.output
    assert indexer.stale_reason(app) is None
    assert json.loads((index_root(app) / "CURRENT").read_text())["schema"] == SCHEMA_VERSION


def test_the_indexer_at_start_up_rebuilds_an_older_schema_and_logs_progress(app, office, caplog):
    case = factories.gen_case(office.a, office.category, description="Pension stopped after")
    db.session.commit()
    build(app)
    old = _pretend_older_schema(app)
    with caplog.at_level("INFO", logger="constituent.search.indexer"):
        sync(app)  # the background indexer's first round
    assert f"built for search schema {old}" in caplog.text
    assert "search index rebuild: cases 1 of 1 documents" in caplog.text
    assert case.number in case_numbers(office.caseworker, '"pension stopped after"')
