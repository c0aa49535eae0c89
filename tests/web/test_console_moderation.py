"""The console's moderation page: a month's worklist in Chromium, each audit's stage, age and deciders as the
database and `auditcycle list moderations` have them, the disputes, and the decided ones with their outcome."""
import html
from datetime import date

import pytest
from conftest import PLANTED
from forms import valid_form
from playwright.sync_api import Page
from sqlalchemy import select
from sqlalchemy.orm import Session
from web_live import LiveSite, check_page, keep_screens, sign_in_to_console

from auditcycle.core.clock import Month
from auditcycle.core.context import build_context
from auditcycle.models import Audit, AuditCycle, Moderation, OutboxItem, OutboxMessage, Staff
from auditcycle.models.enums import AuditStatus, Role
from auditcycle.moderation.panel import panel, record_moderation, select_for_moderation
from auditcycle.notices.queue import queue_notices
from auditcycle.sampling.cycle import draw, monthly_cycle
from auditcycle.submissions.submit import dispute, submit
from auditcycle.tracker.rows import TrackerKind, list_items

DEC = Month(2026, 12)
SELECTED = "2027-01-04T09:00"  # after the due date: the audits are chosen for moderation
DECIDED = "2027-01-05T10:00"
CHASED = "2027-01-07T09:00"
LOOKED = "2027-01-12T09:00"  # six working days after selection: the panel and the QA managers have been chased
# Nine submitted: a third is three, the good one, the disputed one and one at random.
GRADES = ["good", "requires_improvement", "inadequate", "requires_improvement", "inadequate", "requires_improvement",
          "inadequate", "requires_improvement", "inadequate"]
DISPUTE = f"{PLANTED['child_first']} told me the plan was never shared with her."


@pytest.fixture
def moderated(s: Session, authority, site: LiveSite, smtp_server) -> AuditCycle:
    """Nine December audits submitted, one graded good and one disputed; chosen for moderation; two decided."""
    settings = site.settings
    draw(s, build_context("2026-11-23T09:00", settings=settings), month=DEC, size=len(GRADES), seed=21)
    s.commit()
    cycle = monthly_cycle(s, DEC)
    queue_notices(s, build_context("2026-11-24T12:00", settings=settings), cycle=cycle)
    s.commit()
    audits = list(s.scalars(select(Audit).order_by(Audit.id)))
    for audit, grade in zip(audits, GRADES, strict=True):
        form = valid_form(audit.child.key_worker_id, today=date(2026, 12, 20), overall=grade, grade=grade)
        submit(s, build_context("2026-12-20T10:00", settings=settings), reference=audit.reference, data=form,
               by=audit.auditor_id)
    dispute(s, build_context("2026-12-22T10:00", settings=settings), reference=audits[1].reference,
            by=audits[1].child.key_worker_id, note=DISPUTE)
    s.commit()
    select_for_moderation(s, build_context(SELECTED, settings=settings), cycle=cycle)
    s.commit()
    member = panel(s, build_context(SELECTED, settings=settings))[0]
    ctx = build_context(DECIDED, settings=settings)
    # The good one waits for its assistant director; the disputed one the panel agrees, and it is final.
    record_moderation(s, ctx, reference=audits[0].reference, by=member.id, grade="good", domains={},
                      note="Agreed: strong direct work.")
    record_moderation(s, ctx, reference=audits[1].reference, by=member.id, grade="inadequate", domains={},
                      note="Changed: the plan was not shared.")
    s.commit()
    # Three working days on, the moderation run chases the panel for the two still undecided.
    select_for_moderation(s, build_context(CHASED, settings=settings), cycle=cycle)
    s.commit()
    return cycle


def _row(page: Page, table: str, ref: str) -> str:
    return page.get_by_role("region", name=table).get_by_role("row").filter(has_text=ref).inner_text()


