"""Supervision gaps: suspected at the draw, told in the notice, confirmed or dismissed by the auditor, else raised."""
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from conftest import QA_MANAGER
from sqlalchemy import func, select, update

from auditcycle.core.clock import Month
from auditcycle.core.context import build_context
from auditcycle.core.errors import PermissionDenied, UserError
from auditcycle.core.settings import Settings
from auditcycle.immediate_responses.supervision_gaps import decide_gap
from auditcycle.models import Audit, Child, Event, ImmediateResponse, Staff, SupervisionGap
from auditcycle.models.enums import ResponseTrigger, Role, SupervisionGapStatus
from auditcycle.notices.queue import queue_notices
from auditcycle.notifications.gateway import deliver
from auditcycle.sampling.cycle import draw

LONDON = ZoneInfo("Europe/London")
LAST_SUPERVISION = date(2026, 5, 22)  # six months and a day before the draw


def _at(now: str, settings: Settings):
    return build_context(now, settings=settings)


@pytest.fixture
def audits(s, settings) -> list[Audit]:
    """December drawn on 23 November with every child's supervision last recorded on 22 May."""
    s.execute(update(Child).values(last_supervision_date=LAST_SUPERVISION))
    s.commit()
    draw(s, _at("2026-11-23T09:00", settings), month=Month(2026, 12), size=3, seed=2)
    s.commit()
    return list(s.scalars(select(Audit).order_by(Audit.id)))


def _responses(s) -> list[ImmediateResponse]:
    return list(s.scalars(select(ImmediateResponse).order_by(ImmediateResponse.id)))


def test_notice_tells_the_auditor_and_the_team_manager_of_the_gap(s, authority, settings, audits,
                                                                    smtp_server) -> None:
    audit = audits[0]
    queue_notices(s, _at("2026-11-24T12:00", settings), cycle=audit.cycle)
    s.commit()
    deliver(engine=authority, settings=settings)

    def text_to(staff: Staff) -> str:
        [mail] = [r for r in smtp_server.received if r.rcpt_tos == [staff.email]]
        return " ".join(mail.message.get_body(("plain",)).get_content().split())

    auditor, worker = audit.auditor, audit.child.key_worker
    manager = s.get(Staff, worker.manager_id)
    told_auditor, told_manager, told_worker = text_to(auditor), text_to(manager), text_to(worker)
    shown = f"{audit.reference} (case {audit.child_id}): the records show no supervision since 22 May 2026."
    assert shown in told_auditor
    assert f"Confirm or dismiss the gap on {audit.reference}: http" in told_auditor
    assert "auditcycle " not in told_auditor and "auditcycle " not in told_manager
    assert "Decide by 17:00 on Tuesday 1 December 2026" in told_auditor
    assert shown in told_manager and f"The auditor, {auditor.name}, will speak with you" in told_manager
    assert "supervision" not in told_worker.replace("Management oversight and supervision", "")


def test_confirm_raises_one_response_due_24_hours_from_the_confirmation(s, authority, settings, audits,
                                                                          smtp_server) -> None:
    audit = audits[0]
    confirmed = _at("2026-11-26T10:30", settings)

    gap = decide_gap(s, confirmed, reference=audit.reference, decision="confirm", by=audit.auditor_id,
                     reason="No supervision on file; the team manager agrees.")
    s.commit()
    deliver(engine=authority, settings=settings)

    [ir] = _responses(s)
    assert (ir.trigger, ir.raised_by_id, ir.raised_at) == (ResponseTrigger.SUPERVISION_GAP, audit.auditor_id,
                                                           confirmed.now)
    assert ir.deadline_at - confirmed.now == timedelta(hours=24)
    assert "confirmed by the auditor" in ir.reason and "since 22 May 2026" in ir.reason
    assert (gap.status, gap.response_id, gap.decided_by_id) == (SupervisionGapStatus.CONFIRMED, ir.id,
                                                               audit.auditor_id)
    managers = {sm.email for sm in s.scalars(select(Staff).where(
        Staff.role == Role.SERVICE_MANAGER, Staff.service_id == audit.child.team.service_id))}
    alerts = [r for r in smtp_server.received if "audit list to review" not in r.message["Subject"]]
    assert {a for r in alerts for a in r.rcpt_tos} == managers
    with pytest.raises(UserError, match="already confirmed"):
        decide_gap(s, _at("2026-11-26T11:00", settings), reference=audit.reference, decision="dismiss",
                   by=audit.auditor_id, reason="Changed my mind")
    s.rollback()
    assert len(_responses(s)) == 1


