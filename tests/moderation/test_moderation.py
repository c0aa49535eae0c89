"""Moderation: selection, the panel's list and invite, closure, and recording the panel's decision."""
import json
import re
from collections import Counter
from datetime import date, datetime, timedelta

import pytest
import vobject
from conftest import PLANTED
from factories import context_at as ctx_at
from icalendar import Calendar
from sqlalchemy import func, select

from auditcycle.core.clock import Month, localize
from auditcycle.core.context import build_context
from auditcycle.core.errors import PermissionDenied, UserError
from auditcycle.models import (
    Audit,
    AuditCycle,
    BusyPeriod,
    Dispute,
    GradeChange,
    Moderation,
    OutboxMessage,
    Service,
    Staff,
    Submission,
)
from auditcycle.models.enums import AuditStatus, ModerationStatus, Role
from auditcycle.moderation.panel import (
    DISPUTED,
    GOOD,
    PIM_EXTRA,
    RANDOM,
    agree_moderation,
    agreement_rate,
    record_moderation,
    select_for_moderation,
    share_target,
    submitted_grades,
)
from auditcycle.notifications.gateway import deliver
from auditcycle.sampling.cycle import draw
from auditcycle.submissions.grades import current_grades, record_grades

DEC = Month(2026, 12)
DRAW_NOW = "2026-11-23T09:00"
SUBMIT_NOW = "2026-12-20T10:00"
AFTER_DUE = "2027-01-04T09:00"  # due Thursday 31 December; Friday 1 January is a bank holiday
CLOSURE_DAY = date(2027, 1, 15)  # 10 working days after the due date
AFTER_CLOSURE = "2027-01-18T09:00"
LATER = "2027-01-25T09:00"




def _drawn(s, settings, size: int) -> tuple[AuditCycle, list[Audit]]:
    draw(s, ctx_at(DRAW_NOW, settings), month=DEC, size=size, seed=21)
    s.commit()
    audits = list(s.scalars(select(Audit).order_by(Audit.id)))
    return audits[0].cycle, audits


def _submit(s, settings, audit: Audit, overall: str, *, disagreement: bool = False,
            now: str = SUBMIT_NOW) -> Submission:
    """Stand in for the real `submit`: a form with every domain graded as the overall grade."""
    ctx = ctx_at(now, settings)
    submission = Submission(audit_id=audit.id, submitted_by_id=audit.auditor_id, overall=overall,
                            disagreement=disagreement, submitted_at=ctx.now, recorded_at=ctx.now)
    s.add(submission)
    s.flush()
    record_grades(s, audit=audit, submission=submission, grades=dict.fromkeys(settings.framework.domains, overall),
                  overall=overall, by=audit.auditor_id, reason="submission", now=ctx.now)
    audit.status = AuditStatus.SUBMITTED
    s.flush()
    return submission


def _run(s, authority, settings, cycle, now: str = AFTER_DUE):
    summary = select_for_moderation(s, ctx_at(now, settings), cycle=cycle)
    s.commit()
    deliver(engine=authority, settings=settings)
    return summary


def _role(s, role: Role) -> list[Staff]:
    return list(s.scalars(select(Staff).where(Staff.role == role, Staff.active).order_by(Staff.id)))


def _panel(s, settings) -> list[Staff]:
    service = settings.framework.moderation_panel_service
    sm = s.scalars(select(Staff).join(Service, Staff.service_id == Service.id)
                   .where(Staff.role == Role.SERVICE_MANAGER, Service.name == service)).all()
    return [*_role(s, Role.PRINCIPAL_SOCIAL_WORKER), *sm]


def _moderation(s, audit: Audit) -> Moderation | None:
    return s.scalar(select(Moderation).where(Moderation.audit_id == audit.id))


def _ours(received) -> list:
    """Keep the moderation phase's mail: earlier phases (the draw's Immediate Responses) mail the same people."""
    return [r for r in received if ".moderate@" in r.message["Message-ID"]]


def _to(received, email: str) -> list:
    return [r.message for r in _ours(received) if r.rcpt_tos == [email]]


def _calendar(msg) -> str | None:
    for part in msg.walk():
        if part.get_content_type() == "text/calendar":
            return part.get_content()
    return None


def _grades(s, settings, audits, grades: list[str]) -> None:
    for audit, grade in zip(audits, grades, strict=True):
        _submit(s, settings, audit, grade)
    s.commit()


def test_share_target_rounds_up() -> None:
    assert [share_target(1 / 3, n) for n in (0, 1, 6, 7, 9, 10)] == [0, 1, 2, 3, 3, 4]
    assert share_target(0.3333, 9) == 3


