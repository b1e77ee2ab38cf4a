"""Privacy releases: request, record received with a checked upload, mark not needed; the file
is stored outside static/ and served only to users who may see the case."""

from __future__ import annotations

import hashlib
import io
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from constituent.extensions import db
from constituent.models import (
    Agency,
    AgencyLevel,
    Attachment,
    Case,
    EventKind,
    PrivacyRelease,
    ReleaseState,
    TimelineEvent,
)
from constituent.services import uploads
from constituent.views.helpers import local_today
from tests.case_helpers import (
    ELF_AS_PDF,
    PE_AS_PDF,
    open_case,
    pdf_bytes,
    png_bytes,
    with_version,
)

STATIC = Path(__file__).resolve().parent.parent / "constituent" / "static"


@pytest.fixture()
def agencies(office) -> tuple[Agency, Agency]:
    ssa = Agency(name="Social Security Administration", acronym="SSA", level=AgencyLevel.FEDERAL)
    va = Agency(name="Department of Veterans Affairs", acronym="VA", level=AgencyLevel.FEDERAL)
    db.session.add_all([ssa, va])
    db.session.commit()
    return ssa, va


def received_form(
    agency_ids, content: bytes, filename: str = "release.pdf", signed_on: str | None = None
) -> dict:
    return {
        "relrec-signed_on": signed_on or local_today().isoformat(),
        "relrec-signature_method": "wet",
        "relrec-agencies": [str(i) for i in agency_ids],
        "relrec-file": (io.BytesIO(content), filename),
    }


def post_received(client, case, data):
    return client.form_post(
        f"/cases/{case.id}/release/received",
        data,
        token_from=f"/cases/{case.id}",
        content_type="multipart/form-data",
    )


def stored_files(app) -> list[Path]:
    root = Path(app.config["UPLOAD_DIR"])
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_request_a_release(client, office):
    case = open_case(office, release_needed=True)
    client.login(office.caseworker.email)
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "Needed" in page
    r = client.form_post(
        f"/cases/{case.id}/release/request",
        {"relreq-requested_on": local_today().isoformat(), "relreq-method": "e_signature"},
        token_from=f"/cases/{case.id}",
    )
    assert r.status_code == 302
    saved = db.session.get(Case, case.id)
    assert saved.release_state == ReleaseState.REQUESTED
    assert saved.releases[0].request_method.value == "e_signature"
    event = db.session.scalars(
        sa.select(TimelineEvent).where(TimelineEvent.kind == EventKind.RELEASE)
    ).one()
    assert "requested" in event.body and event.author_id == office.caseworker.id


def test_record_a_signed_release_with_its_scan_and_download_it(client, office, agencies, app):
    ssa, va = agencies
    case = open_case(office, release_needed=True)
    client.login(office.caseworker.email)
    client.form_post(
        f"/cases/{case.id}/release/request",
        {
            "relreq-requested_on": (local_today() - timedelta(days=3)).isoformat(),
            "relreq-method": "mailed_form",
        },
        token_from=f"/cases/{case.id}",
    )
    content = png_bytes()
    r = post_received(client, case, received_form([ssa.id], content, "scan.png"))
    assert r.status_code == 302, r.get_data(as_text=True)
    saved = db.session.get(Case, case.id)
    assert saved.release_state == ReleaseState.RECEIVED
    assert len(saved.releases) == 1  # the awaited release was completed, not a second one
    release = saved.releases[0]
    assert [a.acronym for a in release.agencies] == ["SSA"]
    attachment = release.attachment
    assert attachment.content_type == "image/png"
    assert attachment.sha256 == hashlib.sha256(content).hexdigest()
    assert attachment.size == len(content)
    files = stored_files(app)
    assert len(files) == 1 and files[0].read_bytes() == content
    assert STATIC not in files[0].parents
    assert attachment.storage_key in files[0].name and "scan" not in files[0].name

    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "Received" in page and "Covers: Social Security Administration (SSA)" in page
    link = f"/cases/{case.id}/attachments/{attachment.id}"
    assert link in page
    download = client.get(link)
    assert download.status_code == 200
    assert download.data == content
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert download.mimetype == "image/png"
    # The attachment id on another case's address is not served.
    other = open_case(office)
    assert client.get(f"/cases/{other.id}/attachments/{attachment.id}").status_code == 404


def test_a_pdf_is_accepted(client, office, agencies):
    case = open_case(office)
    client.login(office.caseworker.email)
    r = post_received(client, case, received_form([a.id for a in agencies], pdf_bytes()))
    assert r.status_code == 302
    release = db.session.scalars(sa.select(PrivacyRelease)).one()
    assert release.attachment.content_type == "application/pdf"
    assert {a.acronym for a in release.agencies} == {"SSA", "VA"}


