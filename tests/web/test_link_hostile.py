"""Hostile use of the pages links open: scanners, replays, forged or missing CSRF tokens, tampered, expired and
withdrawn links, fields over their bounds, script in text. Each gets a clear answer and changes nothing."""
import re
from collections.abc import Iterator
from datetime import date

import pytest
from factories import open_action
from flask.testing import FlaskClient
from mail_links import labelled_link
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from web_app import SECRET

from auditcycle.actions.ladder import escalate
from auditcycle.core.context import build_context
from auditcycle.links.tokens import read_link, revoke_links
from auditcycle.models import Action, Event, Link, OutboxMessage
from auditcycle.models.enums import ActionStatus
from auditcycle.notifications.gateway import deliver
from auditcycle.web import create_app

DUE = date(2026, 12, 15)
BASE = "https://audit.council.example"
NOW = ["2026-12-14T10:00"]


@pytest.fixture
def site_settings(settings, db_url: str):
    """The cycle's and the site's settings: links under BASE, the test database, a simulation's clock."""
    return type(settings)(**{**settings.model_dump(), "database_url": db_url, "base_url": BASE,
                             "web_secret_key": SECRET, "simulation": True})


@pytest.fixture
def client(site_settings) -> Iterator[FlaskClient]:
    """A test client of the site, HTTPS as in production, its clock at NOW."""
    app = create_app(site_settings)
    NOW[0] = "2026-12-14T10:00"
    app.config["AUDITCYCLE_CLOCK"] = lambda: NOW[0]
    with app.test_client() as test_client:
        yield test_client


@pytest.fixture
def link(s: Session, authority, site_settings, smtp_server) -> str:
    """The path of the owner's 'record it as done' link, from the reminder they received."""
    action = open_action(s, authority, site_settings, due=DUE, description="Update <b>Z.</b>'s chronology")
    escalate(s, build_context("2026-12-11T09:00", settings=site_settings))
    s.commit()
    smtp_server.received.clear()
    deliver(engine=authority, settings=site_settings)
    owner_email = action.owner.email
    s.commit()
    [reminder] = [r.message for r in smtp_server.received if r.rcpt_tos == [owner_email]]
    return labelled_link(reminder, "Record it as done").removeprefix(BASE)


def _state(s: Session) -> tuple:
    """Everything an act could change."""
    s.expire_all()
    state = (tuple(s.execute(select(Action.status, Action.completed_by_id, Action.completed_at))),
             tuple(s.execute(select(Link.id, Link.used_at, Link.revoked_at))),
             s.scalar(select(func.count()).select_from(OutboxMessage)),
             s.scalar(select(func.count()).select_from(Event)))
    s.commit()
    return state


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)


def _text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))


def test_a_scanners_get_and_head_change_nothing(s, client: FlaskClient, link: str) -> None:
    before = _state(s)

    answers = [client.get(link).status_code, client.head(link).status_code, client.get(link).status_code]

    assert answers == [200, 200, 200]
    assert _state(s) == before


def test_a_post_without_or_with_a_wrong_csrf_token_is_refused_and_changes_nothing(s, client, link) -> None:
    before = _state(s)
    client.get(link)

    missing = client.post(link, data={"note": "done"})
    wrong = client.post(link, data={"note": "done", "csrf_token": "not-the-token"})

    assert (missing.status_code, wrong.status_code) == (400, 400)
    assert "Your page expired" in _text(missing) and "nothing has been saved" in _text(wrong)
    assert _state(s) == before


def test_a_replayed_post_says_who_did_it_and_when_and_changes_nothing(s, client, link) -> None:
    token = _csrf(client.get(link).get_data(as_text=True))
    first = client.post(link, data={"note": "done", "csrf_token": token})
    after_first = _state(s)

    replay = client.post(link, data={"note": "done again", "csrf_token": token})

    assert first.status_code == 303
    assert replay.status_code == 200 and "already done by" in _text(replay) and "10:00 on Monday 14 December 2026" in _text(replay)
    assert _state(s) == after_first


