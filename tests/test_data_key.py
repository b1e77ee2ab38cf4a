"""The data key that encrypts agency identifiers: an app whose key does not open what the
database holds refuses to start with a message naming the setting; a rotated key list (new
first, old after) starts and reads the old values."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from flask import Flask

from constituent import create_app
from constituent.config import ConfigurationError
from constituent.extensions import db
from constituent.models import OnlineRequest
from tests import factories
from tests.online_helpers import gen_request


def _same_database(app: Flask, key: str) -> Flask:
    config = {k: v for k, v in app.config.items() if k.isupper()}
    return create_app({**config, "DATA_KEY": key})


def test_a_key_that_does_not_open_stored_identifiers_stops_start_up(app, office):
    request = gen_request(
        factories.gen_category("Federal pensions"), identifiers={"claim_number": "123-45-6789A"}
    )
    db.session.commit()
    request_id = request.id
    other = Fernet.generate_key().decode()
    with pytest.raises(ConfigurationError, match="CONSTITUENT_DATA_KEY does not open"):
        _same_database(app, other)

    rotated = _same_database(app, f"{other},{app.config['DATA_KEY']}")
    with rotated.app_context():
        kept = db.session.get(OnlineRequest, request_id)
        assert kept is not None and "123-45-6789A" in (kept.identifiers or "")
        db.session.remove()


def test_an_empty_database_starts_with_any_key(app):
    assert _same_database(app, Fernet.generate_key().decode()).config["DATA_KEY"]
