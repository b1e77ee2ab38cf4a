"""Every field of the public help form fuzzed through the form (Hypothesis): a 4xx with the
field's own message, or the request kept whole; never a 500, never half a request."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from constituent.extensions import db
from constituent.models import Attachment, OnlineRequest
from tests.help_form import GOOD, SIGNED, form_url, hidden_fields, public_world

FIELDS = [
    "agency_id",
    "agency_named",
    "what_happened",
    "tried",
    "first_name",
    "last_name",
    "address_line1",
    "address_line2",
    "city",
    "state",
    "zip_code",
    "phone",
    "email",
    "preferred_contact",
    "contact_times",
    "claim_number",
    "ssn_last4",
    "signed_name",
    "attest",
    "consent",
    "release_version",
]
# Text a person or a bot might send: any character a form can carry (no NUL, refused with
# a 400 before any form sees it; no lone surrogates, which cannot be encoded), short and long.
TEXT = st.one_of(
    st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40),
    st.text(alphabet="0123456789-A ", max_size=14),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.integers(min_value=0, max_value=6000).map(lambda n: "é" * n),
)


@pytest.fixture()
def world(app, monkeypatch):
    monkeypatch.setitem(app.config, "PUBLIC_FORM_MIN_SECONDS", 0)
    monkeypatch.setitem(app.config, "PUBLIC_FORM_LIMIT_PER_ADDRESS", "100000 per minute")
    monkeypatch.setitem(app.config, "PUBLIC_FORM_LIMIT_PER_EMAIL", "100000 per minute")
    return public_world()


def counts() -> tuple[int, int]:
    return (
        db.session.scalar(sa.select(sa.func.count()).select_from(OnlineRequest)) or 0,
        db.session.scalar(sa.select(sa.func.count()).select_from(Attachment)) or 0,
    )


@pytest.mark.parametrize("field", FIELDS)
@settings(max_examples=15, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(value=TEXT)
def test_every_field_is_refused_with_its_message_or_kept_whole(client, world, field, value):
    url = form_url(world.category.id)
    hidden = hidden_fields(client.get(url).get_data(as_text=True))
    data = {**hidden, **GOOD, **SIGNED, field: value}
    if field in ("first_name", "last_name"):  # the signature follows the name, as a person's would
        data["signed_name"] = f"{data['first_name']} {data['last_name']}"
    before = counts()
    response = client.post(url, data=data)
    after = counts()
    page = response.get_data(as_text=True)
    assert response.status_code in (302, 422), (field, value, response.status_code)
    if response.status_code == 302:
        assert after == (before[0] + 1, before[1] + 1)  # the request and its release copy
    else:
        assert after == before
        # The message sits beside the field fuzzed (a hidden one's lands on the signature).
        shown = {
            "release_version": "signed_name",
            "attest": "signed_name",
            "consent": "signed_name",
        }
        assert f'id="{shown.get(field, field)}-error"' in page, (field, value)


def test_a_nul_character_is_refused_and_nothing_is_kept(client, world):
    url = form_url(world.category.id)
    hidden = hidden_fields(client.get(url).get_data(as_text=True))
    response = client.post(url, data={**hidden, **GOOD, "city": "Cull\x00man"})
    assert response.status_code == 400 and counts() == (0, 0)
