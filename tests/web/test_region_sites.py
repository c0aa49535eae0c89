"""A region's sites: each council at its own address, with its own cookie and key; one council's session and
signed links are refused on another's site."""
import re
from pathlib import Path

import pytest
from conftest import QA_MANAGER
from mail_links import labelled_link
from region_world import BASES, NORTH, SOUTH, council_values, second_database, use_region, write_region
from werkzeug.test import Client

from auditcycle.console.sign_in import invite
from auditcycle.core.context import build_context
from auditcycle.core.region import council_settings, for_council
from auditcycle.notifications.gateway import deliver
from auditcycle.storage import db
from auditcycle.web.region import create_region_app

NOW = "2026-12-01T09:00"


@pytest.fixture
def sites(authority, db_url, sqlite_template, tmp_path: Path, monkeypatch, smtp_server):
    """Northshire (seeded) and Southvale (empty) served together; yield the sites and Northshire's sign-in link."""
    south_url = second_database(db_url, sqlite_template, tmp_path)
    monkeypatch.chdir(tmp_path)
    use_region(monkeypatch, write_region(tmp_path, {NORTH: council_values(NORTH, db_url, smtp_server.port),
                                                    SOUTH: council_values(SOUTH, south_url, smtp_server.port)}))
    north = council_settings(NORTH)
    with db.session_scope(authority) as s:
        invite(s, build_context(NOW, settings=north), QA_MANAGER)
    deliver(engine=authority, settings=north)
    [mail] = [r.message for r in smtp_server.received]
    region = create_region_app()
    for site in region.apps.values():
        site.config["AUDITCYCLE_CLOCK"] = lambda: NOW
    yield region, labelled_link(mail, "Sign in to the console")
    db.engine_for.cache_clear()


def _csrf(response) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', response.get_data(as_text=True)).group(1)


def _signed_in(client: Client, base: str) -> bool:
    response = client.get("/console", base_url=base)
    return response.status_code == 200 and "Signed in as" in response.get_data(as_text=True)


def test_a_councils_session_and_sign_in_link_are_refused_on_another_councils_site(sites) -> None:
    region, link = sites
    client = Client(region)
    path = link.removeprefix(BASES[NORTH])

    on_south = client.get(path, base_url=BASES[SOUTH])
    opened = client.get(path, base_url=BASES[NORTH])
    signed = client.post(path, base_url=BASES[NORTH], data={"csrf_token": _csrf(opened)},
                         headers={"Referer": link})

    assert on_south.status_code == 404  # Southvale's key never signed it, and its database has no such link
    assert signed.status_code in (302, 303)
    assert _signed_in(client, BASES[NORTH])
    cookie = client.get_cookie(f"__Host-auditcycle-{NORTH}", domain="audits.northshire.example")
    assert cookie is not None
    # Northshire's cookie, as it is and renamed to Southvale's, does not sign anyone in at Southvale.
    south = Client(region)
    south.set_cookie(cookie.key, cookie.value, domain="audits.southvale.example")
    assert not _signed_in(south, BASES[SOUTH])
    south.set_cookie(f"__Host-auditcycle-{SOUTH}", cookie.value, domain="audits.southvale.example")
    assert not _signed_in(south, BASES[SOUTH])
    assert south.get("/console", base_url=BASES[SOUTH]).status_code in (302, 303)


def test_each_councils_site_shows_its_own_name(sites) -> None:
    region, _ = sites
    client = Client(region)

    pages = {slug: client.get("/sign-in", base_url=BASES[slug]).get_data(as_text=True) for slug in (NORTH, SOUTH)}

    assert "Northshire Council" in pages[NORTH] and "Southvale Council" not in pages[NORTH]
    assert "Southvale Council" in pages[SOUTH] and "Northshire Council" not in pages[SOUTH]
    with for_council(SOUTH):
        assert council_settings().web_council_name == "Southvale Council"
