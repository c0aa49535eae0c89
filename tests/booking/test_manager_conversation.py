"""The auditor's conversation with the team manager, booked where the framework asks for one, once per audit."""
from datetime import date

import pytest
from factories import context_at as ctx_at
from forms import valid_form
from sqlalchemy import delete, select

from auditcycle.core.clock import Month
from auditcycle.core.timescales import Timescales
from auditcycle.immediate_responses.lifecycle import raise_ir
from auditcycle.models import Audit, Meeting, OutboxMessage
from auditcycle.models.enums import MeetingKind
from auditcycle.notices.queue import queue_notices
from auditcycle.notifications.gateway import deliver
from auditcycle.people.directory import Directory
from auditcycle.sampling.cycle import draw
from auditcycle.submissions.submit import dispute, submit

SUBMIT_AT = "2026-12-14T10:00"


@pytest.fixture
def audits(s, settings):
    draw(s, ctx_at("2026-11-23T09:00", settings), month=Month(2026, 12), size=3, seed=2)
    s.commit()
    s.execute(delete(OutboxMessage))
    queue_notices(s, ctx_at("2026-11-24T12:00", settings), cycle=s.scalars(select(Audit)).first().cycle)
    s.commit()
    return list(s.scalars(select(Audit).order_by(Audit.id)))


def _submit(s, settings, audit, overall: str, **extra) -> None:
    form = valid_form(audit.child.key_worker_id, today=date(2026, 12, 14), overall=overall, grade=overall, **extra)
    submit(s, ctx_at(SUBMIT_AT, settings), reference=audit.reference, data=form, by=audit.auditor_id)
    s.commit()


def _conversations(s, audit) -> list[Meeting]:
    return list(s.scalars(select(Meeting).where(Meeting.audit_id == audit.id,
                                                Meeting.kind == MeetingKind.MANAGER_CONVERSATION)))


def test_an_inadequate_grade_books_the_auditors_conversation_with_the_team_manager(s, authority, settings,
                                                                                  smtp_server, audits) -> None:
    audit = audits[0]
    _submit(s, settings, audit, "inadequate")
    deliver(engine=authority, settings=settings)

    [meeting] = _conversations(s, audit)
    manager = Directory(s).team_managers_of(audit.child)[0]
    ts = Timescales(settings.framework, settings.timezone)
    assert (meeting.organiser_id, meeting.attendee_id) == (audit.auditor_id, manager.id)
    local = meeting.starts_at.astimezone(ts.tz)
    assert date(2026, 12, 15) <= local.date() <= ts.moderation_closes(audit.cycle.due_date)
    assert ts.is_working_day(local.date())
    invited = {r.rcpt_tos[0] for r in smtp_server.received
               if r.message["Subject"].startswith(f"Team manager conversation ({audit.reference})")}
    assert invited == {audit.auditor.email, manager.email}


def test_a_later_dispute_or_immediate_response_books_no_second_conversation(s, authority, settings,
                                                                            audits) -> None:
    audit = audits[0]
    _submit(s, settings, audit, "inadequate")
    dispute(s, ctx_at("2026-12-15T10:00", settings), reference=audit.reference, by=audit.child.key_worker_id,
            note="The grade misses the direct work")
    raise_ir(s, ctx_at("2026-12-15T11:00", settings), reference=audit.reference, by=audit.auditor_id,
             reason="A new concern")
    s.commit()

    assert len(_conversations(s, audit)) == 1


@pytest.mark.parametrize("how", ["dispute", "immediate response"])
def test_a_dispute_or_an_immediate_response_books_it_too(s, settings, audits, how) -> None:
    audit = audits[1]
    _submit(s, settings, audit, "good")
    assert _conversations(s, audit) == []  # a good grade with no concern asks for none
    if how == "dispute":
        dispute(s, ctx_at("2026-12-15T10:00", settings), reference=audit.reference, by=audit.child.key_worker_id,
                note="The grade is too high")
    else:
        raise_ir(s, ctx_at("2026-12-15T11:00", settings), reference=audit.reference, by=audit.auditor_id,
                 reason="A concern seen at the visit")
    s.commit()

    assert len(_conversations(s, audit)) == 1
