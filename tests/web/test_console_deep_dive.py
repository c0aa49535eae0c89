"""The console's deep dive and dip sample, in Chromium: a QA manager asks for one on the form, is told what breaks the
framework's rules with nothing stored, then watches a good one run beside the web application to the end, its
notices reaching the mail server; a second POST of the same form stores and draws nothing; a run whose requester has
left is refused, whoever starts it; someone outside the QA team cannot ask for one; and where a Prefect server is
configured the run is a deployment run given the reference alone."""
import re
from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from web_live import LiveSite, check_page, keep_screens, sign_in_to_console, tab_to

from auditcycle.console.deep_dive import ask
from auditcycle.core.context import build_context
from auditcycle.core.errors import PermissionDenied
from auditcycle.flows.adhoc import runs_beside
from auditcycle.models import Audit, AuditCycle, DrawRequest, PhaseRun, Staff, TrailEntry
from auditcycle.models.enums import Cohort, CycleKind, Role
from auditcycle.runs.leases import acquire, release
from auditcycle.sampling.requests import Asked

NOW = "2026-11-23T09:00"  # a Monday; the due dates allowed run to Monday 21 December 2026
PREFECT_API = "AUDITCYCLE_PREFECT_API_URL"
FORM = "form[action='/console/deep-dive']"
FINISHED_WITHIN_MS = 180_000
OTHER_RUN = "flow-run-elsewhere@another-host:1"


@pytest.fixture
def beside(site: LiveSite, smtp_env) -> Iterator[LiveSite]:
    """The site with no Prefect server: runs go in a thread beside it, sending mail to the test's SMTP server."""
    site.app.config[PREFECT_API] = None  # even while another test's Prefect server is up in this process
    yield site
    for thread in runs_beside():
        thread.join(FINISHED_WITHIN_MS / 1000)


def _staff(s: Session, role: Role) -> Staff:
    return s.scalars(select(Staff).where(Staff.role == role, Staff.active).order_by(Staff.id)).first()


def _on_the_form(page: Page, site: LiveSite, s: Session, authority, smtp_server, role: Role,
                 now: str = NOW) -> str:
    """Sign a member of the QA team with this role in and open the form; return their staff id."""
    staff_id = _staff(s, role).id
    s.commit()
    sign_in_to_console(page, site, s, authority, smtp_server, staff_id, now)
    page.goto(f"{site.url}/console/deep-dive")
    return staff_id


def _requests(s: Session) -> int:
    count = s.scalar(select(func.count()).select_from(DrawRequest))
    s.commit()
    return count


def _fill(page: Page, *, theme: str = "", size: str = "3", due: tuple[str, str, str] = ("4", "12", "2026"),
          kind: str = "A deep dive") -> None:
    page.get_by_label(kind).check()
    page.get_by_label("Theme").fill(theme)
    page.get_by_label("How many audits?").fill(size)
    for box, value in zip(("Day", "Month", "Year"), due, strict=True):
        page.get_by_label(box, exact=True).fill(value)


def _send(page: Page) -> None:
    """Press the form's button and wait for the page the POST answers with."""
    with page.expect_navigation():
        page.get_by_role("button", name="Ask for it and start").click()


def _errors(page: Page) -> tuple[str, dict[str, str]]:
    """Return the error summary's text and the message beside each field, by the field's id."""
    beside = {el.get_attribute("id").removesuffix("-error"): el.inner_text().removeprefix("Error:").strip()
              for el in page.locator(".govuk-error-message").all()}
    return page.locator(".govuk-error-summary").inner_text(), beside


def _form_data(page: Page) -> str:
    """Return the form as the browser would send it (its CSRF token and one-time key among the fields)."""
    return page.evaluate(f"new URLSearchParams(new FormData(document.querySelector(\"{FORM}\"))).toString()")