def test_selection_takes_good_then_disputed_with_reasons(s, authority, settings) -> None:
    cycle, audits = _drawn(s, settings, size=9)
    _grades(s, settings, audits, ["requires_improvement", "good", "inadequate", "outstanding",
                                  "requires_improvement", "requires_improvement", "good", "inadequate",
                                  "requires_improvement"])
    s.add(Dispute(audit_id=audits[2].id, raised_by_id=audits[2].child.key_worker_id, note="grade too low",
                  raised_at=ctx_at(SUBMIT_NOW, settings).now, recorded_at=ctx_at(SUBMIT_NOW, settings).now))
    s.get(Submission, s.scalar(select(Submission.id).where(Submission.audit_id == audits[5].id))).disagreement = True
    s.commit()

    summary = _run(s, authority, settings, cycle)

    refs = [a.reference for a in audits]
    assert summary.selected[GOOD] == [refs[1], refs[3], refs[6]]
    assert summary.selected[DISPUTED] == [refs[2], refs[5]]
    assert RANDOM not in summary.selected  # 5 already exceeds a third of 9
    rows = list(s.scalars(select(Moderation).order_by(Moderation.id)))
    assert [r.audit.reference for r in rows][:5] == [refs[1], refs[3], refs[6], refs[2], refs[5]]
    assert all(r.status == ModerationStatus.PENDING and r.selected_at is not None for r in rows)
    assert {r.audit.reference: r.original_overall for r in rows[:5]} == {
        refs[1]: "good", refs[3]: "outstanding", refs[6]: "good", refs[2]: "inadequate",
        refs[5]: "requires_improvement"}
    assert {r.audit.status for r in rows} == {AuditStatus.IN_MODERATION}


def test_random_top_up_reaches_a_third_rounded_up(s, authority, settings) -> None:
    cycle, audits = _drawn(s, settings, size=7)
    _grades(s, settings, audits, ["requires_improvement"] * 7)

    summary = _run(s, authority, settings, cycle)

    assert len(summary.selected[RANDOM]) == 3  # ceil(7 / 3)
    assert s.scalar(select(func.count()).select_from(Moderation)) >= 3
    assert summary.selected_count == s.scalar(select(func.count()).select_from(Moderation))


def test_random_top_up_is_reproducible_from_the_seed(s, authority, settings) -> None:
    cycle, audits = _drawn(s, settings, size=8)
    _grades(s, settings, audits, ["inadequate"] * 8)
    first = select_for_moderation(s, ctx_at(AFTER_DUE, settings), cycle=cycle).selected
    s.rollback()

    second = select_for_moderation(s, ctx_at(AFTER_DUE, settings), cycle=cycle).selected

    assert first == second and len(first[RANDOM]) == 3


def test_good_audits_get_assistant_directors_round_robin(s, authority, settings) -> None:
    cycle, audits = _drawn(s, settings, size=5)
    _grades(s, settings, audits, ["good", "outstanding", "good", "good", "requires_improvement"])
    directors = [d.id for d in _role(s, Role.ASSISTANT_DIRECTOR)]

    _run(s, authority, settings, cycle)

    assigned = [_moderation(s, a).assistant_director_id for a in audits[:4]]
    assert len(directors) == 2
    assert assigned == [directors[0], directors[1], directors[0], directors[1]]
    assert _moderation(s, audits[4]) is None or _moderation(s, audits[4]).assistant_director_id is None


def test_each_practice_improvement_manager_moderates_a_colleagues_audit_once(s, authority, settings,
                                                                            smtp_server) -> None:
    cycle, audits = _drawn(s, settings, size=7)
    pim_one, pim_two = _role(s, Role.PRACTICE_IMPROVEMENT_MANAGER)
    for audit in audits:
        if pim_one.id in {audit.auditor_id, audit.buddy_id} or pim_two.id in {audit.auditor_id, audit.buddy_id}:
            audit.auditor_id, audit.buddy_id = _role(s, Role.QA_MANAGER)[0].id, None
    # The only audits selected for the panel are the first manager's own.
    for audit in audits[:2]:
        audit.auditor_id, audit.buddy_id = pim_one.id, None
    s.flush()
    _grades(s, settings, audits[:6], ["good", "good"] + ["requires_improvement"] * 4)

    summary = _run(s, authority, settings, cycle)

    rows = {m.moderator_id: m for m in s.scalars(select(Moderation).where(Moderation.moderator_id.is_not(None)))}
    assert set(rows) == {pim_one.id, pim_two.id}
    assert rows[pim_one.id].reason == PIM_EXTRA and rows[pim_one.id].audit.auditor_id != pim_one.id
    assert rows[pim_two.id].audit.reference in {audits[0].reference, audits[1].reference}
    assert summary.selected[GOOD] == [audits[0].reference, audits[1].reference]
    assert summary.selected[PIM_EXTRA] == [rows[pim_one.id].audit.reference]
    [told] = _to(smtp_server.received, pim_one.email)
    assert rows[pim_one.id].audit.reference in told["Subject"]
    before = {pim: m.audit_id for pim, m in rows.items()}

    _submit(s, settings, audits[6], "good", now="2027-01-05T10:00")
    s.commit()
    again = _run(s, authority, settings, cycle, now="2027-01-05T12:00")

    after = {m.moderator_id: m.audit_id for m in s.scalars(select(Moderation).where(
        Moderation.moderator_id.is_not(None)))}
    assert after == before and again.assigned == []
    assert len(_to(smtp_server.received, pim_one.email)) == 1


