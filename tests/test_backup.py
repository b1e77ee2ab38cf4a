"""flask backup / flask restore: one archive with the database and every stored file.

A busy office is backed up while a staffer keeps attaching files; the archive is restored into
an empty instance in another folder, and every attachment, signed release and mail attachment
is downloaded there through the web, byte for byte. Archives that lack a file, or whose files
were changed, are refused before anything is replaced.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import sqlite3
import tarfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_migrate import upgrade

from constituent import create_app
from constituent.config import TestConfig
from constituent.extensions import db
from constituent.models import (
    Attachment,
    AuditEvent,
    Case,
    PrivacyRelease,
    SignatureMethod,
    User,
)
from constituent.models.mail import InboundAttachment
from constituent.services import backup as backup_service
from constituent.services import mail as mail_service
from constituent.services import releases, tags, uploads
from constituent.services.clock import office_today
from tests import factories
from tests.conftest import Client
from tests.dbutil import fresh_database
from tests.referral_helpers import gen_agency
from tests.test_mail import eml


@contextmanager
def instance(folder: Path, label: str) -> Iterator[Flask]:
    """An app with its own database, uploads folder and search index, migrated to the head."""
    folder.mkdir(parents=True, exist_ok=True)
    with fresh_database(folder, label) as url:
        app = create_app(
            {
                **{k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()},
                "SQLALCHEMY_DATABASE_URI": url,
                "SECRET_KEY": "x" * 40,
                "UPLOAD_DIR": str(folder / "uploads"),
                "SEARCH_INDEX_DIR": str(folder / "search-index"),
            }
        )
        app.test_client_class = Client
        with app.app_context():
            upgrade()
            yield app
            db.session.remove()
            db.engine.dispose()


@pytest.fixture()
def source(tmp_path: Path) -> Iterator[Flask]:
    with instance(tmp_path / "office-a", "bak_a") as app:
        yield app


def pdf(label: str) -> bytes:
    """A small PDF whose bytes differ for every label."""
    return b"%PDF-1.4\n% " + label.encode() + b"\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def png(label: str) -> bytes:
    return (
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02"
        b"\x00\x00\x00\x90wS\xde" + label.encode() + b"\x00\x00\x00\x00IEND\xaeB`\x82"
    )


def populate() -> dict[int, bytes]:
    """An office with case attachments, signed releases and mail attachments: id -> bytes."""
    office = factories.make_office()
    ssa = gen_agency()
    stored: dict[int, bytes] = {}
    for n in range(3):
        case = factories.gen_case(office.a, office.category, opened_by=office.intake)
        data = png(f"scan {n}")
        found = uploads.store_upload(
            io.BytesIO(data), f"scan-{n}.png", case=case, uploaded_by=office.caseworker
        )
        stored[found.id] = data
        data = pdf(f"release {n}")
        release = releases.record_received(
            case,
            signed_on=office_today() - timedelta(days=1),
            signature_method=SignatureMethod.WET,
            agencies=[ssa],
            file=io.BytesIO(data),
            filename="release.pdf",
            by=office.caseworker,
        )
        db.session.flush()
        assert release.attachment_id is not None
        stored[release.attachment_id] = data
        data = pdf(f"agency letter {n}")
        raw = eml(
            f"Re: {tags.case_tag(case.number)} your inquiry",
            attachments=[(data, f"letter-{n}.pdf", "application/pdf")],
        )
        report = mail_service.import_message(raw, f"message {n}", user=None)
        assert report.outcome.value == "filed", report.detail
        db.session.flush()
        item = db.session.scalars(
            sa.select(InboundAttachment).order_by(InboundAttachment.id.desc())
        ).first()
        assert item is not None and item.attachment_id is not None
        stored[item.attachment_id] = data
    db.session.commit()
    return stored


class Writer(threading.Thread):
    """A staffer attaching files to a case, one commit each, until told to stop."""

    def __init__(self, app: Flask, case_id: int, user_id: int) -> None:
        super().__init__(daemon=True)
        self.app, self.case_id, self.user_id = app, case_id, user_id
        self.saved: dict[int, bytes] = {}
        self.errors: list[BaseException] = []
        self.stop = threading.Event()
        self.progress = threading.Condition()

    def run(self) -> None:
        n = 0
        while not self.stop.is_set():
            n += 1
            data = pdf(f"written meanwhile {n}")
            try:
                with self.app.app_context():
                    case = db.session.get(Case, self.case_id)
                    user = db.session.get(User, self.user_id)
                    found = uploads.store_upload(
                        io.BytesIO(data), f"meanwhile-{n}.pdf", case=case, uploaded_by=user
                    )
                    db.session.commit()
                    self.saved[found.id] = data
                    db.session.remove()
            except BaseException as exc:  # noqa: BLE001 - reported by the test
                self.errors.append(exc)
                return
            with self.progress:
                self.progress.notify_all()

    def wait_for(self, count: int) -> None:
        with self.progress:
            assert self.progress.wait_for(
                lambda: len(self.saved) >= count or self.errors, timeout=60
            )
        assert not self.errors, self.errors


def download_everything(app: Flask) -> dict[int, bytes]:
    """Every stored file of the instance, downloaded by a supervisor as the web serves it."""
    client = app.test_client()
    supervisor = db.session.scalar(sa.select(User).where(User.email == "supervisor@test.example"))
    assert client.login(supervisor.email).status_code == 302
    mail_items = {
        item.attachment_id: item for item in db.session.scalars(sa.select(InboundAttachment))
    }
    got: dict[int, bytes] = {}
    for found in db.session.scalars(sa.select(Attachment)):
        if found.id in mail_items:
            item = mail_items[found.id]
            url = f"/mail/{item.message_id}/attachments/{item.id}"
        else:
            url = f"/cases/{found.case_id}/attachments/{found.id}"
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        got[found.id] = response.get_data()
    return got


def backup_to(app: Flask, target: Path) -> None:
    result = app.test_cli_runner().invoke(args=["backup", str(target)])
    assert result.exit_code == 0, result.output
    assert "stored files" in result.output


@pytest.mark.parametrize("dump", ["native", "logical"])
def test_a_busy_office_restores_on_a_new_machine_with_every_file(
    source, tmp_path, monkeypatch, dump
):
    if dump == "logical":
        if db.engine.dialect.name != "postgresql":
            pytest.skip("the logical dump is PostgreSQL's fallback when pg_dump is missing")
        monkeypatch.setattr(backup_service, "pg_dump_program", lambda: None)
    elif db.engine.dialect.name == "postgresql" and backup_service.pg_dump_program() is None:
        pytest.skip("pg_dump is not installed")
    originals = populate()
    case = db.session.scalars(sa.select(Case)).first()
    caseworker = db.session.scalar(sa.select(User).where(User.email == "caseworker@test.example"))
    writer = Writer(source, case.id, caseworker.id)
    writer.start()
    try:
        writer.wait_for(3)  # saving before the backup starts,
        target = tmp_path / "office.tar"
        backup_to(source, target)
        writer.wait_for(len(writer.saved) + 3)  # and still saving after it.
    finally:
        writer.stop.set()
        writer.join(timeout=60)
    assert not writer.errors, writer.errors
    originals.update(writer.saved)

    # The archive: the database, each stored file, and a manifest of their checksums.
    with tarfile.open(target) as tar:
        names = set(tar.getnames())
        manifest = json.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]
    assert manifest["database"]["member"] in names
    if dump == "logical":
        assert manifest["database"]["member"] == "database.jsonl.gz"
    assert {entry["path"] for entry in manifest["files"]} <= names
    assert len(manifest["files"]) >= 9 + 3
    assert target.stat().st_mode & 0o077 == 0  # not readable by other accounts

    with instance(tmp_path / "new-machine", "bak_b") as target_app:
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Attachment)) == 0
        result = target_app.test_cli_runner().invoke(args=["restore", str(target), "--yes"])
        assert result.exit_code == 0, result.output
        assert "Restored from" in result.output
        db.session.remove()
        restored = download_everything(target_app)
        releases_restored = db.session.scalar(
            sa.select(sa.func.count()).select_from(PrivacyRelease)
        )
        restored_audit = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent))
        # The restored office keeps working: new rows get new ids.
        case = db.session.scalars(sa.select(Case)).first()
        uploads.store_upload(io.BytesIO(pdf("after")), "after.pdf", case=case, uploaded_by=None)
        factories.gen_case(case.district, case.category, opened_by=None)
        db.session.commit()
    # Every file made before the backup began is there; whatever the writer saved during it is
    # there exactly when its row is; nothing differs by a byte.
    assert len(restored) == len(manifest["files"])
    for attachment_id, data in restored.items():
        assert data == originals[attachment_id], attachment_id
    before = set(originals) - set(writer.saved)
    assert before <= set(restored)
    assert set(restored) & set(writer.saved)
    assert releases_restored == 3
    assert restored_audit > 0


def _rewrite(archive: Path, out: Path, change) -> None:  # type: ignore[no-untyped-def]
    """Copy an archive member by member, letting ``change(name, data)`` alter or drop one."""
    with tarfile.open(archive) as src, tarfile.open(out, "w") as dst:
        for member in src.getmembers():
            data = src.extractfile(member).read()  # type: ignore[union-attr]
            data = change(member.name, data)
            if data is None:
                continue
            info = tarfile.TarInfo(member.name)
            info.size = len(data)
            dst.addfile(info, io.BytesIO(data))


def _attachment_member(archive: Path) -> str:
    with tarfile.open(archive) as tar:
        return next(n for n in tar.getnames() if n.startswith("uploads/"))


def _state(app: Flask) -> tuple[list[str], list[str]]:
    db.session.remove()
    emails = sorted(db.session.scalars(sa.select(User.email)))
    files = sorted(str(p) for p in Path(app.config["UPLOAD_DIR"]).rglob("*") if p.is_file())
    return emails, files


def _no_manifest_entry(member: str):  # type: ignore[no-untyped-def]
    def change(name: str, data: bytes) -> bytes | None:
        if name == member:
            return None
        if name == "manifest.json":
            manifest = json.loads(data)
            manifest["files"] = [e for e in manifest["files"] if e["path"] != member]
            return json.dumps(manifest).encode()
        return data

    return change


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("tampered", "does not match its checksum"),
        ("missing", "is missing"),
        ("missing with its manifest entry", "the backed-up database refers to"),
        ("tampered with its manifest entry", "does not match the checksum the database records"),
    ],
)
def test_an_archive_missing_or_changing_a_file_is_refused_and_nothing_changes(
    source, tmp_path, damage, message
):
    populate()
    archive = tmp_path / "office.tar"
    backup_to(source, archive)
    member = _attachment_member(archive)
    bad = tmp_path / "bad.tar"
    if damage == "tampered":
        _rewrite(archive, bad, lambda n, d: d + b"x" if n == member else d)
    elif damage == "missing":
        _rewrite(archive, bad, lambda n, d: None if n == member else d)
    elif damage == "missing with its manifest entry":
        _rewrite(archive, bad, _no_manifest_entry(member))
    else:
        # The archive's bytes agree with its manifest, but not with the database.
        with tarfile.open(archive) as tar:
            changed = tar.extractfile(member).read() + b"x"  # type: ignore[union-attr]

        def change(name: str, data: bytes) -> bytes:
            if name == member:
                return changed
            if name == "manifest.json":
                manifest = json.loads(data)
                for entry in manifest["files"]:
                    if entry["path"] == member:
                        entry["sha256"] = hashlib.sha256(changed).hexdigest()
                return json.dumps(manifest).encode()
            return data

        _rewrite(archive, bad, change)
    # A new machine, and the office itself: neither changes.
    with instance(tmp_path / "new-machine", "bak_c") as target_app:
        before = _state(target_app)
        result = target_app.test_cli_runner().invoke(args=["restore", str(bad), "--yes"])
        assert result.exit_code != 0
        assert message in result.output and member in result.output
        assert "Not restored" in result.output
        assert _state(target_app) == before
    before = _state(source)
    result = source.test_cli_runner().invoke(args=["restore", str(bad), "--yes"])
    assert result.exit_code != 0 and message in result.output
    assert _state(source) == before


def test_restore_replaces_the_database_and_puts_back_lost_files(source, tmp_path):
    originals = populate()
    before = sorted(db.session.scalars(sa.select(User.email)))
    archive = tmp_path / "office.tar"
    backup_to(source, archive)
    db.session.execute(sa.delete(User).where(User.email == "admin@test.example"))
    db.session.commit()
    shutil.rmtree(source.config["UPLOAD_DIR"])  # the disk with the uploads died
    result = source.test_cli_runner().invoke(args=["restore", str(archive), "--yes"])
    assert result.exit_code == 0, result.output
    db.session.remove()
    assert sorted(db.session.scalars(sa.select(User.email))) == before
    assert download_everything(source) == originals


def test_backup_refuses_when_a_stored_file_is_already_missing(source, tmp_path):
    populate()
    lost = db.session.scalars(sa.select(Attachment)).first()
    (Path(source.config["UPLOAD_DIR"]) / lost.storage_key[:2] / lost.storage_key).unlink()
    target = tmp_path / "office.tar"
    result = source.test_cli_runner().invoke(args=["backup", str(target)])
    assert result.exit_code != 0
    assert lost.storage_key in result.output and "missing" in result.output
    assert not target.exists()
    assert not list(tmp_path.glob(".constituent-backup-*"))


def test_restore_refuses_a_file_that_is_not_a_backup(source, tmp_path):
    factories.make_office()
    before = _state(source)
    for name, data in (
        ("garbage.tar", b"this is not a database backup" * 100),
        ("raw.db", Path(source.config["SQLALCHEMY_DATABASE_URI"][10:]).read_bytes())
        if db.engine.dialect.name == "sqlite"
        else ("empty.tar", b""),
    ):
        bad = tmp_path / name
        bad.write_bytes(data)
        result = source.test_cli_runner().invoke(args=["restore", str(bad), "--yes"])
        assert result.exit_code != 0
        assert "not a readable backup" in result.output
        assert _state(source) == before


def test_restore_refuses_a_backup_from_another_migration(source, tmp_path):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("revision check exercised on SQLite; PostgreSQL reads it the same way")
    factories.make_office()
    archive = tmp_path / "office.tar"
    backup_to(source, archive)
    work = tmp_path / "old"
    with tarfile.open(archive) as tar:
        tar.extractall(work, filter="data")
    conn = sqlite3.connect(work / "database.sqlite3")
    with conn:
        conn.execute("UPDATE alembic_version SET version_num = 'deadbeef0000'")
    conn.close()
    digest = hashlib.sha256((work / "database.sqlite3").read_bytes()).hexdigest()
    manifest = json.loads((work / "manifest.json").read_text())
    manifest["database"]["sha256"] = digest
    old = tmp_path / "old.tar"
    with tarfile.open(old, "w") as tar:
        tar.add(work / "database.sqlite3", arcname="database.sqlite3")
        data = json.dumps(manifest).encode()
        info = tarfile.TarInfo("manifest.json")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    result = source.test_cli_runner().invoke(args=["restore", str(old), "--yes"])
    assert result.exit_code != 0 and "deadbeef0000" in result.output
