"""Every POST the console answers, found from the app's own routes, refuses a request without its CSRF token or
with a forged one, for a signed-in QA manager, and changes nothing: a page added later is covered by itself."""
import re
from collections.abc import Iterator

import pytest
from console_world import NOW, build_world
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from web_app import SECRET

from auditcycle.console.sessions import start_session
from auditcycle.core.context import build_context
from auditcycle.models import DrawRequest, Event, OutboxMessage, ReportEdition, StaffSession, TrailEntry
from auditcycle.web import create_app
from auditcycle.web.journeys.sign_in import SESSION_KEY

# A value for each kind of path argument: the refusal comes before any record is looked up.
SAMPLES = {"reference": "A-2026-12-001", "message_id": "1", "month": "2026-12", "number": "1", "kind": "pdf",
           "request_ref": "REQ-1", "tab": "audits"}


@pytest.fixture
def app(authority, db_url: str, settings) -> Iterator[Flask]:
    """The web app on the seeded authority, at the world's clock, with CSRF protection as in production."""
    shared = type(settings)(**{**settings.model_dump(), "database_url": db_url, "base_url": "http://localhost",
                               "web_secret_key": SECRET, "web_cookie_secure": False, "simulation": True})
    web = create_app(shared)
    web.config["AUDITCYCLE_CLOCK"] = lambda: NOW
    yield web


def _console_posts(app: Flask) -> list[str]:
    paths = []
    for rule in app.url_map.iter_rules():
        if "POST" in (rule.methods or ()) and (rule.endpoint.startswith("console.")):
            path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", lambda m: SAMPLES.get(m.group(1), "x"), rule.rule)
            paths.append(path)
    return sorted(paths)


def _state(s: Session) -> tuple:
    found = tuple(s.scalar(select(func.count()).select_from(model))
                  for model in (Event, TrailEntry, OutboxMessage, DrawRequest, ReportEdition, StaffSession))
    s.commit()
    return found


def test_every_console_post_refuses_a_missing_or_forged_csrf_token_and_changes_nothing(s: Session, app: Flask) -> None:
    world = build_world(s, app.config["AUDITCYCLE_SETTINGS"])
    client = app.test_client()
    token = start_session(s, build_context(NOW, settings=app.config["AUDITCYCLE_SETTINGS"]),
                          staff_id=world.people["qa_manager"], method="link")
    s.commit()
    with client.session_transaction() as cookie:
        cookie[SESSION_KEY] = token
    posts = _console_posts(app)
    assert {"/sign-out", "/console/list/approve", "/console/mail/1/retry", "/console/mail/1/resend",
            "/console/report/issue", "/console/deep-dive"} <= set(posts), posts
    before = _state(s)

    wrong = []
    for path in posts:
        for form in ({"reason": "x", "month": "2026-12"},
                     {"csrf_token": "forged.token.value", "reason": "x", "month": "2026-12"}):
            answer = client.post(path, data=form)
            if answer.status_code != 400:
                wrong.append(f"{path} {sorted(form)}: {answer.status_code}")
    assert wrong == []
    assert _state(s) == before