def test_rerun_sends_nothing_new(s, authority, settings, smtp_server) -> None:
    cycle, audits = _drawn(s, settings, size=6)
    _grades(s, settings, audits, ["good", "requires_improvement", "inadequate", "requires_improvement",
                                  "requires_improvement", "inadequate"])
    first = _run(s, authority, settings, cycle)
    count = len(smtp_server.received)
    moderations = s.scalar(select(func.count()).select_from(Moderation))

    second = _run(s, authority, settings, cycle, now="2027-01-05T09:00")

    assert first.messages == len(_ours(smtp_server.received)) > 0
    assert second.messages == 0 and second.selected_count == 0 and not second.meeting_booked
    assert len(smtp_server.received) == count
    assert s.scalar(select(func.count()).select_from(Moderation)) == moderations


def test_panel_receives_the_list_and_an_invite(s, authority, settings, smtp_server) -> None:
    cycle, audits = _drawn(s, settings, size=6)
    _grades(s, settings, audits, ["good"] + ["requires_improvement"] * 5)

    _run(s, authority, settings, cycle)

    panel = _panel(s, settings)
    director = s.get(Staff, _moderation(s, audits[0]).assistant_director_id)
    assert len(panel) == 2 and director is not None
    selected = list(s.scalars(select(Moderation)))
    for person in [*panel, director]:
        messages = _to(smtp_server.received, person.email)
        lists = [m for m in messages if _calendar(m) is None]
        invites = [m for m in messages if _calendar(m) is not None]
        assert len(lists) == 1 and len(invites) == 1
        body = lists[0].get_body(("plain",)).get_content()
        for m in selected:
            assert m.audit.reference in body and m.audit.child_id in body
        assert "Good" in body and "graded good or better" in body and director.name in body


def test_panel_invite_is_an_outlook_ready_request_after_the_due_date(s, authority, settings,
                                                                    smtp_server) -> None:
    cycle, audits = _drawn(s, settings, size=6)
    _grades(s, settings, audits, ["good"] + ["requires_improvement"] * 5)

    summary = _run(s, authority, settings, cycle)

    s.refresh(cycle)
    assert summary.meeting_booked and cycle.moderation_uid
    tz = build_context(AFTER_DUE, settings=settings).tz
    start, end = cycle.moderation_starts_at.astimezone(tz), cycle.moderation_ends_at.astimezone(tz)
    assert end - start == timedelta(minutes=settings.framework.moderation_meeting_minutes)
    assert date(2027, 1, 4) <= start.date() <= CLOSURE_DAY
    assert localize(datetime.combine(start.date(), settings.framework.working_day_start), tz) <= start
    assert end <= localize(datetime.combine(start.date(), settings.framework.working_day_end), tz)
    invites = [(r.message, _calendar(r.message)) for r in _ours(smtp_server.received) if _calendar(r.message)]
    expected = {p.email for p in _panel(s, settings)} | {s.get(Staff, _moderation(s, audits[0])
                                                               .assistant_director_id).email}
    assert {msg["To"] for msg, _ in invites} == expected
    for msg, ics in invites:
        cal = Calendar.from_ical(ics)
        [event] = cal.walk("VEVENT")
        assert cal["METHOD"] == "REQUEST"
        assert str(event["UID"]) == cycle.moderation_uid and int(event["SEQUENCE"]) == 0
        assert str(event["ORGANIZER"]).lower() == f"mailto:{settings.mail_from}".lower()
        attendees = event.get("ATTENDEE")
        attendees = attendees if isinstance(attendees, list) else [attendees]
        assert {str(a).lower() for a in attendees} == {f"mailto:{e}".lower() for e in expected}
        assert all(a.params["RSVP"] == "TRUE" for a in attendees)
        assert event.decoded("DTSTART") == cycle.moderation_starts_at
        parsed = vobject.readOne(ics)
        assert parsed.method.value == "REQUEST"
        assert parsed.vevent.uid.value == cycle.moderation_uid
        assert parsed.vevent.dtstart.value.utcoffset() == timedelta(0)


def test_panel_meeting_is_two_working_days_after_its_invite(s, authority, settings, smtp_server) -> None:
    cycle, audits = _drawn(s, settings, size=6)
    _grades(s, settings, audits, ["good"] + ["requires_improvement"] * 5)

    # Sent at 11:20 on Tuesday 5 January: the panel may meet from 11:30 on Thursday 7 January.
    _run(s, authority, settings, cycle, now="2027-01-05T11:20")

    s.refresh(cycle)
    tz = build_context(AFTER_DUE, settings=settings).tz
    stamps = {Calendar.from_ical(ics).walk("VEVENT")[0].decoded("DTSTAMP")
              for ics in map(_calendar, (r.message for r in _ours(smtp_server.received))) if ics}
    assert stamps == {localize(datetime(2027, 1, 5, 11, 20), tz)}
    assert cycle.moderation_starts_at == localize(datetime(2027, 1, 7, 11, 30), tz)


