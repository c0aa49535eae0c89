"""The web application through Flask's test client: headers, CSRF, error pages, cookies, the secret key."""
import re

import pytest
from flask import Flask
from flask_wtf.csrf import generate_csrf
from web_app import add_form_page, web_settings

from auditcycle.web import create_app
from auditcycle.web.security import NoSecretKey


@pytest.fixture
def received() -> list[str]:
    """Each POST the test form accepted."""
    return []


@pytest.fixture
def app(received: list[str]) -> Flask:
    """The app, as production builds it (Secure cookies), with the test form page."""
    web_app = create_app(web_settings())
    add_form_page(web_app, received)
    return web_app


PAGES = ["/", "/accessibility", "/health", "/test-form", "/no-such-page", "/assets/govuk-frontend.min.css"]


def _token(html: str) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)


@pytest.mark.parametrize("path", PAGES)
def test_every_response_carries_the_security_headers(app: Flask, path: str) -> None:
    response = app.test_client().get(path)

    csp = dict(d.strip().split(" ", 1) for d in response.headers["Content-Security-Policy"].split(";"))
    assert (response.headers["Referrer-Policy"], response.headers["X-Content-Type-Options"]) == ("no-referrer",
                                                                                                 "nosniff")
    assert {k: v for k, v in csp.items() if k != "script-src"} == {
        "default-src": "'self'", "style-src": "'self'", "img-src": "'self'", "font-src": "'self'",
        "connect-src": "'self'", "object-src": "'none'", "frame-ancestors": "'none'", "base-uri": "'none'",
        "form-action": "'self'"}
    assert re.fullmatch(r"'self' 'nonce-[A-Za-z0-9_-]{24}'", csp["script-src"])


def test_the_inline_script_carries_the_nonce_the_policy_allows(app: Flask) -> None:
    response = app.test_client().get("/")

    nonce = re.search(r"'nonce-([^']+)'", response.headers["Content-Security-Policy"]).group(1)
    scripts = re.findall(r"<script([^>]*)>", response.get_data(as_text=True))
    assert scripts == [f' nonce="{nonce}"', ' type="module" src="/assets/init.js"']


def test_each_response_has_its_own_nonce(app: Flask) -> None:
    client = app.test_client()

    policies = {client.get("/").headers["Content-Security-Policy"] for _ in range(3)}

    assert len(policies) == 3


def test_a_post_without_its_csrf_token_is_refused_with_the_error_page_and_changes_nothing(
        app: Flask, received: list[str]) -> None:
    client = app.test_client()
    client.get("/test-form")

    response = client.post("/test-form", data={})

    assert response.status_code == 400
    assert "Your page expired" in response.get_data(as_text=True)
    assert received == []


def test_a_post_with_a_forged_csrf_token_is_refused(app: Flask, received: list[str]) -> None:
    client = app.test_client()
    client.get("/test-form")

    response = client.post("/test-form", data={"csrf_token": "forged"})

    assert (response.status_code, received) == (400, [])


def test_a_post_with_the_token_of_another_session_is_refused(app: Flask, received: list[str]) -> None:
    other_token = _token(app.test_client().get("/test-form").get_data(as_text=True))
    client = app.test_client()
    client.get("/test-form")

    response = client.post("/test-form", data={"csrf_token": other_token})

    assert (response.status_code, received) == (400, [])


def test_a_post_with_its_csrf_token_is_accepted(app: Flask, received: list[str]) -> None:
    client = app.test_client()
    token = _token(client.get("/test-form").get_data(as_text=True))

    response = client.post("/test-form", data={"csrf_token": token})

    assert (response.status_code, received) == (302, ["posted"])


def test_an_unknown_page_shows_the_not_found_page(app: Flask) -> None:
    response = app.test_client().get("/no-such-page")
    html = response.get_data(as_text=True)

    assert response.status_code == 404
    assert "<h1 class=\"govuk-heading-l\">Page not found</h1>" in html
    assert 'href="/accessibility"' in html


def test_a_wrong_method_shows_the_method_page(app: Flask) -> None:
    response = app.test_client().post("/accessibility")

    assert response.status_code == 405
    assert "This page cannot be used that way" in response.get_data(as_text=True)


