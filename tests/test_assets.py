"""Static files: compressed when the browser accepts it, hashed URLs cached for a year."""

from __future__ import annotations

import gzip
from pathlib import Path

import brotli
import pytest
from flask import url_for
from werkzeug.exceptions import NotFound

from constituent.assets import HASHED_MAX_AGE, serve_static

STYLESHEET = "vendor/uswds/css/uswds.min.css"


def _file(app, filename: str) -> bytes:
    return (Path(app.static_folder) / filename).read_bytes()


def _hashed_url(app, filename: str = STYLESHEET) -> str:
    with app.test_request_context():
        return url_for("static", filename=filename)


def test_static_urls_carry_the_hash_of_the_content(app):
    url = _hashed_url(app)
    assert url.startswith(f"/static/{STYLESHEET}?v=")
    assert len(url.rsplit("=", 1)[1]) == 8


def test_gzip_when_the_browser_accepts_it(app):
    response = app.test_client().get(_hashed_url(app), headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert response.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in response.headers["Vary"]
    assert response.headers["ETag"].endswith(':gzip"')
    body = response.get_data()
    assert int(response.headers["Content-Length"]) == len(body)
    assert gzip.decompress(body) == _file(app, STYLESHEET)
    assert len(body) < len(_file(app, STYLESHEET)) / 5


def test_brotli_preferred_when_the_browser_accepts_both(app):
    response = app.test_client().get(
        _hashed_url(app), headers={"Accept-Encoding": "gzip, deflate, br, zstd"}
    )
    assert response.headers["Content-Encoding"] == "br"
    assert brotli.decompress(response.get_data()) == _file(app, STYLESHEET)


def test_identity_without_accept_encoding(app):
    response = app.test_client().get(_hashed_url(app))
    assert "Content-Encoding" not in response.headers
    assert "Accept-Encoding" in response.headers["Vary"]
    assert response.headers["ETag"]
    assert response.get_data() == _file(app, STYLESHEET)
    assert int(response.headers["Content-Length"]) == len(_file(app, STYLESHEET))


def test_an_already_compressed_font_is_sent_as_it_is(app):
    font = "vendor/uswds/fonts/source-sans-pro/sourcesanspro-regular-webfont.woff2"
    response = app.test_client().get(f"/static/{font}", headers={"Accept-Encoding": "gzip, br"})
    assert response.status_code == 200
    assert "Content-Encoding" not in response.headers
    assert response.get_data() == _file(app, font)


def test_a_hashed_url_is_cached_for_a_year(app):
    response = app.test_client().get(_hashed_url(app), headers={"Accept-Encoding": "gzip"})
    cache = response.cache_control
    assert cache.public and cache.immutable and cache.max_age == HASHED_MAX_AGE
    assert "public" in response.headers["Cache-Control"]
    assert "max-age=31536000" in response.headers["Cache-Control"]
    assert "immutable" in response.headers["Cache-Control"]


@pytest.mark.parametrize("query", ["", "?v=00000000"], ids=["unhashed", "stale hash"])
def test_no_long_cache_without_the_current_hash(app, query):
    response = app.test_client().get(f"/static/{STYLESHEET}{query}")
    assert response.status_code == 200
    assert response.cache_control.max_age is None
    assert not response.cache_control.immutable
    assert response.cache_control.no_cache


def test_a_known_etag_answers_304_for_each_encoding(app):
    client = app.test_client()
    for encoding in ("gzip", "br", "identity"):
        first = client.get(_hashed_url(app), headers={"Accept-Encoding": encoding})
        again = client.get(
            _hashed_url(app),
            headers={"Accept-Encoding": encoding, "If-None-Match": first.headers["ETag"]},
        )
        assert again.status_code == 304, encoding
        assert again.get_data() == b""


def test_the_hash_changes_when_the_content_changes(app, tmp_path, monkeypatch):
    monkeypatch.setattr(app, "static_folder", str(tmp_path))
    sheet = tmp_path / "site.css"
    sheet.write_text("body { color: black; }\n" * 40)
    before = _hashed_url(app, "site.css")
    assert _hashed_url(app, "site.css") == before
    sheet.write_text("body { color: navy; }\n" * 40)
    after = _hashed_url(app, "site.css")
    assert after != before
    client = app.test_client()
    fresh = client.get(after, headers={"Accept-Encoding": "gzip"})
    assert gzip.decompress(fresh.get_data()) == sheet.read_bytes()
    assert fresh.cache_control.immutable
    assert not client.get(before).cache_control.immutable


def test_missing_or_outside_files_are_not_found(app):
    assert app.test_client().get("/static/missing.css").status_code == 404
    with app.test_request_context("/static/x"), pytest.raises(NotFound):
        serve_static("../config.py")


def test_pages_are_not_compressed(app):
    # BREACH: pages carry a CSRF token beside text the requester chose (constituent/assets.py).
    response = app.test_client().get("/login", headers={"Accept-Encoding": "gzip, br"})
    assert response.status_code == 200
    assert "Content-Encoding" not in response.headers
    assert response.headers["Cache-Control"] == "no-store"


def test_static_files_do_not_vary_on_the_cookie(app):
    # With Vary: Cookie, Chromium asked again for every file fetched before signing in.
    client = app.test_client()
    client.get("/login")  # the session cookie now exists
    response = client.get(_hashed_url(app), headers={"Accept-Encoding": "gzip"})
    assert "Cookie" not in response.headers["Vary"]
    assert "Set-Cookie" not in response.headers
    assert "Cookie" in client.get("/login").headers["Vary"]