def test_a_qa_manager_asks_for_a_deep_dive_and_watches_it_run_to_the_end(
        s: Session, authority, beside: LiveSite, smtp_server, page: Page, caplog) -> None:
    site = beside
    manager = _staff(s, Role.QA_MANAGER)
    manager_id = manager.id
    s.commit()
    sign_in_to_console(page, site, s, authority, smtp_server, manager_id, NOW)
    screens: list[tuple[str, bytes]] = []

    page.get_by_role("link", name="Deep dive").click()
    check_page(page, "console-deep-dive", screens)
    _fill(page, due=("28", "11", "2026"))
    _send(page)
    summary, fields = _errors(page)
    check_page(page, "console-deep-dive-errors", screens)

    assert page.title().startswith("Error: ") and page.url == f"{site.url}/console/deep-dive"
    assert fields == {
        "theme": "Enter the theme: what the sample looks at",
        "due": "The due date, Saturday 28 November 2026, is not a working day: choose a working day after today, "
               "Monday 23 November 2026, and no later than Monday 21 December 2026"}
    assert all(message in summary for message in fields.values())
    assert page.locator(".govuk-error-summary a[href='#due-day']").count() == 1
    assert _requests(s) == 0

    for due, message in [(("20", "11", "2026"), "The due date is in the past"),
                         (("22", "12", "2026"), "The due date is more than 20 working days ahead"),
                         (("31", "11", "2026"), "Enter the due date as a real date, with a day, month and year")]:
        _fill(page, theme="Neglect in child protection plans", due=due)
        _send(page)
        assert _errors(page)[1]["due"].startswith(message)
        assert page.get_by_label("Theme").input_value() == "Neglect in child protection plans"  # kept as typed
    assert _requests(s) == 0

    # Another deep dive's run holds the phase for now: this one waits its turn, and its page shows that.
    acquire("deep-dive", OTHER_RUN, timedelta(minutes=10), engine=authority)
    _fill(page, theme="Neglect in child protection plans")
    page.get_by_label("Cohort").select_option(label="Child protection")
    page.get_by_label("Why is it being called? (optional)").fill("A rise in repeat plans since the summer.")
    _send(page)
    assert re.fullmatch(rf"{site.url}/console/deep-dive/REQ-\d+", page.url), page.url  # the reference alone
    expect(page.get_by_role("status")).to_contain_text(
        "Waiting to start Another deep dive is running: this one starts when it finishes.")
    check_page(page, "console-deep-dive-waiting", screens)
    page.evaluate("window.stayed = true")
    release("deep-dive", OTHER_RUN, engine=authority)

    # Kept up to date in place (its status line a live region), never reloaded.
    expect(page.get_by_role("status")).to_contain_text("Finished", timeout=FINISHED_WITHIN_MS)
    assert page.evaluate("window.stayed === true")
    shown = page.locator("main").inner_text()
    check_page(page, "console-deep-dive-finished", screens)

    request = s.scalars(select(DrawRequest)).one()
    cycle = s.get(AuditCycle, request.cycle_id)
    audits = list(s.scalars(select(Audit).where(Audit.cycle_id == cycle.id).order_by(Audit.id)))
    run = s.scalars(select(PhaseRun).where(PhaseRun.request_id == request.id)).one()
    actors = set(s.scalars(select(TrailEntry.actor).where(TrailEntry.entity.in_(["draw_request", "audit_cycle",
                                                                                  "audit"]))))
    auditors = {a.auditor.email for a in audits}
    s.commit()
    assert page.url.endswith(f"/console/deep-dive/REQ-{request.id}")
    assert (request.requested_by_id, request.cohort, request.form_key is not None) == (
        manager_id, Cohort.CHILD_PROTECTION, True)
    assert (cycle.reference, len(audits), run.status.value) == ("DD-2026-12-01", 3, "succeeded")
    assert actors == {manager_id}
    assert all(a.reference in shown and a.child_id in shown for a in audits)
    assert f"Drawn\t3 audits\nNotices queued\t{run.summary['queued']} messages\n" in shown
    assert f"Meetings booked\t{run.summary['booked']}\n" in shown and run.summary["booked"] > 0
    assert f"Mail delivered\t{run.summary['delivery']['sent']} sent, 0 to retry, 0 held, 0 failed" in shown
    received = {address for r in smtp_server.received for address in r.rcpt_tos}
    assert auditors <= received
    assert any("DD-2026-12-01-001" in r.message.as_string() for r in smtp_server.received)
    # The theme and reason stay on the page and in the database: no address or log line carries them.
    assert "GET /console/deep-dive/REQ-" in caplog.text  # the log the scan reads is the site's
    assert "Neglect" not in caplog.text and "repeat plans" not in caplog.text
    keep_screens(screens)