def test_an_unhandled_error_shows_the_service_problem_page_without_a_traceback(
        app: Flask, caplog: pytest.LogCaptureFixture) -> None:
    response = app.test_client().get("/test-crash")
    html = response.get_data(as_text=True)

    assert response.status_code == 500
    assert "Sorry, there is a problem with the service" in html
    assert ("Traceback" not in html, "secret internals" not in html, "RuntimeError" not in html) == (True, True, True)
    assert "secret internals" in caplog.text  # the team running the service still learns what broke
    assert response.headers["Content-Security-Policy"].startswith("default-src 'self'")


@pytest.mark.parametrize("path", ["/", "/accessibility", "/health", "/no-such-page"])
def test_a_page_without_a_form_sets_no_cookie(app: Flask, path: str) -> None:
    response = app.test_client().get(path)

    assert response.headers.getlist("Set-Cookie") == []


def test_a_form_page_sets_only_the_session_cookie_secure_httponly_and_samesite(app: Flask) -> None:
    response = app.test_client().get("/test-form")

    cookies = response.headers.getlist("Set-Cookie")
    assert len(cookies) == 1
    name, _, attributes = cookies[0].partition("=")
    flags = {part.strip().split("=")[0].lower(): part.strip() for part in attributes.split(";")[1:]}
    assert name == "__Host-auditcycle"
    assert (set(flags) >= {"secure", "httponly", "samesite", "path"}, flags["samesite"], flags["path"]) == (
        True, "SameSite=Lax", "Path=/")
    assert "domain" not in flags


def test_cookies_can_be_sent_over_plain_http_only_when_the_setting_says() -> None:
    app = create_app(web_settings(web_cookie_secure=False))

    app.add_url_rule("/f", view_func=generate_csrf)
    cookie = app.test_client().get("/f").headers["Set-Cookie"]

    assert cookie.startswith("auditcycle=")
    assert "Secure" not in cookie


def test_health_answers_ok_in_plain_text(app: Flask) -> None:
    response = app.test_client().get("/health")

    assert (response.status_code, response.mimetype, response.get_data(as_text=True)) == (200, "text/plain", "ok")


def test_the_accessibility_statement_names_the_standard_the_mailbox_and_the_enforcement_procedure(app: Flask) -> None:
    html = app.test_client().get("/accessibility").get_data(as_text=True)

    assert "Web Content Accessibility Guidelines version 2.2 AA" in html
    assert 'href="mailto:qa-team@council.example"' in html
    assert "Equality and Human Rights Commission (EHRC) is responsible for enforcing" in html


def test_the_layout_has_the_service_name_english_gb_a_skip_link_and_no_crown(app: Flask) -> None:
    html = app.test_client().get("/").get_data(as_text=True)

    assert '<html lang="en-GB"' in html
    assert '<a href="#main-content" class="govuk-skip-link"' in html
    assert "<title>Act from the link in your email – Case audit – Testshire Council</title>" in html
    assert ("crown" in html.lower(), "govuk-logo" in html, "GOV.UK" in html) == (False, False, False)


def test_the_shipped_assets_hold_no_gov_uk_font_or_brand_image() -> None:
    from importlib.resources import files

    static = files("auditcycle.web") / "static"
    css = (static / "govuk-frontend.min.css").read_text(encoding="utf-8")

    assert sorted(p.name for p in static.iterdir()) == [
        "GOVUK_FRONTEND_VERSION", "app.css", "govuk-frontend.min.css", "govuk-frontend.min.js", "init.js",
        "progress.js"]
    assert ("@font-face" in css, "GDS Transport" in css) == (False, False)


def test_the_app_refuses_to_start_without_a_secret_key_outside_a_simulation() -> None:
    with pytest.raises(NoSecretKey, match="web_secret_key is not set.*AUDITCYCLE_WEB_SECRET_KEY"):
        create_app(web_settings(web_secret_key=None))


def test_a_simulation_starts_without_a_secret_key_with_a_throwaway_one() -> None:
    first = create_app(web_settings(web_secret_key=None, simulation=True))
    second = create_app(web_settings(web_secret_key=None, simulation=True))

    assert len(first.secret_key) == 64
    assert first.secret_key != second.secret_key


def test_a_short_secret_key_is_refused_naming_the_setting() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="web_secret_key"):
        web_settings(web_secret_key="short")
