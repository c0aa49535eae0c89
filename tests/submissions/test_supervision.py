"""The supervision discussion: the team manager is prompted, with any Immediate Response, and records it once."""
from datetime import date

import pytest
from forms import valid_form
from sqlalchemy import select

from auditcycle.core.clock import Month
from auditcycle.core.context import build_context
from auditcycle.core.errors import PermissionDenied, UserError
from auditcycle.models import Audit, Event, ImmediateResponse
from auditcycle.notices.queue import queue_notices
from auditcycle.notifications.gateway import deliver
from auditcycle.people.directory import Directory
from auditcycle.sampling.cycle import draw
from auditcycle.submissions.submit import submit
from auditcycle.submissions.supervision import record_supervision_discussed

NOW = "2026-12-14T10:00"


@pytest.fixture
def submitted(s, settings, authority, smtp_server):
    """An audit submitted with an Immediate Response, its mail delivered."""
    draw(s, build_context("2026-11-23T09:00", settings=settings), month=Month(2026, 12), size=3, seed=2)
    s.commit()
    audit = s.scalars(select(Audit).order_by(Audit.id)).first()
    queue_notices(s, build_context("2026-11-24T12:00", settings=settings), cycle=audit.cycle)
    s.commit()
    form = valid_form(audit.child.key_worker_id, today=date(2026, 12, 14),
                      immediate_response={"reason": "Bruising seen at the home visit, not yet followed up"})
    submit(s, build_context(NOW, settings=settings), reference=audit.reference, data=form, by=audit.auditor_id)
    s.commit()
    smtp_server.received.clear()
    deliver(engine=authority, settings=settings)
    return audit


def _manager(s, audit):
    return Directory(s).team_managers_of(audit.child)[0]


def test_the_prompt_names_the_immediate_response_to_raise_and_how_to_record_the_discussion(s, submitted,
                                                                                         smtp_server) -> None:
    manager = _manager(s, submitted)
    [ir] = s.scalars(select(ImmediateResponse.reference).where(ImmediateResponse.audit_id == submitted.id))
    [prompt] = [r.message for r in smtp_server.received
                if r.rcpt_tos == [manager.email] and "next supervision" in r.message["Subject"]]
    text = " ".join(prompt.get_body(("plain",)).get_content().split())

    assert f"Please also raise in that supervision the Immediate Response this audit led to: {ir}." in text
    assert "auditcycle " not in text and "Record the supervision discussion: http" in text


def test_the_team_manager_records_the_discussion_once(s, settings, submitted) -> None:
    manager = _manager(s, submitted)
    later = build_context("2026-12-18T15:00", settings=settings)

    record_supervision_discussed(s, later, reference=submitted.reference, by=manager.id)
    s.commit()

    assert (submitted.supervision_discussed_by_id, submitted.supervision_discussed_at) == (manager.id, later.now)
    assert s.scalar(select(Event.actor_id).where(Event.kind == "supervision-discussed")) == manager.id
    assert s.scalar(select(Event.detail).where(Event.kind == "supervision-discussed")) == ""
    with pytest.raises(UserError, match="already recorded by " + manager.id):
        record_supervision_discussed(s, later, reference=submitted.reference, by=manager.id)


def test_only_the_key_workers_team_manager_may_record_it(s, settings, submitted) -> None:
    with pytest.raises(PermissionDenied, match="the key worker's team manager"):
        record_supervision_discussed(s, build_context("2026-12-18T15:00", settings=settings),
                                     reference=submitted.reference, by=submitted.child.key_worker_id)
    assert s.get(Audit, submitted.id).supervision_discussed_at is None


def test_a_discussion_cannot_be_dated_before_the_form(s, settings, submitted) -> None:
    with pytest.raises(UserError, match="before .* form was submitted"):
        record_supervision_discussed(s, build_context("2026-12-01T09:00", settings=settings),
                                     reference=submitted.reference, by=_manager(s, submitted).id)


def test_an_audit_not_yet_submitted_has_no_discussion_to_record(s, settings, submitted) -> None:
    other = s.scalars(select(Audit).where(Audit.id != submitted.id).order_by(Audit.id)).first()

    with pytest.raises(UserError, match="once the form is submitted"):
        record_supervision_discussed(s, build_context(NOW, settings=settings), reference=other.reference,
                                     by=_manager(s, other).id)


def test_a_note_on_the_discussion_is_kept_in_the_trail_through_the_redactor(s, settings, submitted) -> None:
    manager, child = _manager(s, submitted), submitted.child
    later = build_context("2026-12-18T15:00", settings=settings)

    with pytest.raises(UserError, match="--note contains a control character"):
        record_supervision_discussed(s, later, reference=submitted.reference, by=manager.id, note="Agreed\x00")
    record_supervision_discussed(s, later, reference=submitted.reference, by=manager.id,
                                 note=f"  Agreed a visit plan for {child.first_name} {child.last_name}.  ")
    s.commit()

    detail = s.scalar(select(Event.detail).where(Event.kind == "supervision-discussed"))
    assert detail.startswith("Agreed a visit plan for") and child.last_name not in detail