def test_a_dip_sample_asked_for_by_keyboard_alone_grades_its_focus_domains(
        s: Session, authority, beside: LiveSite, smtp_server, page: Page) -> None:
    site = beside
    pim_id = _on_the_form(page, site, s, authority, smtp_server, Role.PRACTICE_IMPROVEMENT_MANAGER)
    screens: list[tuple[str, bytes]] = []

    tab_to(page, element_id="kind")  # the radios are one stop: the arrow moves to, and chooses, "A dip sample"
    page.keyboard.press("ArrowDown")
    tab_to(page, element_id="theme")
    page.keyboard.type("Direct work with teenagers")
    tab_to(page, element_id="size")
    page.keyboard.type("2")
    for box, value in (("due-day", "4"), ("due-month", "12"), ("due-year", "2026")):
        tab_to(page, element_id=box)
        page.keyboard.type(value)
    tab_to(page, element_id="domains")  # the first focus domain
    page.keyboard.press("Space")
    check_page(page, "console-dip-sample-keyboard", screens)
    tab_to(page, text="Ask for it and start")
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("Finished", timeout=FINISHED_WITHIN_MS)

    request = s.scalars(select(DrawRequest)).one()
    cycle = s.get(AuditCycle, request.cycle_id)
    s.commit()
    first_domain = next(iter(site.settings.framework.domains))
    assert (request.kind.value, request.domains, request.requested_by_id) == ("dip_sample", first_domain, pim_id)
    assert (cycle.reference, cycle.focus_domains) == ("DS-2026-12-01", first_domain)
    assert site.settings.framework.domains[first_domain] in page.locator("main").inner_text()
    keep_screens(screens)


def test_a_double_sent_and_a_replayed_form_store_one_request_and_draw_once(
        s: Session, authority, beside: LiveSite, smtp_server, page: Page) -> None:
    site = beside
    _on_the_form(page, site, s, authority, smtp_server, Role.QA_MANAGER)
    _fill(page, theme="Neglect in child protection plans")
    sent = _form_data(page)

    # A double click that got past the button's own guard: the same form, twice at once.
    statuses = page.evaluate("""async (body) => {
        const post = () => fetch("/console/deep-dive", {method: "POST", body,
            headers: {"Content-Type": "application/x-www-form-urlencoded"}});
        return (await Promise.all([post(), post()])).map(r => [r.status, r.url]);
    }""", sent)
    [first_url] = {url for _, url in statuses}
    page.goto(first_url)
    expect(page.get_by_role("status")).to_contain_text("Finished", timeout=FINISHED_WITHIN_MS)
    # Much later, the same form replayed (the browser's history, a proxy retrying).
    replayed = page.request.post(f"{site.url}/console/deep-dive", data=sent,
                                 headers={"Content-Type": "application/x-www-form-urlencoded"})

    assert [status for status, _ in statuses] == [200, 200] and re.search(r"/REQ-\d+$", first_url)
    assert replayed.status == 200 and replayed.url == first_url
    assert _requests(s) == 1
    assert s.scalar(select(func.count()).select_from(AuditCycle)) == 1
    assert s.scalar(select(func.count()).select_from(Audit)) == 3
    assert s.scalar(select(func.count()).select_from(PhaseRun).where(PhaseRun.phase == "deep-dive")) == 1
    s.commit()


def test_a_run_whose_requester_has_left_the_qa_team_fails_saying_why_even_started_again_by_another(
        s: Session, authority, beside: LiveSite, smtp_server, page: Page) -> None:
    site = beside
    manager_id = _on_the_form(page, site, s, authority, smtp_server, Role.QA_MANAGER)
    acquire("deep-dive", OTHER_RUN, timedelta(minutes=10), engine=authority)  # it waits, while its requester...
    _fill(page, theme="Neglect in child protection plans")
    _send(page)
    progress_page = page.url
    s.get(Staff, manager_id).active = False  # ...leaves the council (their session ends with it)
    s.commit()
    other = page.context.browser.new_context().new_page()
    _on_the_form(other, site, s, authority, smtp_server, Role.PRACTICE_IMPROVEMENT_MANAGER, "2026-11-23T09:05")
    other.goto(progress_page)
    release("deep-dive", OTHER_RUN, engine=authority)
    expect(other.get_by_role("status")).to_contain_text("Failed", timeout=FINISHED_WITHIN_MS)
    reference = progress_page.rsplit("/", 1)[1]
    refusal = (f"{reference} was asked for by {manager_id}, who has left and is no longer in the QA team, so it is "
               "not run: only the QA team may draw a deep dive. Ask a member of the QA team to ask for it again.")
    assert refusal in other.locator("main").inner_text()

    # Another member of the QA team starts it again: it is still the requester's, so it is refused again.
    with other.expect_navigation():  # the POST has started its run before the threads are read
        other.get_by_role("button", name="Start it again").click()
    for thread in runs_beside():
        thread.join(FINISHED_WITHIN_MS / 1000)
    other.reload()

    assert refusal in other.locator("main").inner_text()
    runs = list(s.scalars(select(PhaseRun.status).where(PhaseRun.phase == "deep-dive")))
    assert [r.value for r in runs] == ["failed", "failed"]
    assert s.scalar(select(func.count()).select_from(AuditCycle)) == 0
    s.commit()


