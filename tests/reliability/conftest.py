"""A deployment on disk for the reliability tests: migrated database, staff, ZIP table."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask_migrate import upgrade

from constituent import create_app
from constituent.extensions import db
from constituent.models import Role
from tests import factories
from tests.dbutil import fresh_database
from tests.reliability import harness

pytestmark = pytest.mark.reliability

SECRET = "reliability-test-secret-key-0123456789abcdef"
REDIS_URL = os.environ.get("CONSTITUENT_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@dataclass
class Deployment:
    env: dict[str, str]
    url: str
    instance: Path
    staff: list[tuple[str, str]]  # (email, role)
    category_id: int

    def flask(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(  # noqa: S603
            [str(Path(sys.executable).parent / "flask"), "--app", "constituent", *args],
            env=self.env,
            capture_output=True,
            text=True,
            check=check,
            timeout=600,
        )

    def app(self):  # type: ignore[no-untyped-def]
        return create_app(
            {
                "SQLALCHEMY_DATABASE_URI": self.url,
                "SECRET_KEY": SECRET,
                "SEARCH_INDEX_DIR": self.env["CONSTITUENT_SEARCH_INDEX_DIR"],
                "UPLOAD_DIR": self.env["CONSTITUENT_UPLOAD_DIR"],
            }
        )


@pytest.fixture(autouse=True)
def _no_server_left_running() -> Iterator[None]:
    """Whatever a test does or fails to do, no gunicorn outlives it."""
    try:
        yield
    finally:
        harness.kill_all()


@pytest.fixture()
def deployment(tmp_path: Path) -> Iterator[Deployment]:
    instance = tmp_path / "instance"
    instance.mkdir()
    with fresh_database(tmp_path, "rel") as url:
        env = {
            **os.environ,
            "CONSTITUENT_DATABASE_URL": url,
            "CONSTITUENT_SECRET_KEY": SECRET,
            "CONSTITUENT_INSTANCE_PATH": str(instance),
            "CONSTITUENT_SEARCH_INDEX_DIR": str(instance / "search-index"),
            "CONSTITUENT_UPLOAD_DIR": str(instance / "uploads"),
            "CONSTITUENT_SIGN_IN_LIMIT_PER_ADDRESS": "1000 per minute",
        }
        app = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": url,
                "SECRET_KEY": SECRET,
                "SEARCH_INDEX_DIR": env["CONSTITUENT_SEARCH_INDEX_DIR"],
            }
        )
        with app.app_context():
            upgrade()
            a, b = factories.gen_district("NY-21"), factories.gen_district("NY-20")
            category = factories.gen_category()
            factories.gen_zip("12901", "NY-21")
            factories.gen_zip("12110", "NY-20")
            staff = []
            for i in range(6):
                user = factories.gen_user(Role.CASEWORKER, [a, b], email=f"cw{i}@rel.example")
                staff.append((user.email, "caseworker"))
            for i in range(2):
                user = factories.gen_user(Role.SUPERVISOR, [a, b], email=f"sup{i}@rel.example")
                staff.append((user.email, "supervisor"))
            user = factories.gen_user(Role.INTAKE, [a, b], email="intake@rel.example")
            staff.append((user.email, "intake"))
            db.session.commit()
            category_id = category.id
            db.session.remove()
            db.engine.dispose()
        yield Deployment(env=env, url=url, instance=instance, staff=staff, category_id=category_id)


@pytest.fixture()
def redis_prefix():  # type: ignore[no-untyped-def]
    """A key prefix of this run's own in Redis, deleted afterwards."""
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError:
        pytest.skip(f"no Redis at {REDIS_URL}")
    prefix = f"constituent-test-{uuid.uuid4().hex[:12]}"
    try:
        yield prefix
    finally:
        keys = list(client.scan_iter(f"*{prefix}*"))
        if keys:
            client.delete(*keys)
        client.close()