def test_panel_meeting_avoids_busy_diaries(s, authority, settings) -> None:
    cycle, audits = _drawn(s, settings, size=3)
    _grades(s, settings, audits, ["good", "inadequate", "inadequate"])
    psw = _role(s, Role.PRINCIPAL_SOCIAL_WORKER)[0]
    tz = build_context(AFTER_DUE, settings=settings).tz
    s.add(BusyPeriod(staff_id=psw.id, starts_at=localize(datetime(2027, 1, 4, 0, 0), tz),
                     ends_at=localize(datetime(2027, 1, 6, 12, 0), tz)))
    s.commit()

    _run(s, authority, settings, cycle)

    s.refresh(cycle)
    busy = list(s.scalars(select(BusyPeriod).where(BusyPeriod.staff_id.in_([p.id for p in _panel(s, settings)]))))
    assert cycle.moderation_starts_at >= localize(datetime(2027, 1, 6, 12, 0), tz)
    assert not [b for b in busy if b.starts_at < cycle.moderation_ends_at and b.ends_at > cycle.moderation_starts_at]


def test_unbookable_panel_is_reported_to_the_qa_manager(s, authority, settings, smtp_server) -> None:
    cycle, audits = _drawn(s, settings, size=3)
    _grades(s, settings, audits, ["good", "inadequate", "inadequate"])
    psw = _role(s, Role.PRINCIPAL_SOCIAL_WORKER)[0]
    tz = build_context(AFTER_DUE, settings=settings).tz
    s.add(BusyPeriod(staff_id=psw.id, starts_at=localize(datetime(2027, 1, 1), tz),
                     ends_at=localize(datetime(2027, 1, 20), tz)))
    s.commit()

    summary = _run(s, authority, settings, cycle)

    s.refresh(cycle)
    assert cycle.moderation_uid is None and not summary.meeting_booked and summary.meeting_unbooked
    [manager] = _role(s, Role.QA_MANAGER)
    [report] = _to(smtp_server.received, manager.email)
    assert "could not be booked" in report["Subject"]
    assert "whole panel is free" in report.get_body(("plain",)).get_content()
    assert not [r for r in _ours(smtp_server.received) if _calendar(r.message)]


def test_late_good_form_is_added_with_one_updated_list(s, authority, settings, smtp_server) -> None:
    cycle, audits = _drawn(s, settings, size=6)
    _grades(s, settings, audits[:5], ["inadequate"] * 5)
    _run(s, authority, settings, cycle)
    smtp_server.received.clear()
    _submit(s, settings, audits[5], "good", now="2027-01-06T10:00")
    s.commit()

    summary = _run(s, authority, settings, cycle, now="2027-01-06T12:00")

    assert summary.selected[GOOD] == [audits[5].reference]
    assert _moderation(s, audits[5]).reason == GOOD
    assert s.get(Audit, audits[5].id).status == AuditStatus.IN_MODERATION
    for person in _panel(s, settings):
        [update] = _to(smtp_server.received, person.email)
        assert update["Subject"].startswith("Updated: ")
        assert audits[5].reference in update.get_body(("plain",)).get_content()
    director = s.get(Staff, _moderation(s, audits[5]).assistant_director_id)
    assert Counter(_calendar(m) is not None for m in _to(smtp_server.received, director.email)) == {True: 1, False: 1}


def test_closure_finalises_the_rest_but_moderates_late_good_forms(s, authority, settings, smtp_server) -> None:
    cycle, audits = _drawn(s, settings, size=8)
    _grades(s, settings, audits[:5], ["good", "inadequate", "inadequate", "inadequate", "inadequate"])
    _run(s, authority, settings, cycle)
    selected = {m.audit_id for m in s.scalars(select(Moderation))}
    _submit(s, settings, audits[5], "requires_improvement", now="2027-01-16T10:00")
    s.commit()

    closing = _run(s, authority, settings, cycle, now=AFTER_CLOSURE)

    s.refresh(cycle)
    assert closing.closed and cycle.moderation_closed_at is not None and closing.selected_count == 0
    assert closing.finalised == 6 - len(selected)
    assert _moderation(s, audits[5]) is None
    statuses = {a.id: s.get(Audit, a.id).status for a in audits[:6]}
    assert {i for i, st in statuses.items() if st == AuditStatus.IN_MODERATION} == selected
    assert {i for i, st in statuses.items() if st == AuditStatus.COMPLETED} == {a.id for a in audits[:6]} - selected
    closed_at = cycle.moderation_closed_at
    smtp_server.received.clear()

    # A good form after closure is still moderated, with an assistant director; an ordinary late one is final.
    _submit(s, settings, audits[6], "outstanding", now="2027-01-20T10:00")
    _submit(s, settings, audits[7], "requires_improvement", now="2027-01-20T11:00")
    s.commit()
    later = _run(s, authority, settings, cycle, now=LATER)

    s.refresh(cycle)
    assert later.closed and later.selected == {GOOD: [audits[6].reference]} and later.finalised == 1
    late = _moderation(s, audits[6])
    assert late.reason == GOOD and late.assistant_director_id is not None
    assert s.get(Audit, audits[6].id).status == AuditStatus.IN_MODERATION
    assert _moderation(s, audits[7]) is None and s.get(Audit, audits[7].id).status == AuditStatus.COMPLETED
    assert cycle.moderation_closed_at == closed_at and not later.meeting_booked
    for person in [*_panel(s, settings), s.get(Staff, late.assistant_director_id)]:
        [update] = [m for m in _to(smtp_server.received, person.email) if "Audits for moderation" in m["Subject"]]
        body = update.get_body(("plain",)).get_content()
        assert audits[6].reference in body and "Moderation closed at the end of" in body
        assert _calendar(update) is None
    assert not [r for r in _ours(smtp_server.received) if _calendar(r.message)]