def test_dismiss_raises_none_and_keeps_the_reason(s, settings, audits) -> None:
    audit = audits[1]
    reason = "Supervision is recorded on the team's own log, last on 3 November 2026."

    decide_gap(s, _at("2026-11-26T10:30", settings), reference=audit.reference, decision="dismiss",
               by=audit.auditor_id, reason=f"  {reason}  ")
    s.commit()

    gap = s.scalar(select(SupervisionGap).where(SupervisionGap.audit_id == audit.id))
    assert (gap.status, gap.reason, gap.response_id) == (SupervisionGapStatus.DISMISSED, reason, None)
    assert _responses(s) == []
    assert s.scalar(select(Event.detail).where(Event.kind == "supervision-gap-dismissed")) == reason


def test_a_bad_decision_or_an_empty_reason_is_refused_naming_the_field(s, settings, audits) -> None:
    audit = audits[0]
    with pytest.raises(UserError, match="DECISION 'maybe': say confirm or dismiss"):
        decide_gap(s, _at("2026-11-26T10:30", settings), reference=audit.reference, decision="maybe",
                   by=audit.auditor_id, reason="x")
    with pytest.raises(UserError, match="--reason is required"):
        decide_gap(s, _at("2026-11-26T10:30", settings), reference=audit.reference, decision="dismiss",
                   by=audit.auditor_id, reason="  ")
    s.rollback()
    assert s.scalar(select(SupervisionGap.status).where(SupervisionGap.audit_id == audit.id)) == \
        SupervisionGapStatus.SUSPECTED


def test_only_the_auditor_or_the_qa_team_may_decide(s, settings, audits) -> None:
    audit = audits[0]
    worker = audit.child.key_worker
    with pytest.raises(PermissionDenied, match=f"may not supervision-gap {audit.reference}: only the audit's "
                                               "auditor, or the QA team may"):
        decide_gap(s, _at("2026-11-26T10:30", settings), reference=audit.reference, decision="confirm",
                   by=worker.id, reason="x")
    s.rollback()
    assert _responses(s) == []

    decide_gap(s, _at("2026-11-26T10:30", settings), reference=audit.reference, decision="confirm",
               by=QA_MANAGER, reason="Checked with the team manager.")
    [ir] = _responses(s)
    assert "confirmed by" in ir.reason and ir.raised_by_id == QA_MANAGER


def test_an_undecided_gap_is_raised_by_the_responses_phase_after_its_deadline_once(
        s, authority, smtp_env, audits, prefect_harness) -> None:
    from auditcycle.flows.responses import responses

    decided = audits[0]
    decide_gap(s, build_context("2026-11-26T10:30"), reference=decided.reference, decision="dismiss",
               by=decided.auditor_id, reason="Supervision recorded elsewhere.")
    s.commit()

    before = responses(now="2026-12-01T16:59", by=QA_MANAGER)
    after = responses(now="2026-12-01T17:05", by=QA_MANAGER)
    sent = len(smtp_env.received)
    again = responses(now="2026-12-01T18:05", by=QA_MANAGER)

    assert (before["gaps_raised"], after["gaps_raised"], again["gaps_raised"]) == (0, 2, 0)
    assert len(smtp_env.received) == sent > 0
    s.expire_all()
    irs = _responses(s)
    assert {ir.audit_id for ir in irs} == {a.id for a in audits[1:]}
    assert all(ir.raised_by_id is None and "raised automatically" in ir.reason for ir in irs)
    assert {ir.raised_at for ir in irs} == {datetime(2026, 12, 1, 17, 5, tzinfo=LONDON)}
    assert s.scalar(select(func.count()).select_from(SupervisionGap).where(
        SupervisionGap.status == SupervisionGapStatus.RAISED_AUTOMATICALLY)) == 2


def test_an_adhoc_gap_is_due_at_the_end_of_the_next_working_day(s, settings) -> None:
    from auditcycle.models.enums import CycleKind
    from auditcycle.sampling.adhoc import draw_adhoc
    from auditcycle.sampling.requests import Asked, store_request

    s.execute(update(Child).values(last_supervision_date=None))
    s.commit()
    ctx = _at("2026-12-04T15:00", settings)  # a Friday: the next working day is Monday 7 December
    request = store_request(s, ctx, by=QA_MANAGER, asked=Asked(kind=CycleKind.DEEP_DIVE, theme="Neglect", size=2,
                                                                due=date(2026, 12, 18)))
    summary = draw_adhoc(s, ctx, request=request, seed=3)
    s.commit()

    gaps = list(s.scalars(select(SupervisionGap)))
    assert summary.supervision_gaps == 2 == len(gaps)
    assert {(g.since, g.decide_by) for g in gaps} == {(None, datetime(2026, 12, 7, 17, tzinfo=LONDON))}
    assert _responses(s) == []