def test_the_worklist_shows_each_audit_s_stage_age_and_deciders_as_the_database_has_them(
        s: Session, authority, site: LiveSite, smtp_server, moderated: AuditCycle, page: Page) -> None:
    manager = s.scalars(select(Staff).where(Staff.role == Role.QA_MANAGER, Staff.active).order_by(Staff.id)).first()
    ctx = build_context(LOOKED, settings=site.settings)
    listed = {item["reference"]: item for item in list_items(session=s, kind=TrackerKind.MODERATIONS, month=DEC,
                                                              ctx=ctx)}
    rows = {m.audit.reference: m for m in s.scalars(select(Moderation).order_by(Moderation.id))}
    names = dict(s.execute(select(Staff.id, Staff.name)).all())
    panel_names = [p.name for p in panel(s, ctx)]
    s.commit()
    sign_in_to_console(page, site, s, authority, smtp_server, manager.id, LOOKED)
    screens: list[tuple[str, bytes]] = []

    page.get_by_role("link", name="Moderation").click()
    shown = page.locator("main").inner_text()
    check_page(page, "console-moderation", screens)

    assert page.url.endswith("/console/moderation") and "December 2026" in shown
    assert all(name in shown for name in panel_names)
    undecided = [ref for ref, m in rows.items() if m.audit.status == AuditStatus.IN_MODERATION]
    decided = [ref for ref, m in rows.items() if m.audit.status == AuditStatus.COMPLETED]
    assert len(rows) >= 3 and len(decided) == 1 and len(undecided) == len(rows) - 1
    assert f"{len(undecided)} undecided, 1 decided" in shown
    for ref in undecided:
        row, item, moderation = _row(page, "Undecided moderations", ref), listed[ref], rows[ref]
        # The age is the CLI's figure, counted in working days from selection: six by the 12th.
        assert item["age_working_days"] == 6 and "6 working days" in row, row
        assert item["status"].capitalize() in row, (item["status"], row)
        # Chased alone, or as an item of a person's digest of the day's chases (phase:month:ref:step:staff).
        chased = set(s.scalars(select(OutboxMessage.step).where(OutboxMessage.subject_ref == ref,
                                                                OutboxMessage.step.like("chase-%"))))
        chased |= {key.split(":")[3] for key in s.scalars(select(OutboxItem.item_key))
                   if key.split(":")[2] == ref and key.split(":")[3].startswith("chase-")}
        s.commit()
        assert chased == {"chase-panel"}, chased
        assert ("Chased: the panel. Due with the next moderation run: the QA managers. Next: the assistant director "
                "at 8 working days.") in row, row
        for decider in (moderation.moderator_id, moderation.assistant_director_id):
            assert decider is None or names[decider] in row, (decider, row)
    good = next(ref for ref, m in rows.items() if m.original_overall == "good")
    good_row = _row(page, "Undecided moderations", good)
    assert "Awaiting an assistant director" in good_row and "grade agreed (Good)" in good_row
    assert listed[good]["status"] == "awaiting an assistant director"
    assert rows[good].assistant_director_id is not None and names[rows[good].assistant_director_id] in good_row

    [final] = decided
    final_row = _row(page, "Decided moderations", final)
    assert "Grade changed from Requires improvement to be good to Inadequate" in final_row
    assert "Disputed by" in final_row and "told me the plan was never shared" in final_row
    assert names[rows[final].decided_by_id] in final_row and listed[final]["status"] == "final"
    # The dispute's note went through the redactor: the child's name is not on the page.
    assert PLANTED["child_first"] not in shown and PLANTED["child_last"] not in shown
    keep_screens(screens)


def test_another_month_is_chosen_from_the_list_and_a_month_not_drawn_says_so(
        s: Session, authority, site: LiveSite, smtp_server, moderated: AuditCycle, page: Page) -> None:
    manager = s.scalars(select(Staff).where(Staff.role == Role.PRACTICE_IMPROVEMENT_MANAGER, Staff.active)
                        .order_by(Staff.id)).first()
    s.commit()
    sign_in_to_console(page, site, s, authority, smtp_server, manager.id, LOOKED)

    page.goto(f"{site.url}/console/moderation?month=2026-11")
    november = page.locator("main").inner_text()
    page.get_by_role("link", name="December 2026").click()
    december = page.locator("main").inner_text()
    bad = page.request.get(f"{site.url}/console/moderation?month=2026-13")

    assert "The November 2026 audits have not been drawn, so there is nothing to moderate." in november
    assert "undecided, 1 decided" in december and page.url.endswith("month=2026-12")
    assert bad.status == 404 and "There is no month '2026-13'" in html.unescape(bad.text())


def test_the_worklist_needs_a_signed_in_qa_member(s: Session, authority, site: LiveSite, page: Page) -> None:
    page.goto(f"{site.url}/console/moderation")
    assert page.url.endswith("/sign-in")
