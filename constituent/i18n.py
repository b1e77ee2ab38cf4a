"""The language of a page: the public pages (/help) speak English or Spanish, as the resident
chose by a link (remembered in the session) or their browser asks; staff pages stay English."""

from __future__ import annotations

from flask import has_request_context, request, session

LANGUAGES = ("en", "es")
DEFAULT = "en"
PUBLIC_BLUEPRINT = "public"
SESSION_KEY = "lang"


def asked_language() -> str | None:
    """The language a ``?lang=`` link asks for, if it is one the public pages speak."""
    asked = request.args.get("lang", "")
    return asked if asked in LANGUAGES else None


def select_locale() -> str:
    """Flask-Babel's locale selector: English everywhere but on the public pages."""
    if not has_request_context() or request.blueprint != PUBLIC_BLUEPRINT:
        return DEFAULT
    chosen = asked_language() or session.get(SESSION_KEY)
    if chosen in LANGUAGES:
        return str(chosen)
    return request.accept_languages.best_match(LANGUAGES) or DEFAULT
