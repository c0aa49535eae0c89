"""A region's web front end: one site per council, each at its own base_url, each request run for its council.

Each council's application is built from that council's settings alone (its database, secret key, cookie,
branding and sign-in issuer), so a session or a signed link of one council means nothing on another's site.
Requests reach a council's site by the host and path of its base_url; any other host is not found.
"""
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

from flask import Flask
from werkzeug.exceptions import NotFound

from auditcycle.core.region import council_settings, council_slugs, for_council

WsgiApp = Callable[[dict, Callable], Iterable[bytes]]
DEFAULT_PORTS = {"http": 80, "https": 443}


def for_council_site(wsgi_app: WsgiApp, council: str) -> WsgiApp:
    """Wrap a council's WSGI application so that each of its requests runs for that council."""

    def run(environ: dict, start_response: Callable) -> Iterable[bytes]:
        with for_council(council):
            return wsgi_app(environ, start_response)

    return run


def _site(base_url: str) -> tuple[str, str]:
    """Return (host[:port], path prefix) of a base_url, the port left out when it is the scheme's default."""
    parts = urlsplit(base_url)
    port = parts.port if parts.port not in (None, DEFAULT_PORTS.get(parts.scheme)) else None
    host = (parts.hostname or "").lower() + (f":{port}" if port else "")
    return host, parts.path.rstrip("/")


class RegionSites:
    """A WSGI application that hands each request to the council whose base_url its host and path are under."""

    def __init__(self, sites: dict[str, tuple[str, Flask]]) -> None:
        # Longest prefix first, so /north-east is never taken for /north.
        self._sites = sorted(((*_site(base), slug, app) for slug, (base, app) in sites.items()),
                             key=lambda site: -len(site[1]))
        self.apps = {slug: app for slug, (_, app) in sites.items()}

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        """Serve the request on its council's site, or answer 404 for a host and path no council has."""
        scheme = environ.get("wsgi.url_scheme", "http")
        host, _, port = (environ.get("HTTP_HOST") or environ.get("SERVER_NAME", "")).lower().partition(":")
        if port and port != str(DEFAULT_PORTS.get(scheme)):
            host = f"{host}:{port}"
        path = environ.get("PATH_INFO", "")
        for site_host, prefix, _, app in self._sites:
            if site_host == host and (path == prefix or path.startswith(prefix + "/")):
                environ = {**environ, "SCRIPT_NAME": environ.get("SCRIPT_NAME", "") + prefix,
                           "PATH_INFO": path[len(prefix):]}
                return app(environ, start_response)
        return NotFound()(environ, start_response)


def create_region_app() -> RegionSites:
    """Build every council's site from its own settings, served together by host and path of their base_url."""
    from auditcycle.web import create_app

    sites = {}
    for slug in council_slugs():
        settings = council_settings(slug)
        sites[slug] = (settings.base_url, create_app(settings, council=slug))
    return RegionSites(sites)
