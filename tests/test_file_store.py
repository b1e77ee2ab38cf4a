"""Uploads kept on disk or in the database (CONSTITUENT_UPLOAD_STORAGE, issue 16 item 3):
stored, downloaded byte for byte, gone after a rollback, never kept when refused, and carried
by a backup through a restore, with either setting."""

from __future__ import annotations

import io
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from constituent.config import ConfigurationError, load_settings
from constituent.extensions import db
from constituent.models import Attachment, StoredFileChunk, User
from constituent.services import backup as backup_service
from constituent.services import file_store, uploads
from constituent.services.errors import DomainError
from tests import factories
from tests.case_helpers import png_bytes
from tests.conftest import count
from tests.test_backup import backup_to, download_everything, instance, populate

STORAGES = [file_store.FILESYSTEM, file_store.DATABASE]


@pytest.fixture(params=STORAGES)
def storage(request: pytest.FixtureRequest, app: Flask) -> Iterator[str]:
    """The shared test app with each upload storage in turn."""
    app.config["UPLOAD_STORAGE"] = request.param
    yield request.param
    app.config["UPLOAD_STORAGE"] = file_store.FILESYSTEM


def big_pdf(megabytes: float) -> bytes:
    """A PDF spanning several 1 MiB chunks, its bytes different everywhere."""
    body = b"".join(b"%% line %09d\n" % n for n in range(int(megabytes * 1024 * 1024 / 16)))
    return b"%PDF-1.4\n" + body + b"trailer<<>>\n%%EOF\n"


def stored_anything(app: Flask) -> bool:
    folder = Path(app.config["UPLOAD_DIR"])
    on_disk = folder.exists() and any(p.is_file() for p in folder.rglob("*"))
    return on_disk or count(StoredFileChunk) > 0


def _store(office: factories.Office, data: bytes, name: str = "scan.pdf") -> Attachment:
    case = factories.gen_case(office.a, office.category, opened_by=office.intake)
    return uploads.store_upload(io.BytesIO(data), name, case=case, uploaded_by=office.caseworker)


def test_a_stored_file_downloads_byte_for_byte(app, office, client, storage):
    data = big_pdf(2.5)
    found = _store(office, data)
    db.session.commit()
    assert (found.size, found.content_type) == (len(data), "application/pdf")
    in_database = count(StoredFileChunk)
    assert in_database == (3 if storage == file_store.DATABASE else 0)
    on_disk = uploads.stored_path(found)
    assert (on_disk is not None) == (storage == file_store.FILESYSTEM)
    client.login(office.caseworker.email)
    response = client.get(f"/cases/{found.case_id}/attachments/{found.id}")
    assert response.status_code == 200
    assert response.data == data
    assert response.headers["Content-Length"] == str(len(data))
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.headers["Content-Disposition"] == "attachment; filename=scan.pdf"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in response.headers["Cache-Control"]


def test_a_rollback_leaves_no_file(app, office, storage):
    kept = _store(office, png_bytes(), "kept.png")
    db.session.commit()
    undone = _store(office, big_pdf(1.5), "undone.pdf")
    assert file_store.file_store().exists(undone.storage_key)
    key = undone.storage_key
    db.session.rollback()  # e.g. the save failed after the file was written
    assert not file_store.file_store().exists(key)
    assert file_store.file_store().exists(kept.storage_key)
    assert count(Attachment) == 1
    assert count(StoredFileChunk) == (1 if storage == file_store.DATABASE else 0)


@pytest.mark.parametrize(
    "data", [b"", b"MZ not a scan", b"%PDF-1.4 cut short", b"x" * (uploads.MAX_UPLOAD_BYTES + 1)]
)
def test_refused_content_stores_nothing(app, office, storage, data):
    with pytest.raises(DomainError):
        _store(office, data)
    db.session.commit()
    assert count(Attachment) == 0
    assert not stored_anything(app)


def test_a_missing_file_is_not_found(app, office, client, storage):
    found = _store(office, png_bytes(), "scan.png")
    db.session.commit()
    file_store.file_store().delete(found.storage_key)
    db.session.commit()
    client.login(office.caseworker.email)
    assert client.get(f"/cases/{found.case_id}/attachments/{found.id}").status_code == 404


@pytest.mark.parametrize("dump", ["native", "logical"])
@pytest.mark.parametrize("kept", STORAGES)
def test_backup_wipe_restore_brings_every_file_back(tmp_path, monkeypatch, kept, dump):
    with instance(tmp_path / "office", f"fs_{kept[:2]}") as app:
        if dump == "logical":
            if db.engine.dialect.name != "postgresql":
                pytest.skip("the logical dump is PostgreSQL's fallback when pg_dump is missing")
            monkeypatch.setattr(backup_service, "pg_dump_program", lambda: None)
        app.config["UPLOAD_STORAGE"] = kept
        originals = populate()
        assert (count(StoredFileChunk) > 0) == (kept == file_store.DATABASE)
        archive = tmp_path / "office.tar"
        backup_to(app, archive)
        # Wiped: every file and every row that refers to one.
        db.session.execute(sa.delete(StoredFileChunk))
        db.session.execute(sa.delete(User).where(User.email == "admin@test.example"))
        db.session.commit()
        shutil.rmtree(app.config["UPLOAD_DIR"], ignore_errors=True)
        result = app.test_cli_runner().invoke(args=["restore", str(archive), "--yes"])
        assert result.exit_code == 0, result.output
        db.session.remove()
        assert db.session.scalar(sa.select(User).where(User.email == "admin@test.example"))
        assert download_everything(app) == originals
        # An archive of one storage is refused by an app set to the other: nothing changes.
        app.config["UPLOAD_STORAGE"] = STORAGES[1 - STORAGES.index(kept)]
        result = app.test_cli_runner().invoke(args=["restore", str(archive), "--yes"])
        assert result.exit_code != 0
        assert f"CONSTITUENT_UPLOAD_STORAGE={kept}" in result.output


def test_backup_refuses_a_database_file_that_lost_a_chunk(tmp_path):
    with instance(tmp_path / "office", "fs_lost") as app:
        app.config["UPLOAD_STORAGE"] = file_store.DATABASE
        populate()
        lost = db.session.scalars(sa.select(Attachment.storage_key)).first()
        db.session.execute(sa.delete(StoredFileChunk).where(StoredFileChunk.storage_key == lost))
        db.session.commit()
        target = tmp_path / "office.tar"
        result = app.test_cli_runner().invoke(args=["backup", str(target)])
        assert result.exit_code != 0
        assert lost in result.output and "missing" in result.output
        assert not target.exists()


def test_upload_storage_setting(tmp_path, monkeypatch):
    monkeypatch.setenv("CONSTITUENT_SECRET_KEY", "x" * 40)
    monkeypatch.delenv("CONSTITUENT_UPLOAD_STORAGE", raising=False)
    assert load_settings(tmp_path)["UPLOAD_STORAGE"] == "filesystem"
    monkeypatch.setenv("CONSTITUENT_UPLOAD_STORAGE", "Database")
    assert load_settings(tmp_path)["UPLOAD_STORAGE"] == "database"
    monkeypatch.setenv("CONSTITUENT_UPLOAD_STORAGE", "s3")
    with pytest.raises(ConfigurationError, match="CONSTITUENT_UPLOAD_STORAGE"):
        load_settings(tmp_path)
