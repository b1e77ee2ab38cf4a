"""The public pages: the help form (/help) residents fill in without signing in, in English or
Spanish, and its confirmation. Open to the internet, so: CSRF on an anonymous session, rate
limits per address and per email, a honeypot and a minimum fill time (refused as if it
worked), a kill switch (CONSTITUENT_PUBLIC_FORM=off), and nothing typed shown back on a GET."""

from __future__ import annotations

import base64
import hashlib
import secrets
import time

from flask import (
    Blueprint,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeSerializer

from constituent import i18n
from constituent.extensions import csrf
from constituent.forms import optional_int
from constituent.forms.public import STATES, HelpForm
from constituent.models import Category
from constituent.services import office, online_requests, throttle
from constituent.services.errors import DomainError
from constituent.services.online_requests import MESSAGES, REFERENCE_ALPHABET, Submitted
from constituent.views.boundary import attach_error, commit, discard

bp = Blueprint("public", __name__, url_prefix="/help")

SENT_KEY = "help_sent"
VISITOR_KEY = "help_visitor"  # a random id of this anonymous visit (form keys are tied to it)
_SALT = "constituent.help-form.started"


@bp.before_request
def remember_language() -> ResponseReturnValue | None:
    """A ``?lang=`` link sets the language for the rest of the visit; a closed form says so."""
    asked = i18n.asked_language()
    if asked:
        session[i18n.SESSION_KEY] = asked
    if not current_app.config.get("PUBLIC_FORM_OPEN", True) and request.endpoint != "public.sent":
        if request.endpoint == "public.release_part":
            return "", 204  # the page's script leaves the section as it is
        return render_template("public/closed.html"), 503 if request.method == "POST" else 200
    return None


@bp.context_processor
def public_context() -> dict[str, object]:
    return {"page_language": str(get_locale() or i18n.DEFAULT)}


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def started_token(at: float | None = None, key: str | None = None) -> str:
    """The signed time the form was drawn (the minimum fill time is measured from it) and the
    page's random key (one request per page drawn)."""
    return _serializer().dumps(
        {"at": at if at is not None else time.time(), "key": key or secrets.token_urlsafe(24)}
    )


def _started() -> tuple[float, str | None] | None:
    """(when the form was drawn, its key) from the posted token; None when it is not ours."""
    try:
        loaded = _serializer().loads(request.form.get("started") or "")
    except BadSignature:
        return None
    if isinstance(loaded, dict):
        at, key = loaded.get("at"), loaded.get("key")
        if isinstance(at, int | float) and (key is None or isinstance(key, str)):
            return float(at), key
    return None


def _visitor() -> str:
    visitor = session.get(VISITOR_KEY)
    if not isinstance(visitor, str) or not 16 <= len(visitor) <= 64:
        visitor = secrets.token_urlsafe(16)
        session[VISITOR_KEY] = visitor
    return visitor


def _form_key() -> str | None:
    """The drawn page's key tied to this visit: a page's key posted from another visit is
    another key, so it never answers with someone else's reference."""
    started = _started()
    if started is None or not started[1]:
        return None
    digest = hashlib.sha256(f"{_visitor()}:{started[1]}".encode()).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _looks_like_a_bot(form: HelpForm) -> bool:
    """The honeypot filled, no valid start time, or a post faster than a person types."""
    if (request.form.get("website") or "").strip():
        return True
    started = _started()
    if started is None:
        return True
    return time.time() - started[0] < float(current_app.config.get("PUBLIC_FORM_MIN_SECONDS", 2))


def _sent(reference: str, zip_unplaced: bool = False) -> ResponseReturnValue:
    session[SENT_KEY] = {"reference": reference, "zip_unplaced": zip_unplaced}
    return redirect(url_for("public.sent"))


def _silently_refused() -> ResponseReturnValue:
    """A bot's post: the same answer as a kept request (a reference that was never stored)."""
    letters = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(10))
    return _sent(f"{letters[:5]}-{letters[5:]}")


@bp.route("", methods=["GET"])
def choose() -> ResponseReturnValue:
    """What do you need help with? The public categories, each with its sentence."""
    return render_template(
        "public/choose.html", categories=online_requests.public_categories(), error=None
    )


def _not_offered(status: int) -> ResponseReturnValue:
    discard()
    return (
        render_template(
            "public/choose.html",
            categories=online_requests.public_categories(),
            error=_(MESSAGES["category"]),
        ),
        status,
    )


@bp.route("/request", methods=["GET", "POST"])
@csrf.exempt  # the form checks its own token, so a stale one is answered in the resident's words
def request_form() -> ResponseReturnValue:
    """The form for one kind of help: the problem, the resident, contact, the release."""
    raw = request.args.get("category", "")
    if not raw:
        return redirect(url_for("public.choose"))
    try:
        category = online_requests.public_category(optional_int(raw[:12]))
    except DomainError:
        return _not_offered(422 if request.method == "POST" else 404)
    form = HelpForm()
    form.offer_agencies(online_requests.agency_choices())
    if request.method == "POST":
        return _posted(form, category)
    _visitor()
    form.started.data = started_token()
    home = office.profile().state  # most residents live in the office's state
    form.state.data = home if home in STATES else ""
    return _show(form, category)


