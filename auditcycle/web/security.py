"""What every response carries: the security headers, a strict Content-Security-Policy with a per-request nonce."""
import logging
import re
import secrets

from flask import Flask, Response, g

from auditcycle.core.errors import UserError
from auditcycle.core.settings import Settings

log = logging.getLogger(__name__)


class NoSecretKey(UserError):
    """The web application has no key to sign its cookies with, outside a simulation."""


def secret_key(settings: Settings) -> str:
    """Return the key that signs the session cookie; a simulation without one gets a throwaway key."""
    if settings.web_secret_key is not None:
        return settings.web_secret_key.get_secret_value()
    if settings.simulation:
        # A demo's sessions need not outlive the process, so nothing has to be configured to try it.
        log.warning("web_secret_key is unset: a simulation, so this process signs its cookies with a throwaway key")
        return secrets.token_hex(32)
    raise NoSecretKey(
        "web_secret_key is not set: the web application needs a key of at least 32 characters to sign its "
        "cookies. Set AUDITCYCLE_WEB_SECRET_KEY (or web_secret_key in auditcycle.toml), for example to the "
        "output of: python -c \"import secrets; print(secrets.token_hex(32))\"")


def session_cookie_name(settings: Settings, council: str | None = None) -> str:
    """Name the session cookie; over HTTPS with the __Host- prefix, so no subdomain can set or read it.

    In a region each council's cookie carries its slug, so councils sharing a host never read each other's.
    """
    name = "auditcycle" if council is None else f"auditcycle-{council}"
    return f"__Host-{name}" if settings.web_cookie_secure else name


def content_security_policy(nonce: str) -> str:
    """Return the Content-Security-Policy: this site's own files only, inline script only with the nonce."""
    # GOV.UK Frontend's template runs one inline script (the js-enabled body class); the nonce lets that one through.
    return "; ".join((
        "default-src 'self'",
        f"script-src 'self' 'nonce-{nonce}'",
        "style-src 'self'",
        "img-src 'self'",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "form-action 'self'",
    ))


def _make_nonce() -> None:
    g.csp_nonce = secrets.token_urlsafe(18)


def _nonce() -> dict[str, str]:
    # An error raised before the request's first hook still renders a page, so make the nonce here if need be.
    if "csp_nonce" not in g:
        _make_nonce()
    return {"cspNonce": g.csp_nonce}


def _add_headers(response: Response) -> Response:
    # A document served as it is mailed (the report's preview) brings its own policy, as strict for its needs.
    response.headers.setdefault("Content-Security-Policy", content_security_policy(_nonce()["cspNonce"]))
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
    response.headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=(), interest-cohort=()"
    # A signed link is in the address of the page it opens: no shared cache may keep a page.
    response.headers.setdefault("Cache-Control", "no-store")
    return response


_TOKEN_IN_PATH = re.compile(r"/act/[^/\s?\"']+")


class WithoutTokens(logging.Filter):
    """Blank the token of any signed link in a log line: a token in a log is a key anyone reading it could use."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record's message with each /act/<token> as /act/[token]; keep the record."""
        message = record.getMessage()
        if "/act/" in message:
            record.msg, record.args = _TOKEN_IN_PATH.sub("/act/[token]", message), None
        return True


def _log_exception(app: Flask):
    def log_exception(exc_info) -> None:  # noqa: ANN001
        # Flask's own says "Exception on <path>", and the path of a link's page is its token.
        app.logger.error("unhandled exception", exc_info=exc_info)
    return log_exception


def init_app(app: Flask) -> None:
    """Give every request its nonce and every response the security headers; keep tokens out of the logs."""
    for name in ("werkzeug", "gunicorn.access", "gunicorn.error", app.logger.name):
        logger = logging.getLogger(name)
        if not any(isinstance(f, WithoutTokens) for f in logger.filters):
            logger.addFilter(WithoutTokens())
    app.log_exception = _log_exception(app)
    app.before_request(_make_nonce)
    app.context_processor(_nonce)
    app.after_request(_add_headers)