def _in_moderation(s, authority, settings, grades: list[str]) -> tuple[list[Audit], Staff]:
    cycle, audits = _drawn(s, settings, size=len(grades))
    _grades(s, settings, audits, grades)
    _run(s, authority, settings, cycle)
    return audits, _role(s, Role.PRINCIPAL_SOCIAL_WORKER)[0]


def test_record_moderation_changing_a_grade_keeps_its_history(s, authority, settings, smtp_server) -> None:
    audits, psw = _in_moderation(s, authority, settings, ["good", "inadequate", "inadequate"])
    audit = audits[0]
    ctx = ctx_at("2027-01-07T14:00", settings)

    moderation = record_moderation(s, ctx, reference=audit.reference, by=psw.id, grade="requires_improvement",
                                   domains={"assessment": "inadequate", "recording_communication": "good"},
                                   note="Assessment lacks the child's voice.")
    s.commit()
    # Submitted as good, so the panel's decision is final once an assistant director agrees it.
    agree_moderation(s, ctx_at("2027-01-08T10:00", settings), reference=audit.reference,
                     by=_role(s, Role.ASSISTANT_DIRECTOR)[0].id)
    s.commit()
    deliver(engine=authority, settings=settings)

    changes = {c.domain: c for c in s.scalars(select(GradeChange).where(GradeChange.reason == "moderation"))}
    assert set(changes) == {"overall", "assessment"}
    assert (changes["overall"].old_grade, changes["overall"].new_grade) == ("good", "requires_improvement")
    assert (changes["assessment"].old_grade, changes["assessment"].new_grade) == ("good", "inadequate")
    assert {c.changed_by_id for c in changes.values()} == {psw.id}
    assert {c.changed_at for c in changes.values()} == {ctx.now}
    assert moderation.status == ModerationStatus.CHANGED and moderation.moderated_overall == "requires_improvement"
    assert moderation.decided_by_id == psw.id and moderation.decided_at == ctx.now and moderation.recorded_at
    assert s.get(Audit, audit.id).status == AuditStatus.COMPLETED
    submission = s.scalar(select(Submission).where(Submission.audit_id == audit.id))
    assert current_grades(s, submission)["overall"] == "requires_improvement"
    recipients = Counter(r.rcpt_tos[0] for r in _ours(smtp_server.received) if "moderated" in r.message["Subject"])
    assert recipients == {audit.auditor.email: 1, audit.child.key_worker.email: 1}


def test_submitted_grades_are_read_back_from_before_moderation_changed_them(s, authority, settings) -> None:
    audits, psw = _in_moderation(s, authority, settings, ["good", "inadequate", "inadequate"])
    audit = audits[0]  # good: the panel's decision waits for an assistant director, so it may be decided again
    before = submitted_grades(s, audit)

    for grade in ("requires_improvement", "inadequate"):
        record_moderation(s, ctx_at("2027-01-07T14:00", settings), reference=audit.reference, by=psw.id,
                          grade=grade, domains={"assessment": grade}, note="")
    s.commit()

    assert before == {**dict.fromkeys(settings.framework.domains, "good"), "overall": "good"}
    assert submitted_grades(s, audit) == before


def test_record_moderation_agreeing_changes_nothing(s, authority, settings) -> None:
    audits, psw = _in_moderation(s, authority, settings, ["good", "inadequate", "inadequate"])

    moderation = record_moderation(s, ctx_at("2027-01-07T14:00", settings), reference=audits[0].reference,
                                   by=psw.id, grade="good", domains={"assessment": "good"}, note="Agreed.")
    s.commit()

    assert moderation.status == ModerationStatus.AGREED
    assert s.scalar(select(func.count()).select_from(GradeChange).where(GradeChange.reason == "moderation")) == 0


