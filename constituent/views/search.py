"""Full-text search results: cases (permitted only), constituents and agencies."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from constituent.forms.search import SearchForm
from constituent.search import backends, indexer
from constituent.search import query as search_query
from constituent.search.searching import FACETS, SORTS
from constituent.search.store import SearchUnavailable
from constituent.services import permissions
from constituent.services.errors import DomainError, NotFound
from constituent.services.permissions import Capability
from constituent.views.boundary import audit_read, current_staff
from constituent.views.helpers import capability_required

bp = Blueprint("search", __name__, url_prefix="/search")


def _args(**changes: Any) -> dict[str, Any]:
    """The current search's query-string arguments with some changed (None drops one)."""
    keep = ("q", "sort", "opened_from", "opened_to", "closed_from", "closed_to")
    args = {k: request.args[k] for k in keep if request.args.get(k)}
    for key, value in changes.items():
        if value is None:
            args.pop(key, None)
        else:
            args[key] = value
    return args


def _grouped(text: str) -> str:
    """The search in brackets when it is an OR, so that a filter added to it narrows every
    alternative ("a OR b" + district:X is "a OR (b district:X)" otherwise)."""
    try:
        tree = search_query.parse(text).tree
    except DomainError:
        return text
    return f"({text.strip()})" if isinstance(tree, search_query.Or) else text


def _with_token(text: str, token: str) -> str:
    """The search narrowed by a facet's filter: its link leads to the cases it counted."""
    return f"{_grouped(text).strip()} {token}".strip()


def _without_token(text: str, token: str) -> str:
    words = [w for w in text.split() if w.lower() != token.lower()]
    return " ".join(words)


def _case_redirect(text: str) -> tuple[Any, str | None]:
    """A redirect to the case when the search is a bare case number the user may open."""
    prefix = current_app.config["CASE_PREFIX"]
    number = search_query.case_number(text, prefix)
    if number is None:
        return None, None
    try:
        case = permissions.get_case_by_number(current_staff(), number)
    except NotFound:
        return None, f"No case {prefix}{number} is available to you; showing other matches."
    return redirect(url_for("cases.case_detail", case_id=case.id)), None


@bp.get("/")
@capability_required(Capability.READ_CASES)
def results() -> ResponseReturnValue:
    """The results page: a case number opens the case; else permitted cases, people, agencies."""
    form = SearchForm(request.args)
    text = (request.args.get("q") or "").strip()
    context: dict[str, Any] = {
        "form": form,
        "text": text,
        "outcome": None,
        "facets": FACETS,
        "sorts": SORTS,
        "args": _args,
        "with_token": _with_token,
        "without_token": _without_token,
        "note": None,
        "unavailable": None,
    }
    dates_given = any(
        request.args.get(k) for k in ("opened_from", "opened_to", "closed_from", "closed_to")
    )
    if not text and not dates_given:
        return render_template("search/results.html", **context)
    if not form.validate():
        return render_template("search/results.html", **context), 422
    if text and not dates_given:
        response, context["note"] = _case_redirect(text)
        if response is not None:
            return response
    dates = form.date_filters()
    full_text = " ".join(p for p in (_grouped(text) if dates else text, dates) if p)
    try:
        outcome = backends.current().search(
            current_staff(),
            full_text,
            sort=form.sort.data or "relevance",
            page=request.args.get("page", 1, type=int) or 1,
        )
    except SearchUnavailable as exc:
        _wake_indexer()
        context["unavailable"] = exc.message
        return render_template("search/results.html", **context), 503
    except DomainError as exc:
        form.q.errors = [*form.q.errors, exc.message]
        return render_template("search/results.html", **context), 422
    if outcome.confidential_shown:
        # Listing confidential cases with passages of their text is a view of them.
        audit_read(
            "search_confidential_results",
            "search",
            None,
            "cases " + ", ".join(str(n) for n in outcome.confidential_shown),
        )
    context["outcome"] = outcome
    return render_template("search/results.html", **context)


def _wake_indexer() -> None:
    """Nudge this process's indexer thread (if any): it rebuilds a missing index."""
    indexer.wake_background_indexer(current_app._get_current_object())  # type: ignore[attr-defined]
