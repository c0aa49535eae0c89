"""The error pages: GOV.UK style, a plain sentence and what to do, never a traceback."""
import logging

from flask import Flask, render_template
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

log = logging.getLogger(__name__)

# Each status a page can answer with: its title and what the person can do about it.
_PAGES = {
    400: ("There is a problem with your request", "Go back and try again."),
    404: ("Page not found", "If you typed the web address, check it is correct. If you followed a link from an "
                            "email, the link may have been copied incompletely: open it again from the email."),
    405: ("This page cannot be used that way", "Go back to the page you came from and try again."),
    413: ("What you sent is too large", "Go back and send less."),
    500: ("Sorry, there is a problem with the service", "Try again later. Nothing you sent has been saved."),
}


def _page(status: int, title: str, advice: str) -> tuple[str, int]:
    return render_template("error.html", status=status, title=title, advice=advice), status


def _http_error(exc: HTTPException) -> tuple[str, int]:
    status = exc.code or 500
    title, advice = _PAGES.get(status, _PAGES[400 if status < 500 else 500])
    return _page(status, title, advice)


def _csrf_error(_exc: CSRFError) -> tuple[str, int]:
    return _page(400, "Your page expired", "For your security, a form stops working after a while or when it "
                 "was opened in another browser. Go back, reload the page and try again: nothing has been saved.")


def _server_error(exc: InternalServerError) -> tuple[str, int]:
    # The traceback goes to the log for the team who run the service, never to the page.
    log.error("unhandled error", exc_info=exc.original_exception or exc)
    return _page(500, *_PAGES[500])


def init_app(app: Flask) -> None:
    """Answer every HTTP error, a refused CSRF token and any unhandled exception with a GOV.UK error page."""
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(InternalServerError, _server_error)
    app.register_error_handler(HTTPException, _http_error)