def test_agreement_rate_is_agreed_over_decided(s, authority, settings) -> None:
    audits, psw = _in_moderation(s, authority, settings, ["good", "outstanding", "inadequate"])
    ctx = ctx_at("2027-01-07T14:00", settings)
    assert agreement_rate(s, month="2026-12") is None

    record_moderation(s, ctx, reference=audits[0].reference, by=psw.id, grade="good", domains={}, note="")
    record_moderation(s, ctx, reference=audits[1].reference, by=psw.id, grade="good", domains={}, note="")
    s.commit()

    assert agreement_rate(s, month="2026-12") == 0.5
    assert agreement_rate(s, month="2026-11") is None


def test_record_moderation_by_a_key_worker_is_refused(s, authority, settings) -> None:
    audits, _ = _in_moderation(s, authority, settings, ["good", "inadequate", "inadequate"])
    key_worker = audits[0].child.key_worker_id

    with pytest.raises(PermissionDenied, match=rf"{key_worker} \(key worker\) may not moderate"):
        record_moderation(s, ctx_at("2027-01-07T14:00", settings), reference=audits[0].reference,
                          by=key_worker, grade="inadequate", domains={}, note="")

    assert _moderation(s, audits[0]).status == ModerationStatus.PENDING


def test_record_moderation_by_the_assigned_practice_improvement_manager(s, authority, settings) -> None:
    _in_moderation(s, authority, settings, ["good", "inadequate", "inadequate", "inadequate"])
    moderation = s.scalars(select(Moderation).where(Moderation.moderator_id.is_not(None))
                           .order_by(Moderation.id)).first()

    decided = record_moderation(s, ctx_at("2027-01-07T14:00", settings), reference=moderation.audit.reference,
                                by=moderation.moderator_id, grade=moderation.original_overall, domains={}, note="")

    assert decided.decided_by_id == moderation.moderator_id and decided.status == ModerationStatus.AGREED


def test_invalid_grades_are_listed_at_once_and_nothing_changes(s, authority, settings) -> None:
    audits, psw = _in_moderation(s, authority, settings, ["good", "inadequate", "inadequate"])
    changes_before = s.scalar(select(func.count()).select_from(GradeChange))

    with pytest.raises(UserError) as raised:
        record_moderation(s, ctx_at("2027-01-07T14:00", settings), reference=audits[0].reference, by=psw.id,
                          grade="excellent", domains={"nonsense": "good", "assessment": "great"}, note="")

    message = str(raised.value)
    assert "'excellent'" in message and "'nonsense'" in message and "'great'" in message
    s.rollback()
    assert s.scalar(select(func.count()).select_from(GradeChange)) == changes_before
    assert _moderation(s, audits[0]).status == ModerationStatus.PENDING
    assert s.get(Audit, audits[0].id).status == AuditStatus.IN_MODERATION


def test_record_moderation_of_an_audit_not_selected_is_refused(s, authority, settings) -> None:
    cycle, audits = _drawn(s, settings, size=2)
    _grades(s, settings, audits, ["inadequate", "inadequate"])
    psw = _role(s, Role.PRINCIPAL_SOCIAL_WORKER)[0]

    with pytest.raises(UserError, match=f"^{audits[0].reference} is not in moderation$"):
        record_moderation(s, ctx_at("2027-01-07T14:00", settings), reference=audits[0].reference, by=psw.id,
                          grade="good", domains={}, note="")


def test_moderation_mail_names_no_child(s, authority, settings, smtp_server) -> None:
    audits, psw = _in_moderation(s, authority, settings, ["good", "outstanding", "inadequate", "inadequate"])
    record_moderation(s, ctx_at("2027-01-07T14:00", settings), reference=audits[0].reference, by=psw.id,
                      grade="requires_improvement", domains={}, note=f"{PLANTED['child_first']} said so")
    s.commit()
    deliver(engine=authority, settings=settings)

    ours = _ours(smtp_server.received)
    raw = b"".join(r.data for r in ours).decode("utf-8", "replace")
    assert ours
    for planted in PLANTED.values():
        assert planted not in raw
    assert s.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.phase == "moderate")) \
        == len(ours)