@pytest.mark.parametrize(
    "content, name",
    [
        (ELF_AS_PDF, "release.pdf"),
        (PE_AS_PDF, "release.pdf"),
        (b"%PDF-1.4 but never finished", "release.pdf"),
        (b"<html><script>alert(1)</script></html>", "release.png"),
        (b"GIF89a" + b"\x00" * 50, "release.jpg"),
    ],
)
def test_files_that_are_not_pdf_png_or_jpeg_are_refused_by_content(
    client, office, agencies, app, content, name
):
    case = open_case(office)
    client.login(office.caseworker.email)
    r = post_received(client, case, received_form([agencies[0].id], content, name))
    assert r.status_code == 422
    page = r.get_data(as_text=True)
    assert 'id="relrec-file-error"' in page
    assert "Only PDF, PNG or JPEG files are accepted" in page
    assert count(Attachment) == 0 and count(PrivacyRelease) == 0
    assert stored_files(app) == []
    assert db.session.get(Case, case.id).release_state == ReleaseState.NOT_NEEDED


def test_a_file_over_10_mb_is_refused_with_the_limit_named(client, office, agencies, app):
    case = open_case(office)
    client.login(office.caseworker.email)
    big = pdf_bytes()[:-6] + b" " * (10 * 1024 * 1024) + b"%%EOF\n"
    r = post_received(client, case, received_form([agencies[0].id], big))
    assert r.status_code in (413, 422)
    assert "10 MB" in r.get_data(as_text=True)
    assert count(Attachment) == 0 and stored_files(app) == []


def test_a_request_over_the_server_limit_names_the_file_limit(client, office, agencies, app):
    case = open_case(office)
    client.login(office.caseworker.email)
    huge = b"%PDF-" + b"0" * (app.config["MAX_CONTENT_LENGTH"] + 10)
    r = post_received(client, case, received_form([agencies[0].id], huge))
    assert r.status_code == 413
    assert "10 MB" in r.get_data(as_text=True)
    assert count(Attachment) == 0


def test_signed_date_in_the_future_is_refused_and_nothing_stored(client, office, agencies, app):
    case = open_case(office)
    client.login(office.caseworker.email)
    tomorrow = (local_today() + timedelta(days=2)).isoformat()
    r = post_received(
        client, case, received_form([agencies[0].id], png_bytes(), signed_on=tomorrow)
    )
    assert r.status_code == 422
    page = r.get_data(as_text=True)
    assert 'id="relrec-signed_on-error"' in page
    assert "cannot be in the future" in page
    assert count(Attachment) == 0 and count(PrivacyRelease) == 0 and stored_files(app) == []


def test_no_agency_and_no_file_are_refused(client, office, agencies):
    case = open_case(office)
    client.login(office.caseworker.email)
    data = received_form([], png_bytes())
    r = post_received(client, case, data)
    assert r.status_code == 422
    assert "Choose at least one agency" in r.get_data(as_text=True)
    data = received_form([agencies[0].id], b"")
    data["relrec-file"] = (io.BytesIO(b""), "")
    r = post_received(client, case, data)
    assert r.status_code == 422
    assert "Attach the signed form" in r.get_data(as_text=True)
    assert count(PrivacyRelease) == 0


def test_mark_a_release_not_needed(client, office):
    case = open_case(office, release_needed=True)
    client.login(office.caseworker.email)
    r = client.form_post(
        f"/cases/{case.id}/release/not-needed",
        {"relnn-note": "Only needs state agency information."},
        token_from=f"/cases/{case.id}",
    )
    assert r.status_code == 302
    assert db.session.get(Case, case.id).release_state == ReleaseState.NOT_NEEDED
    event = db.session.scalars(
        sa.select(TimelineEvent).where(TimelineEvent.kind == EventKind.RELEASE)
    ).one()
    assert "not needed" in event.body


def test_not_needed_is_refused_once_a_signed_release_is_on_file(client, office, agencies):
    case = open_case(office, release_needed=True)
    client.login(office.caseworker.email)
    post_received(client, case, received_form([agencies[0].id], png_bytes()))
    # A scripted post with the current version: the rule itself still refuses.
    r = client.form_post(
        f"/cases/{case.id}/release/not-needed",
        with_version(case.id, "relnn", {}),
        token_from=f"/cases/{case.id}",
    )
    assert r.status_code == 422
    assert db.session.get(Case, case.id).release_state == ReleaseState.RECEIVED


@pytest.mark.parametrize(
    "content, kind",
    [
        (pdf_bytes(), uploads.PDF),
        (png_bytes(), uploads.PNG),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 20 + b"\xff\xd9", uploads.JPEG),
        (ELF_AS_PDF, None),
        (PE_AS_PDF, None),
        (b"", None),
        (b"\xff\xd8\xff", None),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 30, None),
    ],
)
def test_sniff_judges_by_structure(content, kind):
    assert uploads.sniff(content) == kind


def test_a_stored_file_is_deleted_when_its_transaction_rolls_back(app, office):
    case = open_case(office)
    kept = uploads.store_upload(
        io.BytesIO(png_bytes()), "kept.png", case=case, uploaded_by=office.caseworker
    )
    db.session.commit()
    undone = uploads.store_upload(
        io.BytesIO(png_bytes()), "undone.png", case=case, uploaded_by=office.caseworker
    )
    undone_path = uploads._path_for(undone.storage_key)
    assert undone_path.is_file()
    db.session.rollback()  # e.g. the save failed after the file was written
    assert not undone_path.is_file()
    assert uploads.stored_path(kept).is_file()
    assert count(Attachment) == 1