def _posted(form: HelpForm, category: Category) -> ResponseReturnValue:
    address = request.remote_addr or ""
    if not throttle.allow_public_post(address, (request.form.get("email") or "")[:254]):
        return render_template("public/throttled.html"), 429
    if _looks_like_a_bot(form):
        return _silently_refused()
    form_key = _form_key()
    earlier = online_requests.already_sent(form_key)
    if earlier is not None:  # the same page posted again: the same answer, nothing kept
        return _sent(earlier.request.reference, earlier.zip_unplaced)
    if not form.validate():
        if form.csrf_token.errors:
            form.csrf_token.errors = []
            form.form_errors.append(_("This page was open too long. Please send it again."))
        return _show(form, category, 422)
    language = str(get_locale() or i18n.DEFAULT)
    details = form.details(
        category_id=category.id, language=language, address=address, form_key=form_key
    )

    def refused(exc: DomainError) -> ResponseReturnValue:
        if exc.code == "category":
            return _not_offered(422)
        translated = DomainError(_(exc.message), field=exc.field, code=exc.code)
        attach_error(form, translated)
        return _show(form, category, 422)

    def kept(done: Submitted) -> ResponseReturnValue:
        return _sent(done.request.reference, done.zip_unplaced)

    return commit(lambda: online_requests.submit(details), kept, refused)


def _match_release(form: HelpForm, offer: online_requests.ReleaseOffer | None) -> None:
    """The form carries the version of the text it shows. When that is not the one the
    resident signed (they chose another agency, or an admin changed the release), the
    signature is cleared: they must read the text shown and sign again."""
    shown = str(offer.version.id) if offer is not None else ""
    if (form.release_version.data or "") == shown:
        return
    signed = form.attest.data or form.consent.data or (form.signed_name.data or "").strip()
    if form.is_submitted() and signed:
        key = "release_changed" if offer is not None else "release_gone"
        message = _(MESSAGES[key])
        if message not in form.signed_name.errors:
            form.signed_name.errors = [*list(form.signed_name.errors or []), message]
        form.attest.data = form.consent.data = False
        form.signed_name.data = ""
    form.release_version.data = shown


def _release_for(form: HelpForm, category: Category) -> online_requests.ReleaseOffer | None:
    """The release for the agency chosen on ``form`` (or routed): a choice the list does not
    offer is marked on the form and the routed agency's release shown."""
    try:
        agency = online_requests.involved_agency(category, form.agency_id.data)
    except DomainError as exc:
        if form.is_submitted() and _(exc.message) not in form.agency_id.errors:
            attach_error(form, DomainError(_(exc.message), field=exc.field))
        agency = online_requests.routed_agency(category)
    return online_requests.release_offer(agency)


def _release_text(offer: online_requests.ReleaseOffer | None) -> str:
    return offer.text(str(get_locale() or i18n.DEFAULT)) if offer else ""


def _show(form: HelpForm, category: Category, status: int = 200) -> ResponseReturnValue:
    """The form for ``category``, with the release for the agency chosen (or routed)."""
    offer = _release_for(form, category)
    _match_release(form, offer)
    if not form.started.data:
        form.started.data = started_token()
    language = str(get_locale() or i18n.DEFAULT)
    blurb = category.public_blurb_es if language == "es" else category.public_blurb_en
    return (
        render_template(
            "public/form.html",
            form=form,
            category=category,
            blurb=blurb,
            offer=offer,
            release_text=_release_text(offer),
            identifiers=online_requests.asked_identifiers(category),
        ),
        status,
    )


@bp.route("/request/release", methods=["GET"])
def release_part() -> ResponseReturnValue:
    """The form's release section for the agency now chosen (htmx, when the agency changes):
    what the resident ticked and typed stays when the release is the same one, and is cleared
    when it is another, which they must read before signing. Nothing is stored."""
    try:
        category = online_requests.public_category(
            optional_int(request.args.get("category", "")[:12])
        )
    except DomainError:  # a category closed meanwhile: the post tells the resident
        return "", 204
    form = HelpForm(formdata=request.args, meta={"csrf": False})
    form.offer_agencies(online_requests.agency_choices())
    offer = _release_for(form, category)
    shown = str(offer.version.id) if offer is not None else ""
    if (form.release_version.data or "") != shown:
        form.attest.data = form.consent.data = False
        form.signed_name.data = ""
    form.release_version.data = shown
    return render_template(
        "public/_release.html",
        form=form,
        category=category,
        offer=offer,
        release_text=_release_text(offer),
        oob=True,
    )


@bp.route("/sent", methods=["GET"])
def sent() -> ResponseReturnValue:
    """The reference number and what happens next: nothing the resident typed."""
    done = session.get(SENT_KEY)
    if not isinstance(done, dict) or not isinstance(done.get("reference"), str):
        return redirect(url_for("public.choose"))
    return render_template(
        "public/sent.html",
        reference=done["reference"],
        zip_unplaced=bool(done.get("zip_unplaced")),
    )