def test_good_grade_is_final_only_once_an_assistant_director_agrees(s, authority, settings, smtp_server) -> None:
    audits, psw = _in_moderation(s, authority, settings, ["good", "inadequate", "inadequate"])
    audit = audits[0]
    director = s.get(Staff, _moderation(s, audit).assistant_director_id)
    smtp_server.received.clear()

    moderation = record_moderation(s, ctx_at("2027-01-07T14:00", settings), reference=audit.reference,
                                   by=psw.id, grade="good", domains={}, note="Agreed.")
    s.commit()
    deliver(engine=authority, settings=settings)

    assert moderation.status == ModerationStatus.AGREED and moderation.decided_at is not None
    assert moderation.director_agreed_at is None
    assert s.get(Audit, audit.id).status == AuditStatus.IN_MODERATION
    assert [r for r in _ours(smtp_server.received) if "moderated" in r.message["Subject"]] == []
    with pytest.raises(PermissionDenied, match=rf"{psw.id} \(principal social worker\) may not agree-moderation"):
        agree_moderation(s, ctx_at("2027-01-08T10:00", settings), reference=audit.reference, by=psw.id)

    agreed = agree_moderation(s, ctx_at("2027-01-08T10:00", settings), reference=audit.reference, by=director.id)
    s.commit()
    deliver(engine=authority, settings=settings)

    assert agreed.director_agreed_by_id == director.id
    assert agreed.director_agreed_at == ctx_at("2027-01-08T10:00", settings).now
    assert s.get(Audit, audit.id).status == AuditStatus.COMPLETED
    recipients = Counter(r.rcpt_tos[0] for r in _ours(smtp_server.received) if "moderated" in r.message["Subject"])
    assert recipients == {audit.auditor.email: 1, audit.child.key_worker.email: 1}
    with pytest.raises(UserError, match=f"^{audit.reference} is not in moderation$"):
        agree_moderation(s, ctx_at("2027-01-08T11:00", settings), reference=audit.reference, by=director.id)


def test_assistant_director_agreement_needs_the_panels_decision_first(s, authority, settings) -> None:
    audits, _ = _in_moderation(s, authority, settings, ["outstanding", "inadequate", "inadequate"])
    director = _role(s, Role.ASSISTANT_DIRECTOR)[0]

    with pytest.raises(UserError, match="the panel has not recorded its decision yet"):
        agree_moderation(s, ctx_at("2027-01-07T14:00", settings), reference=audits[0].reference, by=director.id)

    assert _moderation(s, audits[0]).director_agreed_at is None
    assert s.get(Audit, audits[0].id).status == AuditStatus.IN_MODERATION


def test_assistant_director_recording_a_good_grade_agrees_it_at_once(s, authority, settings) -> None:
    audits, _ = _in_moderation(s, authority, settings, ["inadequate", "inadequate", "inadequate"])
    audit = next(a for a in audits if _moderation(s, a) is not None)
    director = _role(s, Role.ASSISTANT_DIRECTOR)[0]

    moderation = record_moderation(s, ctx_at("2027-01-07T14:00", settings), reference=audit.reference,
                                   by=director.id, grade="good", domains={}, note="Better than graded.")

    assert moderation.status == ModerationStatus.CHANGED and moderation.director_agreed_by_id == director.id
    assert s.get(Audit, audit.id).status == AuditStatus.COMPLETED


def test_panel_raising_a_grade_to_good_waits_for_an_assistant_director(s, authority, settings) -> None:
    audits, psw = _in_moderation(s, authority, settings, ["inadequate", "inadequate", "inadequate"])
    audit = next(a for a in audits if _moderation(s, a) is not None)

    record_moderation(s, ctx_at("2027-01-07T14:00", settings), reference=audit.reference, by=psw.id,
                      grade="good", domains={}, note="Better than graded.")

    assert s.get(Audit, audit.id).status == AuditStatus.IN_MODERATION


def _chases(received) -> list[tuple[str, str]]:
    """Return (recipient, audit reference) of each moderation chased, alone or as an item of a digest."""
    found = []
    for r in _ours(received):
        subject = r.message["Subject"]
        if "undecided after" in subject:
            found.append((r.rcpt_tos[0], subject.split()[3]))
        elif re.match(r"Moderation of \d+ audits undecided", subject):
            text = r.message.get_body(("plain",)).get_content()
            found += [(r.rcpt_tos[0], ref) for ref in re.findall(r"^- Audit (\S+) \(case", text, re.MULTILINE)]
    return found


