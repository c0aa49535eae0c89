"""The web application: the pages staff reach from the signed links in their email.

A view here parses the request, calls one domain function and shows its answer; the rules live in the
domain packages, so the CLI, the web and the flows give the same answer.
"""
from flask import Flask
from flask_wtf.csrf import CSRFProtect
from govuk_frontend_wtf.main import WTFormsHelpers
from jinja2 import ChoiceLoader, PackageLoader, PrefixLoader

from auditcycle.core.settings import Settings, get_settings
from auditcycle.web import (  # noqa: F401 (journeys, console pages register)
    acts,
    console,
    console_deep_dive,
    console_moderation,
    console_report,
    console_tracker,
    errors,
    journeys,
    oidc,
    pages,
    region,
    security,
)

csrf = CSRFProtect()


def create_app(settings: Settings | None = None, council: str | None = None) -> Flask:
    """Build the web application from the settings (the process's own when none are given).

    In a region, `council` is the slug of the council whose site it is: its cookie is named after it, and
    every request runs for that council (see auditcycle.web.region).
    """
    settings = settings or get_settings()
    app = Flask(__name__, static_folder="static", static_url_path="/assets")
    app.config.update(
        SECRET_KEY=security.secret_key(settings),
        SESSION_COOKIE_NAME=security.session_cookie_name(settings, council),
        SESSION_COOKIE_SECURE=settings.web_cookie_secure,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        # A form left open over a long meeting still posts; the token is tied to the session as well.
        WTF_CSRF_TIME_LIMIT=8 * 3600,
        # The 413 page instead of reading a body no page here needs.
        MAX_CONTENT_LENGTH=1024 * 1024,
        AUDITCYCLE_SETTINGS=settings,
        AUDITCYCLE_COUNCIL=council,
    )
    app.jinja_loader = ChoiceLoader([
        PackageLoader("auditcycle.web"),
        PrefixLoader({
            "govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja"),
            "govuk_frontend_wtf": PackageLoader("govuk_frontend_wtf"),
        }),
    ])
    app.jinja_env.globals.update(service_name=settings.web_service_name, council_name=settings.web_council_name)
    WTFormsHelpers(app)
    csrf.init_app(app)
    security.init_app(app)
    errors.init_app(app)
    app.register_blueprint(pages.blueprint)
    app.register_blueprint(acts.blueprint)
    app.register_blueprint(console.blueprint)
    oidc.init_app(app, settings)
    if council is not None:
        app.wsgi_app = region.for_council_site(app.wsgi_app, council)
    return app
