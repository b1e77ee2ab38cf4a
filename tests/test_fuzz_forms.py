"""Generated bad input for every form and query string: never a 5xx.

Forms are discovered from the pages themselves (so a new form is fuzzed without touching this
file): each page below is fetched as the user who may use it, every <form> on it is parsed, and
Hypothesis sends generated values for its fields — long strings, control characters, unicode,
numbers where text is expected and text where numbers are, missing fields, random file bytes.
Examples per form: 200 by default (HYPOTHESIS_PROFILE=long for 2,000).
"""

from __future__ import annotations

import io
import os
import shutil
from dataclasses import dataclass, field
from html.parser import HTMLParser

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from constituent.models import Role
from constituent.search import indexer
from tests.world import make_world

# derandomize: the same generated inputs every run, so CI is repeatable (the long profile
# explores new ones).
settings.register_profile(
    "ci", max_examples=200, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck)
)
settings.register_profile(
    "long", max_examples=2000, deadline=None, suppress_health_check=list(HealthCheck)
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# (role, page) pairs whose forms are fuzzed; {case_id} etc. come from the world fixture.
PAGES = [
    (Role.INTAKE, "/intake/"),
    (Role.SUPERVISOR, "/cases/{case_id}"),
    (Role.SUPERVISOR, "/cases/{case_id}/edit"),
    (Role.SUPERVISOR, "/cases/"),
    (Role.SUPERVISOR, "/constituents/"),
    (Role.SUPERVISOR, "/constituents/{constituent_id}"),
    (Role.SUPERVISOR, "/constituents/{constituent_id}/edit"),
    (Role.SUPERVISOR, "/constituents/merge"),
    (Role.SUPERVISOR, "/referrals/case/{case_id}/new"),
    (Role.SUPERVISOR, "/referrals/{referral_id}"),
    (Role.SUPERVISOR, "/referrals/{referral_id}/edit"),
    (Role.SUPERVISOR, "/referrals/{referral_id}/response"),
    (Role.SUPERVISOR, "/referrals/overdue"),
    (Role.SUPERVISOR, "/cases/{case_id}/letters/new"),
    (Role.SUPERVISOR, "/mail/"),
    (Role.SUPERVISOR, "/mail/{unfiled_message_id}"),
    (Role.SUPERVISOR, "/mail/{unfiled_message_id}/new-case"),
    (Role.INTAKE, "/online-requests/{request_id}"),
    (Role.SUPERVISOR, "/search/"),
    (Role.SUPERVISOR, "/summaries/NY-21"),
    (Role.SUPERVISOR, "/my-work"),
    (Role.SUPERVISOR, "/account/password"),
    (Role.ADMIN, "/agencies/"),
    (Role.ADMIN, "/agencies/new"),
    (Role.ADMIN, "/agencies/{agency_id}"),
    (Role.ADMIN, "/agencies/{agency_id}/edit"),
    (Role.ADMIN, "/agencies/{agency_id}/contacts/new"),
    (Role.ADMIN, "/agencies/rules"),
    (Role.ADMIN, "/agencies/rules/new"),
    (Role.ADMIN, "/agencies/letter-templates/new"),
    (Role.ADMIN, "/agencies/import"),
    (Role.ADMIN, "/admin/zip-table"),
    (Role.ADMIN, "/admin/categories/{category_id}"),
    (Role.ADMIN, "/admin/release-templates"),
    (Role.ADMIN, "/admin/release-templates/{release_template_id}"),
    (None, "/login"),
]
NEVER_SUBMIT = {"/logout"}
# A form met on several pages (the header's case-number and search boxes) is fuzzed once.
FUZZED: set[tuple[str, str, tuple[str, ...]]] = set()


@dataclass
class Form:
    action: str
    method: str
    fields: dict[str, list[str]] = field(default_factory=dict)  # name → option values
    files: set[str] = field(default_factory=set)


class FormParser(HTMLParser):
    """Collect every form's action, method and field names (with select/radio options)."""

    def __init__(self, page_url: str) -> None:
        super().__init__()
        self.page_url = page_url
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._select: str | None = None

    def handle_starttag(self, tag, attrs):  # type: ignore[no-untyped-def]
        a = dict(attrs)
        if tag == "form":
            self._form = Form(
                action=a.get("action") or self.page_url, method=(a.get("method") or "get").lower()
            )
            self.forms.append(self._form)
        elif self._form is None:
            return
        elif tag in ("input", "textarea", "select") and a.get("name"):
            name = a["name"]
            if name == "csrf_token":
                return
            if a.get("type") == "file":
                self._form.files.add(name)
                return
            values = self._form.fields.setdefault(name, [])
            if a.get("type") in ("radio", "checkbox") and a.get("value"):
                values.append(a["value"])
            if tag == "select":
                self._select = name
        elif tag == "option" and self._select:
            self._form.fields[self._select].append(a.get("value", ""))

    def handle_endtag(self, tag):  # type: ignore[no-untyped-def]
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None


nasty_text = st.one_of(
    st.text(max_size=60),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=300),
    st.sampled_from(
        [
            "",
            " ",
            "0",
            "-1",
            "99999999999999999999",
            "1e309",
            "NaN",
            "2026-02-30",
            "9999-12-31",
            "0000-00-00",
            "'; DROP TABLE cases; --",
            "<script>x</script>",
            "{{ 7*7 }}",
            "\x00",
            "\r\n\t",
            "../../etc/passwd",
            '=HYPERLINK("x")',
            "a" * 10_001,
            "é" * 5000,
            "\u202e\u0000\ufeff",
        ]
    ),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
)


