"""The web application built from real settings, with one test-only form page to exercise CSRF (tests/web)."""
from flask import Flask, redirect, render_template_string
from flask_wtf import FlaskForm

from auditcycle.core.settings import Settings

SECRET = "k" * 40
_FORM_PAGE = """{% extends "base.html" %}{% block content %}
<form method="post" novalidate>{{ form.csrf_token }}
<button class="govuk-button" data-module="govuk-button">Confirm</button></form>{% endblock %}"""


def web_settings(**overrides: object) -> Settings:
    """Return settings for the web app: a real key, QA's mailbox, the given overrides."""
    values = {"web_secret_key": SECRET, "mail_from": "qa-team@council.example", "web_council_name": "Testshire Council",
              "web_service_name": "Case audit", "simulation": False} | overrides
    return Settings(**values)


def add_form_page(app: Flask, received: list[str]) -> None:
    """Add /test-form: a GET showing a form with its CSRF token, a POST noting that it arrived."""

    @app.get("/test-form")
    def _show() -> str:
        return render_template_string(_FORM_PAGE, form=FlaskForm())

    @app.post("/test-form")
    def _post():  # noqa: ANN202
        received.append("posted")
        return redirect("/test-form")

    @app.get("/test-crash")
    def _crash() -> str:
        raise RuntimeError("secret internals: /srv/auditcycle/db.py line 12")
