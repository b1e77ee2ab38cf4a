"""Ready on first start: commands on an unmigrated database say what to run; the demo
command leaves a search index behind, so the first search answers."""

from __future__ import annotations

import pytest
from flask_migrate import upgrade

from constituent import create_app
from constituent.extensions import db
from tests.dbutil import fresh_database
from tests.search_support import reset_index


@pytest.fixture()
def unmigrated_app(tmp_path):
    with fresh_database(tmp_path, "fresh") as url:
        app = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": url,
                "SECRET_KEY": "x" * 40,
                "TESTING": True,
                "SEARCH_INDEX_DIR": str(tmp_path / "index"),
            }
        )
        with app.app_context():
            yield app
            db.session.remove()
            db.engine.dispose()


@pytest.mark.parametrize(
    "args",
    [
        ["users", "list"],
        ["users", "create", "--email", "a@b.example", "--role", "admin", "--district", "X"],
        ["districts", "import", "constituent/data/zccd.csv"],
        ["demo", "seed"],
        ["search", "sync"],
    ],
)
def test_a_command_on_an_unmigrated_database_says_to_upgrade(unmigrated_app, args):
    result = unmigrated_app.test_cli_runner().invoke(args=args)
    assert result.exit_code == 2, result.output
    assert "flask --app constituent db upgrade" in result.output
    assert "Traceback" not in result.output and isinstance(result.exception, SystemExit)


def test_a_database_at_an_older_revision_is_refused_until_upgraded(unmigrated_app):
    upgrade(revision="ae77fd8ee623")
    runner = unmigrated_app.test_cli_runner()
    result = runner.invoke(args=["users", "list"])
    assert result.exit_code == 2
    assert "at revision ae77fd8ee623" in result.output and "db upgrade" in result.output
    upgrade()
    result = runner.invoke(args=["users", "list"])
    assert result.exit_code == 0, result.output
    assert "No users yet" in result.output


def test_the_demo_command_builds_the_search_index_so_the_first_search_answers(app, runner, client):
    reset_index(app)
    result = runner.invoke(args=["demo", "seed"])
    assert result.exit_code == 0, result.output
    assert "Built the search index" in result.output
    client.login("supervisor@demo.example", _demo_password(result.output, "supervisor"))
    response = client.get("/search/?q=social+security")
    assert response.status_code == 200
    assert "No cases you can open match this search." not in response.get_data(as_text=True)


def _demo_password(output: str, role: str) -> str:
    for line in output.splitlines():
        parts = line.split()
        if parts[:1] == [role]:
            return parts[2]
    raise AssertionError(f"no {role} sign-in printed")