def field_values(options: list[str]):  # type: ignore[no-untyped-def]
    choices = [st.just(None), nasty_text]  # None: the field is left out
    if options:
        choices.append(st.sampled_from(options))
    return st.one_of(*choices)


def fill(draw, form: Form) -> dict:  # type: ignore[no-untyped-def]
    data: dict = {}
    for name, options in form.fields.items():
        value = draw(field_values(options))
        if value is not None:
            data[name] = value
    for name in form.files:
        if draw(st.booleans()):
            data[name] = (
                io.BytesIO(draw(st.binary(max_size=2048))),
                draw(st.sampled_from(["a.pdf", "b.png", "c.exe", "", "..\\\\x.pdf"])),
            )
    return data


@pytest.fixture()
def world(app):
    world = make_world()
    shutil.rmtree(app.config["SEARCH_INDEX_DIR"], ignore_errors=True)
    indexer.rebuild(app)  # the header search box is a form on every page
    return world


@pytest.mark.parametrize(
    "role,page", PAGES, ids=[f"{r.value if r else 'anon'}:{p}" for r, p in PAGES]
)
def test_generated_input_never_causes_a_server_error(app, world, role, page):
    client = app.test_client()
    if role is not None:
        client.login(world.office.user(role).email)
    url = page.format(**world.ids)
    response = client.get(url)
    assert response.status_code == 200, f"{url}: {response.status_code}"
    parser = FormParser(url)
    parser.feed(response.get_data(as_text=True))
    forms = [f for f in parser.forms if f.action not in NEVER_SUBMIT]
    assert forms, f"no form found on {url}"
    forms = [f for f in forms if _key(f) not in FUZZED]
    FUZZED.update(_key(f) for f in forms)
    token = client.csrf_token(url)
    tried = 0
    for form in forms:
        tried += fuzz_form(client, form, token)
    print(f"{url}: {len(forms)} forms, {tried} generated requests")


def _key(form: Form) -> tuple[str, str, tuple[str, ...]]:
    return form.action, form.method, tuple(sorted({*form.fields, *form.files}))


def fuzz_form(client, form: Form, token: str) -> int:  # type: ignore[no-untyped-def]
    """Send generated values to one form; return how many requests were made."""
    tried = 0

    @given(st.data())
    def run(data):  # type: ignore[no-untyped-def]
        nonlocal tried
        values = fill(data.draw, form)
        if form.method == "post":
            values["csrf_token"] = token
            response = client.post(
                form.action, data=values, content_type="multipart/form-data" if form.files else None
            )
        else:
            response = client.get(
                form.action, query_string={k: v for k, v in values.items() if isinstance(v, str)}
            )
        tried += 1
        shown = {k: (v[:80] if isinstance(v, str) else "<file>") for k, v in values.items()}
        assert response.status_code < 500, (
            f"{form.method.upper()} {form.action} -> {response.status_code} with {shown}"
        )

    run()
    return tried
