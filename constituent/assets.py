"""Static files: URLs that carry a hash of the file's content, cached by browsers for a year,
and compressed (brotli or gzip, once per file) by Flask-Compress.

`url_for('static', filename=...)` adds `?v=<first 8 hex digits of the file's SHA-256>`, so a
changed file gets a new URL and a browser may keep the old one forever. A request whose `v`
is the file's current hash is answered `Cache-Control: public, max-age=31536000, immutable`;
any other (no `v`, an old one, or a font that the USWDS stylesheet names by a relative URL)
is answered `no-cache`, so the browser asks again and gets a 304 while the ETag still matches.
"""

from __future__ import annotations

import hashlib
import os
from functools import lru_cache
from typing import Any

from flask import Flask, abort, current_app, request, send_file
from flask.sessions import SecureCookieSessionInterface, SessionMixin
from flask.wrappers import Response as FlaskResponse
from flask_compress import Compress, DictCache
from werkzeug.security import safe_join
from werkzeug.wrappers import Response

HASHED_MAX_AGE = 365 * 24 * 60 * 60
URL_HASH_LENGTH = 8


def init_app(app: Flask) -> None:
    """Hash static URLs and serve static files compressed, with long-lived caching when hashed."""
    # Only static files are compressed: the view is wrapped below and nothing else is
    # registered. HTML is left alone because of BREACH: every page carries a CSRF token and
    # confidential casework beside text the requester chose (a search, a filter), and the
    # pages are small next to the 527 KB stylesheet (the demo supervisor's My work: 27 KB).
    app.config.setdefault("COMPRESS_REGISTER", False)
    app.config.setdefault("COMPRESS_ALGORITHM", ["br", "gzip"])
    # Compressed once per file and process (the cache below), so a strong level is cheap:
    # brotli 9 takes the USWDS stylesheet from 527 KB to 46 KB in about 50 ms.
    app.config.setdefault("COMPRESS_BR_LEVEL", 9)
    app.config.setdefault("COMPRESS_LEVEL", 9)
    app.config.setdefault("COMPRESS_STREAMS", False)
    app.config.setdefault("COMPRESS_CACHE_BACKEND", DictCache)
    app.config.setdefault("COMPRESS_CACHE_KEY", _compressed_cache_key)
    compress = Compress(app)
    app.url_defaults(_add_content_hash)
    app.view_functions["static"] = compress.compressed()(serve_static)
    app.session_interface = StaticFilesOutsideTheSession()


class StaticFilesOutsideTheSession(SecureCookieSessionInterface):
    """Flask's cookie session, not saved on a static file's response.

    Flask-Login's after-request hook reads the session on every request, which makes Flask add
    `Vary: Cookie`; a static file does not depend on who asks, and with that header Chromium
    asked again for every file fetched before signing in (the cookie had changed since).
    """

    def save_session(self, app: Flask, session: SessionMixin, response: FlaskResponse) -> None:
        """Save as Flask does, except for the static endpoint (which never changes the session)."""
        if request.endpoint != "static":
            super().save_session(app, session, response)


def serve_static(filename: str) -> Response:
    """A file of the static folder, whole (so Flask-Compress can compress and cache it), with
    the ETag of its content and a year's caching when the URL names its current hash."""
    path = _static_path(filename)
    if path is None:
        abort(404)
    digest = content_digest(path)
    hashed = request.args.get("v") == digest[:URL_HASH_LENGTH]
    response = send_file(
        path,
        etag=digest[:16],
        max_age=HASHED_MAX_AGE if hashed else None,
        conditional=False,
    )
    if hashed:
        response.cache_control.immutable = True
    # A file response is an iterator that Flask-Compress would not touch: read it into memory
    # (the largest static file is the 527 KB stylesheet). No ranges are offered, so a 206
    # never reaches the compressor.
    response.direct_passthrough = False
    response.make_sequence()
    return response.make_conditional(request)


def content_digest(path: str) -> str:
    """The SHA-256 of a file's content, in hex; read again only when its size or time changes."""
    status = os.stat(path)
    return _digest(path, status.st_mtime_ns, status.st_size)


@lru_cache(maxsize=1024)
def _digest(path: str, mtime_ns: int, size: int) -> str:
    with open(path, "rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()


def _static_path(filename: str) -> str | None:
    folder = current_app.static_folder
    path = safe_join(folder, filename) if folder else None
    return path if path is not None and os.path.isfile(path) else None


def _add_content_hash(endpoint: str, values: dict[str, Any]) -> None:
    """url_for('static', filename=...) gains ?v=<hash>, so a changed file gets a new URL."""
    if endpoint != "static" or "v" in values or "filename" not in values:
        return
    path = _static_path(values["filename"])
    if path is not None:
        values["v"] = content_digest(path)[:URL_HASH_LENGTH]


def _compressed_cache_key(req: Any) -> str:
    """Flask-Compress keeps one compressed copy per file content (it prefixes the algorithm)."""
    path = _static_path(req.view_args["filename"])
    return f"{req.path}@{content_digest(path) if path else ''}"
