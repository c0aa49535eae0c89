"""Immediate Responses: raised at any moment, answered within 24 hours, reminded and escalated once."""
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import select

from auditcycle.core.clock import Month
from auditcycle.core.context import build_context
from auditcycle.core.errors import PermissionDenied, UserError
from auditcycle.core.settings import Settings
from auditcycle.immediate_responses.lifecycle import check_responses, raise_ir, respond
from auditcycle.models import Audit, Event, ImmediateResponse, Staff
from auditcycle.models.enums import ResponseStatus, Role
from auditcycle.notifications.gateway import deliver
from auditcycle.sampling.cycle import draw


@pytest.fixture
def audit(s, settings):
    draw(s, build_context("2026-11-23T09:00", settings=settings), month=Month(2026, 12), size=3, seed=2)
    s.commit()
    return s.scalars(select(Audit).order_by(Audit.id)).first()


def _at(now: str, settings: Settings):
    return build_context(now, settings=settings)


def _service_managers(s, audit) -> list[Staff]:
    return list(s.scalars(select(Staff).where(Staff.role == Role.SERVICE_MANAGER,
                                              Staff.service_id == audit.child.team.service_id)))


def _check(s, authority, settings, now: str):
    result = check_responses(s, _at(now, settings))
    s.commit()
    deliver(engine=authority, settings=settings)
    return result


def _alerts(smtp_server) -> list:
    """The mail an Immediate Response sends, without the invites to the auditor's talk with the team manager
    (nor the drawn list the QA managers were sent at the draw)."""
    return [r for r in smtp_server.received if not r.message["Subject"].startswith("Team manager conversation")
            and "audit list to review" not in r.message["Subject"]]


def test_raise_ir_mid_audit_notifies_service_manager_marked_high(s, authority, settings, audit,
                                                                 smtp_server) -> None:
    ir = raise_ir(s, _at("2026-12-09T15:10", settings), reference=audit.reference, by=audit.auditor_id,
                  reason="Child left alone overnight")
    s.commit()
    deliver(engine=authority, settings=settings)

    assert ir.deadline_at - ir.raised_at == timedelta(hours=24)
    [alert] = _alerts(smtp_server)
    assert alert.rcpt_tos == [sm.email for sm in _service_managers(s, audit)]
    assert alert.message["Importance"] == "high"
    assert "Thursday 10 December 2026 at 15:10" in alert.message["Subject"]


def test_two_responses_for_one_service_manager_on_one_day_go_as_two_messages_at_once(
        s, authority, settings, audit, smtp_server) -> None:
    managers = sorted(sm.email for sm in _service_managers(s, audit))
    first = raise_ir(s, _at("2026-12-09T10:00", settings), reference=audit.reference, by=audit.auditor_id,
                     reason="Child left alone overnight")
    s.commit()
    deliver(engine=authority, settings=settings)
    sent_first = [r.message["Subject"] for r in _alerts(smtp_server)]

    second = raise_ir(s, _at("2026-12-09T11:00", settings), reference=audit.reference, by=audit.auditor_id,
                      reason="No safety plan in place")
    s.commit()
    deliver(engine=authority, settings=settings)

    # Never held for a digest: each is its own message, delivered on the run that raised it.
    assert len(sent_first) == 1 and first.reference in sent_first[0]
    assert [sorted(r.rcpt_tos) for r in _alerts(smtp_server)] == [managers, managers]
    assert [ir.reference in r.message["Subject"] for r in _alerts(smtp_server) for ir in (first, second)] == [
        True, False, False, True]
    assert {r.message["Importance"] for r in _alerts(smtp_server)} == {"high"}


def test_same_day_response_is_recorded_as_such(s, authority, settings, audit) -> None:
    ir = raise_ir(s, _at("2026-12-09T10:00", settings), reference=audit.reference, by=audit.auditor_id,
                  reason="Concern")
    manager = _service_managers(s, audit)[0]

    respond(s, _at("2026-12-09T16:30", settings), reference=ir.reference, by=manager.id, note="Visited today")
    s.commit()

    assert ir.status == ResponseStatus.RESPONDED and ir.same_day is True
    assert ir.responded_at.astimezone(_at("2026-12-09T16:30", settings).tz).hour == 16
    assert _check(s, authority, settings, "2026-12-10T11:00").escalated == 0