@pytest.mark.parametrize("change", ["cut short", "one character changed", "another record named"])
def test_a_tampered_link_shows_a_clear_page_and_changes_nothing(s, client, link, change: str) -> None:
    token = link.removeprefix("/act/")
    body, signature = token.rsplit(".", 1)
    forged = {"cut short": token[:-5],
              "one character changed": body + "." + ("A" if signature[0] != "A" else "B") + signature[1:],
              "another record named": body.replace(body[10], "x" if body[10] != "x" else "y") + "." + signature}[change]
    before = _state(s)

    shown = client.get(f"/act/{forged}")
    posted = client.post(f"/act/{forged}", data={"note": "x"})

    assert shown.status_code == 404 and "This link does not work" in _text(shown)
    assert "Traceback" not in _text(shown) and posted.status_code in (400, 404)
    assert _state(s) == before


def test_an_expired_link_offers_a_fresh_one_mailed_once(s, client, link, authority, site_settings,
                                                        smtp_server) -> None:
    NOW[0] = "2027-01-30T10:00"  # past the link's expiry: 5 working days after the due date, and 14 days
    before = _state(s)

    page = client.get(link)
    again = client.post(link, data={"note": "late", "csrf_token": _csrf(page.get_data(as_text=True))})
    assert page.status_code == 410 and "This link has expired" in _text(page) and "Email me a new link" in _text(page)
    assert again.status_code == 410 and _state(s)[0] == before[0]

    token = _csrf(page.get_data(as_text=True))
    sent = client.post(link + "/fresh", data={"csrf_token": token})
    twice = client.post(link + "/fresh", data={"csrf_token": token})
    smtp_server.received.clear()
    deliver(engine=authority, settings=site_settings)

    assert sent.status_code == 200 and "We have emailed you a new link" in _text(sent)
    assert "A newer link for this was mailed to you" in _text(twice)
    [fresh] = [r.message for r in smtp_server.received]
    assert fresh["Subject"].startswith("Your new link to record action ")
    new_link = labelled_link(fresh, "Open the page").removeprefix(BASE)
    assert client.get(new_link).status_code == 200
    assert "A newer link" in _text(client.get(link))


def test_a_withdrawn_link_says_why_and_a_leavers_offers_no_fresh_link(s, client, link, site_settings) -> None:
    row = read_link(s, build_context("2026-12-12T09:00", settings=site_settings), link.removeprefix("/act/"))
    revoke_links(s, build_context("2026-12-12T09:00", settings=site_settings), staff_id=row.staff_id,
                 reason="left the council")
    row.staff.active = False
    s.commit()

    page = client.get(link)

    assert page.status_code == 410 and "left the council" in _text(page)
    assert "Email me a new link" not in _text(page)


def test_a_note_over_its_bound_is_refused_beside_the_field_and_nothing_changes(s, client, link) -> None:
    before = _state(s)
    token = _csrf(client.get(link).get_data(as_text=True))

    refused = client.post(link, data={"note": "x" * 2001, "csrf_token": token})

    assert refused.status_code == 400
    assert "There is a problem" in _text(refused) and "2000" in _text(refused)
    assert _state(s) == before


def test_html_and_script_typed_into_a_field_are_shown_escaped(s, client, link) -> None:
    token = _csrf(client.get(link).get_data(as_text=True))

    refused = client.post(link, data={"note": "<script>alert(1)</script>" + "x" * 2000, "csrf_token": token})
    page = client.get(link).get_data(as_text=True)

    assert "<script>alert(1)</script>" not in refused.get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in refused.get_data(as_text=True)
    # The action's own text, typed by an auditor with markup in it, is shown as text.
    assert "Update &lt;b&gt;Z.&lt;/b&gt;&#39;s chronology" in page or "Update &lt;b&gt;Z.&lt;/b&gt;'s chronology" in page
    assert s.scalar(select(Action.status)) == ActionStatus.OPEN