def test_undecided_moderation_is_chased_once_per_step(s, authority, settings, smtp_server) -> None:
    audits, psw = _in_moderation(s, authority, settings, ["good", *["inadequate"] * 8])
    cycle = audits[0].cycle
    moderations = list(s.scalars(select(Moderation).order_by(Moderation.id)))
    decided = next(m for m in moderations if m.original_overall == "inadequate")
    record_moderation(s, ctx_at("2027-01-05T14:00", settings), reference=decided.audit.reference, by=psw.id,
                      grade="inadequate", domains={}, note="Agreed.")
    s.commit()
    undecided = [m for m in moderations if m is not decided]
    [qa] = _role(s, Role.QA_MANAGER)
    directors = _role(s, Role.ASSISTANT_DIRECTOR)
    smtp_server.received.clear()

    chased: dict[date, list[tuple[str, str]]] = {}
    for day in [date(2027, 1, 4) + timedelta(days=n) for n in range(21)]:  # selected on Monday 4 January
        for hour in ("09:00", "12:00"):  # the second run of a day sends nothing new
            _run(s, authority, settings, cycle, now=f"{day.isoformat()}T{hour}")
        chased[day] = _chases(smtp_server.received)
        # However many moderations a person is chased for, one message a day.
        assert max(Counter(to for to, _ in {(r.rcpt_tos[0], r.message["Subject"]) for r in _ours(smtp_server.received)
                                              if "undecided" in r.message["Subject"]}).values(), default=1) == 1
        smtp_server.received.clear()

    expected: dict[date, list[tuple[str, str]]] = {}
    for m in undecided:
        ref = m.audit.reference
        moderator = [s.get(Staff, m.moderator_id)] if m.moderator_id else []
        director = [s.get(Staff, m.assistant_director_id)] if m.assistant_director_id else directors
        # 3, 5 and 8 working days after selection: Thursday 7, Monday 11 and Thursday 14 January.
        expected.setdefault(date(2027, 1, 7), []).extend(
            (p.email, ref) for p in {p.id: p for p in [*_panel(s, settings), *moderator]}.values())
        expected.setdefault(date(2027, 1, 11), []).append((qa.email, ref))
        expected.setdefault(date(2027, 1, 14), []).extend((d.email, ref) for d in director)
    assert {day: sorted(got) for day, got in chased.items() if got} == {
        day: sorted(want) for day, want in expected.items()}
    assert len(undecided) >= 2 and any(m.assistant_director_id for m in undecided)


def test_a_missed_chase_day_is_caught_up_once(s, authority, settings, smtp_server) -> None:
    audits, _ = _in_moderation(s, authority, settings, ["good", "inadequate", "inadequate"])
    moderation = _moderation(s, audits[0])
    director = s.get(Staff, moderation.assistant_director_id)
    [qa] = _role(s, Role.QA_MANAGER)
    smtp_server.received.clear()

    first = _run(s, authority, settings, audits[0].cycle, now="2027-01-14T09:00")  # 8 working days: every step due
    again = _run(s, authority, settings, audits[0].cycle, now="2027-01-15T09:00")

    got = Counter(to for to, ref in _chases(smtp_server.received) if ref == audits[0].reference)
    assert got[qa.email] == 1 and got[director.email] == 1
    assert all(got[p.email] == 1 for p in _panel(s, settings))
    assert first.chased > 0 and again.chased == 0


def test_awaiting_director_chase_says_so(s, authority, settings, smtp_server) -> None:
    audits, psw = _in_moderation(s, authority, settings, ["good", "inadequate", "inadequate"])
    record_moderation(s, ctx_at("2027-01-05T14:00", settings), reference=audits[0].reference, by=psw.id,
                      grade="good", domains={}, note="Agreed.")
    s.commit()
    director = s.get(Staff, _moderation(s, audits[0]).assistant_director_id)
    smtp_server.received.clear()

    _run(s, authority, settings, audits[0].cycle, now="2027-01-14T09:00")

    [chase] = [m for m in _to(smtp_server.received, director.email) if audits[0].reference in m["Subject"]]
    body = chase.get_body(("plain",)).get_content()
    assert "an assistant director to agree the panel's grade" in body
    assert "auditcycle " not in body and f"Agree the grade of audit {audits[0].reference}: " in body


def test_tracker_lists_moderations_in_progress_with_their_age(s, authority, settings, app_env) -> None:
    from typer.testing import CliRunner

    from auditcycle.cli import app, commands  # noqa: F401  (registers every command)

    audits, psw = _in_moderation(s, authority, settings, ["good", "inadequate", "inadequate"])
    record_moderation(s, ctx_at("2027-01-05T14:00", settings), reference=audits[0].reference, by=psw.id,
                      grade="good", domains={}, note="Agreed.")
    s.commit()
    refs = [m.audit.reference for m in s.scalars(select(Moderation).order_by(Moderation.id))]

    def listing(now: str):
        s.commit()  # the command opens its own session: leave the database to it
        return CliRunner().invoke(app, ["list", "moderations", "--month", "2026-12", "--json", "--now", now])

    result = listing("2027-01-07T10:00")  # selected Monday 4 January: 3 working days on

    assert result.exit_code == 0, result.output
    items = {i["reference"]: i for i in json.loads(result.output)["items"]}
    assert list(items) == refs
    assert items[audits[0].reference]["status"] == "awaiting an assistant director"
    assert {i["status"] for r, i in items.items() if r != audits[0].reference} == {"awaiting the panel"}
    assert {i["age_working_days"] for i in items.values()} == {3}

    director = _moderation(s, audits[0]).assistant_director_id
    agree_moderation(s, ctx_at("2027-01-07T11:00", settings), reference=audits[0].reference, by=director)
    s.commit()
    later = {i["reference"]: i for i in json.loads(listing("2027-01-08T10:00").output)["items"]}

    assert later[audits[0].reference]["status"] == "final" and later[audits[0].reference]["age_working_days"] is None
    assert later[audits[0].reference]["director_agreed_by_id"] == director
    assert {i["age_working_days"] for r, i in later.items() if r != audits[0].reference} == {4}