def test_unanswered_response_is_reminded_then_escalated_once_each(s, authority, settings, audit,
                                                                  smtp_server) -> None:
    ir = raise_ir(s, _at("2026-12-11T14:00", settings), reference=audit.reference, by=audit.auditor_id,
                  reason="Concern")  # a Friday: the deadline falls on Saturday, and still counts
    s.commit()
    deliver(engine=authority, settings=settings)
    smtp_server.received.clear()

    early = _check(s, authority, settings, "2026-12-12T09:00")   # 5 hours before
    reminded = _check(s, authority, settings, "2026-12-12T10:00")  # 4 hours before
    again = _check(s, authority, settings, "2026-12-12T11:00")
    escalated = _check(s, authority, settings, "2026-12-12T14:01")
    later = _check(s, authority, settings, "2026-12-12T15:00")

    assert (early.reminded, reminded.reminded, again.reminded) == (0, 1, 0)
    assert (escalated.escalated, later.escalated) == (1, 0)
    subjects = Counter(r.message["Subject"].split(":")[0] for r in smtp_server.received)
    assert subjects == Counter({"Reminder": len(_service_managers(s, audit)),
                                "ESCALATED": len(_service_managers(s, audit)) + len(list(s.scalars(
                                    select(Staff).where(Staff.role == Role.ASSISTANT_DIRECTOR))))})
    kinds = [e.kind for e in s.scalars(select(Event).where(Event.subject_ref == ir.reference).order_by(Event.id))]
    assert kinds == ["raised", "notified", "reminded", "escalated"]


def test_missed_hourly_checks_escalate_once_without_a_late_reminder(s, authority, settings, audit,
                                                                    smtp_server) -> None:
    raise_ir(s, _at("2026-12-09T10:00", settings), reference=audit.reference, by=audit.auditor_id, reason="C")
    s.commit()
    deliver(engine=authority, settings=settings)
    smtp_server.received.clear()

    result = _check(s, authority, settings, "2026-12-10T13:00")  # every check in between was missed

    assert (result.reminded, result.escalated) == (0, 1)
    assert all(r.message["Subject"].startswith("ESCALATED") for r in smtp_server.received)


def test_respond_by_a_key_worker_is_refused(s, settings, audit) -> None:
    ir = raise_ir(s, _at("2026-12-09T10:00", settings), reference=audit.reference, by=audit.auditor_id, reason="C")
    with pytest.raises(PermissionDenied, match="only the service manager of the child's team"):
        respond(s, _at("2026-12-09T11:00", settings), reference=ir.reference, by=audit.child.key_worker_id,
                note="x")


def test_respond_twice_is_refused(s, settings, audit) -> None:
    ir = raise_ir(s, _at("2026-12-09T10:00", settings), reference=audit.reference, by=audit.auditor_id, reason="C")
    manager = _service_managers(s, audit)[0]
    respond(s, _at("2026-12-09T11:00", settings), reference=ir.reference, by=manager.id, note="done")
    with pytest.raises(UserError, match="already answered"):
        respond(s, _at("2026-12-09T12:00", settings), reference=ir.reference, by=manager.id, note="again")


def test_assistant_director_may_respond(s, settings, audit) -> None:
    ir = raise_ir(s, _at("2026-12-09T10:00", settings), reference=audit.reference, by=audit.auditor_id, reason="C")
    director = s.scalars(select(Staff).where(Staff.role == Role.ASSISTANT_DIRECTOR)).first()

    respond(s, _at("2026-12-10T12:00", settings), reference=ir.reference, by=director.id, note="Handled")

    assert ir.status == ResponseStatus.RESPONDED and ir.same_day is False
    assert s.scalar(select(ImmediateResponse.responded_by_id)) == director.id
