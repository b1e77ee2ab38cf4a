"""Constituent: a constituent services tracker for legislative district offices."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from constituent.config import load_settings
from constituent.extensions import babel, csrf, db, login_manager, migrate


def create_app(config: dict[str, Any] | object | None = None) -> Flask:
    """Build the application: settings, extensions, blueprints, error pages, CLI."""
    instance_path = os.environ.get("CONSTITUENT_INSTANCE_PATH")
    app = Flask(__name__, instance_path=instance_path, instance_relative_config=True)
    app.config.from_mapping(load_settings(Path(app.instance_path)))
    if config is not None:
        if isinstance(config, dict):
            app.config.from_mapping(config)
        else:
            app.config.from_object(config)
    register_proxies(app)
    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_template_helpers(app)
    register_commands(app)
    register_search(app)
    return app


def register_proxies(app: Flask) -> None:
    """Behind CONSTITUENT_TRUSTED_PROXIES=N proxies, take the client's address and scheme from
    the last N X-Forwarded-For/-Proto entries (sign-in limits and the audit log use it).

    Without it the headers are ignored: anyone can send them. X-Forwarded-Host is not
    believed either way: common proxies pass a client's own header through untouched.
    """
    proxies = int(app.config.get("TRUSTED_PROXIES") or 0)
    if proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)  # type: ignore[method-assign]


def register_extensions(app: Flask) -> None:
    """Bind the extension objects to this app."""
    from constituent import crypto, database, i18n

    crypto.init_app(app)
    babel.init_app(app, locale_selector=i18n.select_locale, default_timezone="UTC")
    db.init_app(app)
    database.configure_engine_events(app)
    crypto.check_key(app)
    migrate.init_app(app, db, directory=str(Path(__file__).resolve().parent.parent / "migrations"))
    csrf.init_app(app)
    login_manager.init_app(app)
    from constituent import assets, security

    security.init_app(app)
    assets.init_app(app)
    from constituent.services import auth, throttle

    auth.init_login(app, login_manager)
    throttle.init_app(app)


def register_blueprints(app: Flask) -> None:
    """Attach every area's blueprint."""
    from constituent.views import (
        admin,
        agencies,
        auth,
        boundary,
        cases,
        constituents,
        intake,
        letters,
        mail,
        main,
        online_requests,
        public,
        reference,
        referrals,
        search,
        summaries,
    )

    for module in (
        auth,
        main,
        intake,
        cases,
        constituents,
        agencies,
        referrals,
        letters,
        mail,
        online_requests,
        search,
        summaries,
        admin,
        reference,
        public,
    ):
        app.register_blueprint(module.bp)
    boundary.register(app)


def register_errorhandlers(app: Flask) -> None:
    """Error pages in the site layout, with no stack traces for client errors."""
    from constituent.views import errors

    errors.register(app)


def register_template_helpers(app: Flask) -> None:
    """Filters and globals used across templates."""
    from constituent.views import helpers

    helpers.register(app)


def register_search(app: Flask) -> None:
    """Search listeners: queue index work in each transaction, index it after commit."""
    from constituent import search

    search.init_app(app)


def register_commands(app: Flask) -> None:
    """`flask users`, `flask districts`, `flask demo` ..."""
    from constituent import cli

    cli.register(app)
    logging.getLogger("werkzeug").setLevel(logging.INFO)