def test_someone_outside_the_qa_team_cannot_ask_for_one(
        s: Session, authority, beside: LiveSite, smtp_server, page: Page) -> None:
    site = beside
    manager = _staff(s, Role.TEAM_MANAGER)
    manager_id, team = manager.id, manager.team.name
    s.commit()
    # A team manager signs in to the console for the tracker; the deep dive is not theirs to ask for.
    sign_in_to_console(page, site, s, authority, smtp_server, manager_id, NOW, lands="/console/tracker")
    shown = page.goto(f"{site.url}/console/deep-dive")
    token = page.locator("form[action='/sign-out'] input[name=csrf_token]").input_value()
    form = {"csrf_token": token, "once": "0" * 32, "kind": "deep_dive", "theme": "Neglect", "team": team,
            "size": "3", "due": ["4", "12", "2026"]}
    body = "&".join(f"{k}={v}" for k, values in form.items()
                    for v in (values if isinstance(values, list) else [values]))

    refused = page.request.post(f"{site.url}/console/deep-dive", data=body,
                                headers={"Content-Type": "application/x-www-form-urlencoded"})

    assert shown.status == 403 and "Deep dive" not in page.get_by_role("navigation").first.inner_text()
    assert refused.status == 403 and "You cannot open this page" in refused.text()
    assert _requests(s) == 0
    # Past the page, the change itself is refused too: the request's own check of who may ask.
    with pytest.raises(PermissionDenied, match=f"{manager_id} \\(team manager\\) may not deep-dive"):
        ask(s, build_context(NOW, settings=site.settings), by=manager_id, form_key="1" * 32, asked=Asked(
            kind=CycleKind.DEEP_DIVE, theme="Neglect", size=3, due=date(2026, 12, 4)))
    s.rollback()
    assert _requests(s) == 0


def test_the_deep_dive_pages_need_a_signed_in_qa_member(s: Session, authority, beside: LiveSite, page: Page) -> None:
    site = beside
    for address in ("/console/deep-dive", "/console/deep-dive/REQ-1"):
        page.goto(f"{site.url}{address}")
        assert page.url.endswith("/sign-in")
    response = page.request.post(f"{site.url}/console/deep-dive", form={"kind": "deep_dive", "theme": "Neglect"})
    assert response.status == 400  # no form token without a session: refused before anything is read
    assert _requests(s) == 0


def test_with_a_prefect_server_the_run_is_a_deployment_run_given_only_the_reference(
        s: Session, authority, site: LiveSite, smtp_env, prefect_harness, page: Page) -> None:
    import prefect.settings
    from prefect.client.orchestration import get_client
    from prefect.flow_engine import run_flow

    from auditcycle.flows.deep_dive import deep_dive

    with get_client(sync_client=True) as client:
        deployment_id = client.create_deployment(flow_id=client.create_flow(deep_dive), name="deep-dive")
    site.app.config[PREFECT_API] = prefect.settings.PREFECT_API_URL.value()
    manager_id = _on_the_form(page, site, s, authority, smtp_env, Role.QA_MANAGER)
    _fill(page, theme="Neglect in child protection plans")
    _send(page)
    waiting = page.get_by_role("status").inner_text()
    link = page.get_by_role("link", name="its flow run in the Prefect UI").get_attribute("href")

    request = s.scalars(select(DrawRequest)).one()
    reference, flow_run_id = f"REQ-{request.id}", request.flow_run_id
    s.commit()
    # Read by the id the request keeps: Prefect's test database is shared by the whole suite, so earlier tests'
    # runs of this deployment (for their own REQ-1) are there too.
    with get_client(sync_client=True) as client:
        created = client.read_flow_run(flow_run_id)
    assert created.deployment_id == deployment_id
    assert "Waiting to start" in waiting and "Prefect has it" in waiting
    assert (str(created.id), created.parameters) == (flow_run_id, {"request": reference})
    assert link == f"{prefect.settings.PREFECT_UI_URL.value()}/runs/flow-run/{flow_run_id}"
    assert s.scalar(select(func.count()).select_from(AuditCycle)) == 0  # nothing drawn until Prefect runs it
    s.commit()

    # What a worker does with it: the flow, given only the reference, is credited to the person who asked.
    run_flow(deep_dive, flow_run=created, parameters=created.parameters)
    page.reload()

    expect(page.get_by_role("status")).to_contain_text("Finished")
    cycle = s.scalars(select(AuditCycle)).one()
    actors = set(s.scalars(select(TrailEntry.actor).where(TrailEntry.entity.in_(["audit_cycle", "audit"]))))
    assert (cycle.created_by_id, actors) == (manager_id, {manager_id})
    s.commit()
