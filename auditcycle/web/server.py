"""Run the web application: under gunicorn, or, asked for with debug, under Flask's development server."""
from typing import TYPE_CHECKING, Any

from flask import Flask
from werkzeug.serving import run_simple

from auditcycle.core.errors import UserError

if TYPE_CHECKING:
    from auditcycle.web.region import RegionSites


def serve(app: "Flask | RegionSites", *, host: str, port: int, workers: int = 2, debug: bool = False) -> None:
    """Serve the app on host:port until stopped: gunicorn's workers, or Flask's reloading dev server if debug."""
    if debug:
        # The reloader, but never the interactive debugger: it would show a traceback, and run code, in the browser.
        run_simple(host, port, app, use_reloader=True, use_debugger=False)
        return
    try:
        from gunicorn.app.base import BaseApplication
    except ImportError:  # gunicorn runs on Unix only
        raise UserError("gunicorn is not available here (it runs on Unix only): serve the app with another WSGI "
                        "server (auditcycle.web.wsgi:app), or try it with --debug") from None

    class _Gunicorn(BaseApplication):  # pylint: disable=abstract-method
        def load_config(self) -> None:
            # The access log leaves out the address: a signed link's token is in it, and a log is no place for one.
            options: dict[str, Any] = {"bind": f"{host}:{port}", "workers": workers, "accesslog": "-",
                                       "access_log_format": '%(h)s %(t)s "%(m)s" %(s)s %(b)s %(M)sms'}
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self) -> "Flask | RegionSites":
            return app

    _Gunicorn().run()
