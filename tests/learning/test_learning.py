"""The learning culture: Make a Difference summaries and interviews, the learning session and questionnaires."""
import re
from collections import Counter
from datetime import datetime, timedelta

import pytest
import vobject
from conftest import PLANTED, QA_MANAGER
from factories import context_at as ctx_at
from icalendar import Calendar
from mail_links import labelled_link, link_row
from sqlalchemy import func, select

from auditcycle.core.clock import Month, localize
from auditcycle.core.errors import PermissionDenied, UserError
from auditcycle.learning.culture import (
    approve,
    approved_summaries,
    draft_summaries,
    invite_learning_session,
    nominate_interview,
    session_invitees,
    shown_summary,
)
from auditcycle.learning.questionnaire import QUESTIONNAIRE_LINK, send_questionnaires
from auditcycle.models import (
    Audit,
    AuditCycle,
    BusyPeriod,
    FamilyContact,
    Link,
    MakeADifference,
    OutboxMessage,
    Staff,
    Submission,
)
from auditcycle.models.enums import AuditStatus, Role
from auditcycle.moderation.panel import agree_moderation, record_moderation, select_for_moderation
from auditcycle.notifications.gateway import deliver
from auditcycle.sampling.cycle import draw
from auditcycle.submissions.grades import record_grades

DEC = Month(2026, 12)
NOV = Month(2026, 11)
DRAW_NOW = "2026-11-23T09:00"
SUBMIT_NOW = "2026-12-20T10:00"
AFTER_DUE = "2027-01-04T09:00"
AFTER_CLOSURE = "2027-01-18T09:00"  # moderation of December closes at the end of Friday 15 January 2027
NOMINATE_NOW = "2027-02-01T09:00"  # a Monday
STRENGTHS = (f"{PLANTED['child_first']} {PLANTED['child_last']} trusts the worker; "
             f"{PLANTED['contact_name']} says visits are always on time.")




def _drawn(s, settings, size: int, month: Month = DEC, now: str = DRAW_NOW) -> tuple[AuditCycle, list[Audit]]:
    summary = draw(s, ctx_at(now, settings), month=month, size=size, seed=21)
    s.commit()
    cycle = s.scalar(select(AuditCycle).where(AuditCycle.reference == summary.cycle))
    return cycle, list(s.scalars(select(Audit).where(Audit.cycle_id == cycle.id).order_by(Audit.id)))


def _submit(s, settings, audit: Audit, overall: str, *, strengths: str = "", now: str = SUBMIT_NOW) -> None:
    ctx = ctx_at(now, settings)
    submission = Submission(audit_id=audit.id, submitted_by_id=audit.auditor_id, overall=overall,
                            strengths=strengths, submitted_at=ctx.now, recorded_at=ctx.now)
    s.add(submission)
    s.flush()
    record_grades(s, audit=audit, submission=submission,
                  grades=dict.fromkeys(settings.framework.domains, overall), overall=overall,
                  by=audit.auditor_id, reason="submission", now=ctx.now)
    audit.status = AuditStatus.SUBMITTED
    s.flush()


def _close(s, settings, cycle: AuditCycle, now: str = AFTER_CLOSURE) -> None:
    """Close moderation through the real phase: every submitted audit not selected becomes final."""
    select_for_moderation(s, ctx_at(now, settings), cycle=cycle)
    s.commit()


def QA_MANAGER_EMAIL(s) -> str:  # noqa: N802 - read like the QA_MANAGER constant
    return s.get(Staff, QA_MANAGER).email


def _ours(received) -> list:
    return [r for r in received if ".learn@" in r.message["Message-ID"]]


def _to(received, email: str) -> list:
    return [r.message for r in _ours(received) if r.rcpt_tos == [email]]


def _calendar(msg) -> str | None:
    for part in msg.walk():
        if part.get_content_type() == "text/calendar":
            return part.get_content()
    return None


def _role(s, role: Role) -> list[Staff]:
    return list(s.scalars(select(Staff).where(Staff.role == role, Staff.active).order_by(Staff.id)))


def _qa_team(s) -> list[Staff]:
    return [*_role(s, Role.QA_MANAGER), *_role(s, Role.PRACTICE_IMPROVEMENT_MANAGER),
            *_role(s, Role.PRINCIPAL_SOCIAL_WORKER)]


def _attendees(event) -> list[str]:
    attendees = event.get("ATTENDEE")
    attendees = attendees if isinstance(attendees, list) else [attendees]
    return sorted(str(a).lower() for a in attendees)


def _good_summaries(s, authority, settings) -> tuple[AuditCycle, list[Audit]]:
    """December: audits 0 and 1 finalised good, 2 good but moderated down, 3 requires improvement."""
    cycle, audits = _drawn(s, settings, size=4)
    family = s.scalar(select(FamilyContact.name).where(FamilyContact.child_id == audits[0].child_id))
    for audit, grade in zip(audits, ["good", "outstanding", "good", "requires_improvement"], strict=True):
        _submit(s, settings, audit, grade, strengths=f"{STRENGTHS} Also {family}." if audit is audits[0] else "")
    s.commit()
    select_for_moderation(s, ctx_at(AFTER_DUE, settings), cycle=cycle)
    psw = _role(s, Role.PRINCIPAL_SOCIAL_WORKER)[0]
    decided = ctx_at("2027-01-07T14:00", settings)
    record_moderation(s, decided, reference=audits[0].reference, by=psw.id, grade="good", domains={}, note="")
    record_moderation(s, decided, reference=audits[1].reference, by=psw.id, grade="outstanding", domains={}, note="")
    record_moderation(s, decided, reference=audits[2].reference, by=psw.id, grade="requires_improvement",
                      domains={}, note="")
    # Each was graded good or better, so each is final once an assistant director agrees.
    director = _role(s, Role.ASSISTANT_DIRECTOR)[0]
    for audit in audits[:3]:
        agree_moderation(s, ctx_at("2027-01-08T10:00", settings), reference=audit.reference, by=director.id)
    s.commit()
    _close(s, settings, cycle)
    return cycle, audits


def test_draft_summaries_from_good_finalised_audits_email_the_qa_team_once(s, authority, settings,
                                                                          smtp_server) -> None:
    cycle, audits = _good_summaries(s, authority, settings)

    created = draft_summaries(s, ctx_at(AFTER_CLOSURE, settings), cycle=cycle)
    s.commit()
    again = draft_summaries(s, ctx_at("2027-01-19T09:00", settings), cycle=cycle)
    s.commit()
    deliver(engine=authority, settings=settings)

    rows = list(s.scalars(select(MakeADifference).order_by(MakeADifference.reference)))
    assert created == 2 and again == 0
    assert [(r.reference, r.kind, r.status, r.audit_id) for r in rows] == [
        (f"MAD-{audits[0].reference}", "summary", "draft", audits[0].id),
        (f"MAD-{audits[1].reference}", "summary", "draft", audits[1].id)]
    assert rows[0].practitioner_id == audits[0].child.key_worker_id
    team = _qa_team(s)
    assert len(team) == 4
    # Both drafts of the day in one message to each member of the team, each under its own reference.
    received = Counter(r.rcpt_tos[0] for r in _ours(smtp_server.received))
    assert received == {person.email: 1 for person in team}
    [message] = _to(smtp_server.received, team[0].email)
    body = message.get_body(("plain",)).get_content()
    assert message["Subject"] == "Make a Difference summaries to approve: 2 drafts from December 2026"
    assert "trusts the worker" in body and audits[0].child_id in body and "(Good)" in body
    assert "auditcycle " not in body
    for row in rows:
        assert f"Check and approve {row.reference}: " in body


def _final_good(s, settings, audits: list[Audit],
                times: tuple[str, ...] = (SUBMIT_NOW, AFTER_DUE, "2027-01-07T14:00", "2027-01-08T10:00")) -> None:
    """Submit each audit good, then select, moderate good and agree it at the times given, so it is final."""
    submitted, selected, decided, agreed = times
    for audit in audits:
        _submit(s, settings, audit, "good", strengths=f"Strengths seen in case {audit.child_id}.", now=submitted)
    s.commit()
    select_for_moderation(s, ctx_at(selected, settings), cycle=audits[0].cycle)
    psw = _role(s, Role.PRINCIPAL_SOCIAL_WORKER)[0]
    director = _role(s, Role.ASSISTANT_DIRECTOR)[0]
    for audit in audits:
        record_moderation(s, ctx_at(decided, settings), reference=audit.reference, by=psw.id,
                          grade="good", domains={}, note="")
        agree_moderation(s, ctx_at(agreed, settings), reference=audit.reference, by=director.id)
    s.commit()


def test_fifteen_drafts_on_one_day_reach_each_of_the_qa_team_as_one_message_naming_all(s, authority, settings,
                                                                                        smtp_server) -> None:
    cycle, audits = _drawn(s, settings, size=15)
    _final_good(s, settings, audits)
    _close(s, settings, cycle)

    created = draft_summaries(s, ctx_at(AFTER_CLOSURE, settings), cycle=cycle)
    s.commit()
    again = draft_summaries(s, ctx_at("2027-01-18T15:00", settings), cycle=cycle)
    s.commit()
    deliver(engine=authority, settings=settings)

    assert (created, again) == (15, 0)
    team = _qa_team(s)
    assert Counter(r.rcpt_tos[0] for r in _ours(smtp_server.received)) == {p.email: 1 for p in team}
    [message] = _to(smtp_server.received, QA_MANAGER_EMAIL(s))
    body = message.get_body(("plain",)).get_content()
    assert message["Subject"] == "Make a Difference summaries to approve: 15 drafts from December 2026"
    references = sorted(f"MAD-{a.reference}" for a in audits)
    # Each draft with its own link, for this reader and naming that summary alone.
    ctx = ctx_at(AFTER_CLOSURE, settings)
    links = {r: link_row(s, ctx, labelled_link(message, f"Check and approve {r}")) for r in references}
    assert {r: (link.purpose, link.subject_ref, link.staff_id) for r, link in links.items()} == {
        r: ("mad-approve", r, QA_MANAGER) for r in references}
    assert "auditcycle " not in body
    for audit in audits:
        assert f"Strengths seen in case {audit.child_id}." in body


def test_a_draft_made_later_the_same_day_is_told_once_on_its_own(s, authority, settings, smtp_server) -> None:
    cycle, audits = _drawn(s, settings, size=4)
    _final_good(s, settings, audits[:3])
    _close(s, settings, cycle)
    draft_summaries(s, ctx_at(AFTER_CLOSURE, settings), cycle=cycle)
    s.commit()
    deliver(engine=authority, settings=settings)
    # The fourth form arrives late, is moderated after closure, and becomes final that afternoon.
    _final_good(s, settings, audits[3:],
                ("2027-01-18T09:30", "2027-01-18T10:00", "2027-01-18T11:00", "2027-01-18T12:00"))

    later = draft_summaries(s, ctx_at("2027-01-18T14:00", settings), cycle=cycle)
    s.commit()
    again = draft_summaries(s, ctx_at("2027-01-18T16:00", settings), cycle=cycle)
    s.commit()
    deliver(engine=authority, settings=settings)

    assert (later, again) == (1, 0)
    subjects = [m["Subject"] for m in _to(smtp_server.received, QA_MANAGER_EMAIL(s))]
    assert subjects == ["Make a Difference summaries to approve: 3 drafts from December 2026",
                        f"Make a Difference summary to approve: MAD-{audits[3].reference} (Good)"]


def test_draft_summary_keeps_the_strengths_as_written_and_mails_them_redacted(s, authority, settings,
                                                                              smtp_server) -> None:
    cycle, audits = _good_summaries(s, authority, settings)

    draft_summaries(s, ctx_at(AFTER_CLOSURE, settings), cycle=cycle)
    s.commit()
    deliver(engine=authority, settings=settings)

    # The draft is the council's record, for the QA team to edit: stored as the auditor wrote it.
    summary = s.scalar(select(MakeADifference.summary).where(MakeADifference.audit_id == audits[0].id))
    assert summary.startswith(STRENGTHS)
    raw = b"".join(r.data for r in _ours(smtp_server.received)).decode("utf-8", "replace")
    bodies = "\n".join(r.message.get_body(("plain",)).get_content() for r in _ours(smtp_server.received))
    assert "Z. Q. trusts the worker; X. M. says visits" in " ".join(bodies.split())
    for planted in (PLANTED["child_first"], PLANTED["child_last"], PLANTED["contact_name"], "Marplewoode"):
        assert planted not in raw and planted not in bodies


def test_draft_summaries_wait_for_the_audit_to_be_final(s, authority, settings) -> None:
    cycle, audits = _drawn(s, settings, size=2)
    _submit(s, settings, audits[0], "good")
    _submit(s, settings, audits[1], "outstanding")
    s.commit()

    created = draft_summaries(s, ctx_at(AFTER_DUE, settings), cycle=cycle)

    assert created == 0
    assert s.scalar(select(func.count()).select_from(MakeADifference)) == 0


def test_approve_by_the_qa_team_marks_the_summary_approved(s, authority, settings) -> None:
    cycle, audits = _good_summaries(s, authority, settings)
    draft_summaries(s, ctx_at(AFTER_CLOSURE, settings), cycle=cycle)
    manager = _role(s, Role.QA_MANAGER)[0]
    ctx = ctx_at("2027-01-19T10:00", settings)

    mad = approve(s, ctx, reference=f"MAD-{audits[0].reference}", by=manager.id)

    assert (mad.status, mad.approved_by_id, mad.approved_at) == ("approved", manager.id, ctx.now)


def test_approve_keeps_the_summary_edited_by_the_qa_team_and_only_if_edited(s, authority, settings) -> None:
    cycle, audits = _good_summaries(s, authority, settings)
    draft_summaries(s, ctx_at(AFTER_CLOSURE, settings), cycle=cycle)
    manager = _role(s, Role.QA_MANAGER)[0]
    first, second = (s.scalar(select(MakeADifference).where(MakeADifference.audit_id == a.id)) for a in audits[:2])
    as_drafted = first.summary
    shown = str(shown_summary(s, first))
    assert PLANTED["child_first"] in as_drafted and PLANTED["child_first"] not in shown

    # Approved as shown (the redacted draft, unchanged): the record keeps what the auditor wrote.
    approve(s, ctx_at("2027-01-19T10:00", settings), reference=first.reference, by=manager.id, summary=f" {shown}\n")
    with pytest.raises(UserError, match="characters; keep it to"):
        approve(s, ctx_at("2027-01-19T10:00", settings), reference=second.reference, by=manager.id,
                summary="x" * (settings.framework.text_max_chars + 1))
    assert second.status == "draft" and second.summary == ""
    approve(s, ctx_at("2027-01-19T10:05", settings), reference=second.reference, by=manager.id,
            summary="  Z. Q. now leads their own review meetings.  ")

    assert (first.status, first.summary) == ("approved", as_drafted)
    assert (second.status, second.summary) == ("approved", "Z. Q. now leads their own review meetings.")


def test_approve_by_a_key_worker_is_refused(s, authority, settings) -> None:
    cycle, audits = _good_summaries(s, authority, settings)
    draft_summaries(s, ctx_at(AFTER_CLOSURE, settings), cycle=cycle)
    key_worker = audits[0].child.key_worker_id

    with pytest.raises(PermissionDenied, match=rf"{key_worker} \(key worker\) may not mad-approve"):
        approve(s, ctx_at("2027-01-19T10:00", settings), reference=f"MAD-{audits[0].reference}", by=key_worker)

    assert s.scalar(select(MakeADifference.status).where(MakeADifference.audit_id == audits[0].id)) == "draft"


def test_approve_twice_is_refused(s, authority, settings) -> None:
    cycle, audits = _good_summaries(s, authority, settings)
    draft_summaries(s, ctx_at(AFTER_CLOSURE, settings), cycle=cycle)
    psw = _role(s, Role.PRINCIPAL_SOCIAL_WORKER)[0]
    approve(s, ctx_at("2027-01-19T10:00", settings), reference=f"MAD-{audits[0].reference}", by=psw.id)

    with pytest.raises(UserError, match="is approved: only a draft summary can be approved"):
        approve(s, ctx_at("2027-01-19T11:00", settings), reference=f"MAD-{audits[0].reference}", by=psw.id)


def test_approved_summaries_lists_only_the_approved(s, authority, settings) -> None:
    cycle, audits = _good_summaries(s, authority, settings)
    draft_summaries(s, ctx_at(AFTER_CLOSURE, settings), cycle=cycle)
    assert approved_summaries(s, month="2026-12") == []
    pim = _role(s, Role.PRACTICE_IMPROVEMENT_MANAGER)[0]

    approve(s, ctx_at("2027-01-19T10:00", settings), reference=f"MAD-{audits[1].reference}", by=pim.id)

    assert [m.reference for m in approved_summaries(s, month="2026-12")] == [f"MAD-{audits[1].reference}"]
    assert approved_summaries(s, month="2026-11") == []


def _practitioner_and_manager(s) -> tuple[Staff, Staff]:
    practitioner = _role(s, Role.KEY_WORKER)[0]
    return practitioner, s.get(Staff, practitioner.manager_id)


def test_nominate_mad_books_an_hour_with_the_principal_social_worker(s, authority, settings, smtp_server) -> None:
    practitioner, manager = _practitioner_and_manager(s)
    psw = _role(s, Role.PRINCIPAL_SOCIAL_WORKER)[0]
    ctx = ctx_at(NOMINATE_NOW, settings)

    mad = nominate_interview(s, ctx, practitioner_id=practitioner.id, by=manager.id,
                             note="Reunification achieved after a long period of work.")
    s.commit()
    deliver(engine=authority, settings=settings)

    assert (mad.reference, mad.kind, mad.status) == ("MAD-I-1", "interview", "booked")
    assert (mad.practitioner_id, mad.nominated_by_id) == (practitioner.id, manager.id)
    start, end = mad.starts_at.astimezone(ctx.tz), mad.ends_at.astimezone(ctx.tz)
    assert end - start == timedelta(minutes=60)
    assert ctx.timescales.is_working_day(start.date())
    assert ctx.now <= start and start.date() <= ctx.timescales.add_working_days(ctx.now.date(), 15)
    assert localize(datetime.combine(start.date(), settings.framework.working_day_start), ctx.tz) <= start
    assert end <= localize(datetime.combine(start.date(), settings.framework.working_day_end), ctx.tz)
    busy = list(s.scalars(select(BusyPeriod).where(BusyPeriod.staff_id.in_([practitioner.id, psw.id]),
                                                   BusyPeriod.starts_at < mad.ends_at,
                                                   BusyPeriod.ends_at > mad.starts_at)))
    assert busy == []
    expected = sorted(f"mailto:{p.email}".lower() for p in (practitioner, psw))
    for person in (practitioner, psw):
        [invite] = [m for m in _to(smtp_server.received, person.email) if _calendar(m)]
        assert invite["To"].addresses[0].addr_spec == person.email and len(invite["To"].addresses) == 1
        cal = Calendar.from_ical(_calendar(invite))
        [event] = cal.walk("VEVENT")
        assert cal["METHOD"] == "REQUEST" and str(event["UID"]) == mad.uid
        assert event.decoded("DTSTART") == mad.starts_at and event.decoded("DTEND") == mad.ends_at
        assert str(event["ORGANIZER"]).lower() == f"mailto:{settings.mail_from}".lower()
        assert _attendees(event) == expected
        parsed = vobject.readOne(_calendar(invite))
        assert parsed.method.value == "REQUEST" and parsed.vevent.uid.value == mad.uid
        assert parsed.vevent.dtend.value - parsed.vevent.dtstart.value == timedelta(minutes=60)
    [note] = _to(smtp_server.received, manager.email)
    assert _calendar(note) is None and "booked" in note["Subject"]
    assert psw.name in note.get_body(("plain",)).get_content()


def test_nominate_mad_takes_the_next_qa_member_when_the_principal_social_worker_is_busy(s, authority, settings,
                                                                                      smtp_server) -> None:
    practitioner, manager = _practitioner_and_manager(s)
    psw = _role(s, Role.PRINCIPAL_SOCIAL_WORKER)[0]
    ctx = ctx_at(NOMINATE_NOW, settings)
    s.add(BusyPeriod(staff_id=psw.id, starts_at=ctx.now, ends_at=ctx.now + timedelta(days=40)))
    s.commit()

    mad = nominate_interview(s, ctx, practitioner_id=practitioner.id, by=manager.id, note="Good outcome.")
    s.commit()
    deliver(engine=authority, settings=settings)

    invited = sorted(r.rcpt_tos[0] for r in _ours(smtp_server.received) if _calendar(r.message))
    others = sorted((p for p in _qa_team(s) if p.role != Role.PRINCIPAL_SOCIAL_WORKER), key=lambda p: p.id)
    assert mad.status == "booked"
    assert invited == sorted([practitioner.email, others[0].email])


def test_nominate_mad_with_no_free_slot_stays_draft_and_tells_the_qa_manager(s, authority, settings,
                                                                            smtp_server) -> None:
    practitioner, manager = _practitioner_and_manager(s)
    ctx = ctx_at(NOMINATE_NOW, settings)
    s.add(BusyPeriod(staff_id=practitioner.id, starts_at=ctx.now, ends_at=ctx.now + timedelta(days=40)))
    s.commit()

    mad = nominate_interview(s, ctx, practitioner_id=practitioner.id, by=manager.id, note="Good outcome.")
    s.commit()
    deliver(engine=authority, settings=settings)

    assert (mad.status, mad.uid, mad.starts_at) == ("draft", None, None)
    [qa_manager] = _role(s, Role.QA_MANAGER)
    [report] = _to(smtp_server.received, qa_manager.email)
    assert report["Subject"] == "Make a Difference interview MAD-I-1 could not be booked"
    assert "both free" in report.get_body(("plain",)).get_content()
    assert not [r for r in _ours(smtp_server.received) if _calendar(r.message)]
    [note] = _to(smtp_server.received, manager.email)
    assert "to be arranged" in note["Subject"]


def test_nominate_mad_avoids_an_interview_already_booked(s, authority, settings) -> None:
    practitioner, manager = _practitioner_and_manager(s)
    ctx = ctx_at(NOMINATE_NOW, settings)
    first = nominate_interview(s, ctx, practitioner_id=practitioner.id, by=manager.id, note="One.")

    second = nominate_interview(s, ctx, practitioner_id=practitioner.id, by=manager.id, note="Two.")

    assert second.reference == "MAD-I-2" and second.status == "booked"
    assert second.starts_at >= first.ends_at or second.ends_at <= first.starts_at


def test_nominate_mad_by_a_key_worker_is_refused(s, authority, settings) -> None:
    practitioner, _ = _practitioner_and_manager(s)
    colleague = _role(s, Role.KEY_WORKER)[1]

    with pytest.raises(PermissionDenied, match=rf"{colleague.id} \(key worker\) may not nominate-mad"):
        nominate_interview(s, ctx_at(NOMINATE_NOW, settings), practitioner_id=practitioner.id, by=colleague.id,
                           note="Good outcome.")

    assert s.scalar(select(func.count()).select_from(MakeADifference)) == 0


def test_nominate_mad_of_an_unknown_practitioner_is_refused(s, authority, settings) -> None:
    _, manager = _practitioner_and_manager(s)

    with pytest.raises(UserError, match="^NOBODY: no active member of staff has that id$"):
        nominate_interview(s, ctx_at(NOMINATE_NOW, settings), practitioner_id="NOBODY", by=manager.id, note="x")


def _closed_december(s, settings, size: int = 4) -> tuple[AuditCycle, list[Audit]]:
    cycle, audits = _drawn(s, settings, size=size)
    for audit in audits:
        _submit(s, settings, audit, "requires_improvement")
    s.commit()
    _close(s, settings, cycle)
    return cycle, audits


def test_learning_session_copies_name_only_their_recipient_with_one_uid(s, authority, settings,
                                                                       smtp_server) -> None:
    cycle, audits = _closed_december(s, settings)
    ctx = ctx_at(AFTER_CLOSURE, settings)

    queued = invite_learning_session(s, ctx, cycle=cycle)
    s.commit()
    deliver(engine=authority, settings=settings)

    invitees = session_invitees(s, cycle)
    messages = _ours(smtp_server.received)
    assert queued == len(invitees) == len(messages) > len(audits)
    assert sorted(r.rcpt_tos[0] for r in messages) == sorted(p.email for p in invitees)
    uids = set()
    for received in messages:
        msg = received.message
        cal = Calendar.from_ical(_calendar(msg))
        [event] = cal.walk("VEVENT")
        assert cal["METHOD"] == "REQUEST"
        assert _attendees(event) == [f"mailto:{received.rcpt_tos[0]}".lower()]
        assert str(event["ORGANIZER"]).lower() == f"mailto:{settings.mail_from}".lower()
        parsed = vobject.readOne(_calendar(msg))
        assert [a.value.lower() for a in parsed.vevent.attendee_list] == [f"mailto:{received.rcpt_tos[0]}".lower()]
        uids.add(parsed.vevent.uid.value)
        for audit in audits:
            assert audit.reference not in received.data.decode("utf-8", "replace")
    assert uids == {cycle.learning_uid}


def test_learning_session_is_five_working_days_after_closure_at_half_past_one_for_ninety_minutes(
        s, authority, settings, smtp_server) -> None:
    cycle, _ = _closed_december(s, settings)
    ctx = ctx_at(AFTER_CLOSURE, settings)

    invite_learning_session(s, ctx, cycle=cycle)
    s.commit()
    deliver(engine=authority, settings=settings)

    expected_start = localize(datetime(2027, 1, 22, 13, 30), ctx.tz)  # Friday 15 January + 5 working days
    assert cycle.learning_starts_at == expected_start
    assert cycle.learning_ends_at - cycle.learning_starts_at == timedelta(minutes=90)
    event = Calendar.from_ical(_calendar(_ours(smtp_server.received)[0].message)).walk("VEVENT")[0]
    assert event.decoded("DTSTART") == expected_start
    assert event.decoded("DTEND") == expected_start + timedelta(minutes=90)


def test_learning_session_invites_key_workers_managers_auditors_and_buddies(s, authority, settings) -> None:
    cycle, audits = _closed_december(s, settings, size=6)

    invitees = {p.id for p in session_invitees(s, cycle)}

    for audit in audits:
        child = audit.child
        assert child.key_worker_id in invitees and audit.auditor_id in invitees
        assert audit.buddy_id is None or audit.buddy_id in invitees
        assert child.key_worker.manager_id in invitees
        service_managers = {st.id for st in _role(s, Role.SERVICE_MANAGER) if st.service_id == child.team.service_id}
        assert service_managers and service_managers <= invitees


def test_learning_session_is_sent_once_and_not_before_closure(s, authority, settings) -> None:
    cycle, audits = _drawn(s, settings, size=3)
    for audit in audits:
        _submit(s, settings, audit, "requires_improvement")
    s.commit()
    before = invite_learning_session(s, ctx_at(AFTER_DUE, settings), cycle=cycle)
    _close(s, settings, cycle)

    first = invite_learning_session(s, ctx_at(AFTER_CLOSURE, settings), cycle=cycle)
    uid = cycle.learning_uid
    second = invite_learning_session(s, ctx_at("2027-01-19T09:00", settings), cycle=cycle)

    assert before == 0 and first > 0 and second == 0 and cycle.learning_uid == uid
    assert s.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.phase == "learn")) == first


def test_questionnaire_goes_once_per_auditor_even_across_two_cycles(s, authority, settings, smtp_server) -> None:
    november, nov_audits = _drawn(s, settings, size=3, month=NOV, now="2026-10-26T09:00")
    for audit in nov_audits:
        _submit(s, settings, audit, "good", now="2026-11-20T10:00")
    s.commit()
    december, dec_audits = _drawn(s, settings, size=6)
    for audit in dec_audits[:5]:
        _submit(s, settings, audit, "good")
    s.commit()

    first = send_questionnaires(s, ctx_at("2026-11-30T09:00", settings), cycle=november)
    s.commit()
    second = send_questionnaires(s, ctx_at("2026-12-31T09:00", settings), cycle=december)
    third = send_questionnaires(s, ctx_at("2027-01-04T09:00", settings), cycle=december)
    s.commit()
    deliver(engine=authority, settings=settings)

    nov_auditors = {a.auditor_id for a in nov_audits}
    dec_auditors = {a.auditor_id for a in dec_audits[:5]}
    emails = {st.id: st.email for st in s.scalars(select(Staff))}
    received = Counter(r.rcpt_tos[0] for r in _ours(smtp_server.received))
    assert first == len(nov_auditors) and second == len(dec_auditors - nov_auditors) and third == 0
    assert received == {emails[i]: 1 for i in nov_auditors | dec_auditors}
    for r in _ours(smtp_server.received):
        recipient = next(i for i, e in emails.items() if e == r.rcpt_tos[0])
        # Each link as it can be followed, within its fortnight of being sent.
        ctx = ctx_at("2026-12-01T09:00" if recipient in nov_auditors else "2027-01-04T09:00", settings)
        link = link_row(s, ctx, labelled_link(r.message, "Answer the questionnaire"))
        assert (link.purpose, link.staff_id) == (QUESTIONNAIRE_LINK, recipient)
        assert link.subject_ref == min((a for a in nov_audits + dec_audits[:5] if a.auditor_id == recipient),
                                       key=lambda a: (a.cycle.month, a.id)).reference
    assert s.scalar(select(func.count()).select_from(Link).where(Link.purpose == QUESTIONNAIRE_LINK)) == len(
        nov_auditors | dec_auditors)


def test_questionnaire_waits_for_a_submitted_audit(s, authority, settings) -> None:
    cycle, _ = _drawn(s, settings, size=3)

    sent = send_questionnaires(s, ctx_at(SUBMIT_NOW, settings), cycle=cycle)

    assert sent == 0


def test_learning_mail_names_no_child(s, authority, settings, smtp_server) -> None:
    cycle, _ = _good_summaries(s, authority, settings)
    ctx = ctx_at(AFTER_CLOSURE, settings)
    draft_summaries(s, ctx, cycle=cycle)
    invite_learning_session(s, ctx, cycle=cycle)
    send_questionnaires(s, ctx, cycle=cycle)
    s.commit()
    deliver(engine=authority, settings=settings)

    ours = _ours(smtp_server.received)
    raw = b"".join(r.data for r in ours).decode("utf-8", "replace")
    assert ours
    for planted in PLANTED.values():
        assert planted not in raw
    assert all(len(r.rcpt_tos) == 1 for r in ours)


ANSWERS = {"guidance_clear": "Clear", "enough_time": "Just about", "support_useful": "Very useful",
           "learning_conversation": "Well", "improve": f"More time for {PLANTED['child_first']}'s chronology."}


def _answered_first_audit(s, settings) -> Audit:
    cycle, audits = _drawn(s, settings, size=1)
    _submit(s, settings, audits[0], "good")
    s.commit()
    return audits[0]


def test_questionnaire_answers_are_kept_once_with_the_questions_as_asked(s, authority, settings) -> None:
    from auditcycle.learning.questionnaire import answer_questionnaire
    from auditcycle.models import Event, QuestionnaireResponse

    audit = _answered_first_audit(s, settings)
    row = answer_questionnaire(s, ctx_at(AFTER_DUE, settings), reference=audit.reference, by=audit.auditor_id,
                               answers=ANSWERS)

    assert [(a["key"], a["answer"]) for a in row.answers] == list(ANSWERS.items())
    assert row.answers[0]["question"] == "How clear were the audit guidance and the audit tool?"
    assert (row.staff_id, row.audit_id, row.answered_at) == (audit.auditor_id, audit.id, ctx_at(AFTER_DUE).now)
    event = s.scalar(select(Event).where(Event.kind == "questionnaire-answered"))
    assert (event.subject_ref, event.actor_id, event.detail) == (audit.reference, audit.auditor_id,
                                                                 "5 of 5 questions answered")
    with pytest.raises(UserError, match="already answered the questionnaire at 09:00 on Monday 4 January 2027"):
        answer_questionnaire(s, ctx_at("2027-01-05T09:00", settings), reference=audit.reference,
                             by=audit.auditor_id, answers=ANSWERS)
    assert s.scalar(select(func.count()).select_from(QuestionnaireResponse)) == 1


@pytest.mark.parametrize(("change", "problem"), [
    ({"enough_time": None}, "enough_time: answer “Did you have enough time to complete the audit?”"),
    ({"guidance_clear": "Brilliant"}, "guidance_clear: choose one of Very clear, Clear, Not very clear"),
    ({"improve": "x" * 2001}, "improve: at most 2,000 characters are kept"),
    ({"mood": "Happy"}, "mood: not a question of the questionnaire"),
])
def test_questionnaire_refuses_a_missing_or_unknown_answer_and_keeps_nothing(s, authority, settings, change,
                                                                             problem) -> None:
    from auditcycle.learning.questionnaire import answer_questionnaire
    from auditcycle.models import QuestionnaireResponse

    audit = _answered_first_audit(s, settings)
    with pytest.raises(UserError, match=re.escape(problem)):
        answer_questionnaire(s, ctx_at(AFTER_DUE, settings), reference=audit.reference, by=audit.auditor_id,
                             answers={**ANSWERS, **change})
    assert s.scalar(select(func.count()).select_from(QuestionnaireResponse)) == 0


def test_questionnaire_of_someone_elses_audit_is_refused(s, authority, settings) -> None:
    from auditcycle.learning.questionnaire import answer_questionnaire

    audit = _answered_first_audit(s, settings)
    other = _role(s, Role.KEY_WORKER)[0]
    with pytest.raises(PermissionDenied, match=rf"{other.id} \(key worker\) may not questionnaire"):
        answer_questionnaire(s, ctx_at(AFTER_DUE, settings), reference=audit.reference, by=other.id,
                             answers=ANSWERS)


def test_questionnaire_list_shows_each_sent_answered_or_not_with_names_cut_out(s, authority, settings) -> None:
    from auditcycle.learning.questionnaire import answer_questionnaire, questionnaire_items

    cycle, audits = _drawn(s, settings, size=3)
    for audit in audits:
        _submit(s, settings, audit, "good")
    s.commit()
    send_questionnaires(s, ctx_at("2026-12-31T09:00", settings), cycle=cycle)
    answer_questionnaire(s, ctx_at(AFTER_DUE, settings), reference=audits[0].reference, by=audits[0].auditor_id,
                         answers=ANSWERS)
    s.commit()

    items = questionnaire_items(s, ctx_at(AFTER_DUE, settings), month=DEC)

    auditors = {a.auditor_id for a in audits}
    assert sorted(i["auditor_id"] for i in items) == sorted(auditors)
    [answered] = [i for i in items if i["status"] == "answered"]
    assert answered["auditor_id"] == audits[0].auditor_id and answered["reference"] == audits[0].reference
    assert answered["answered_at"] == "2027-01-04T09:00:00+00:00"
    assert answered["answers"][-1]["answer"] == "More time for Z.'s chronology."
    assert {i["status"] for i in items if i is not answered} <= {"not answered"}
    assert questionnaire_items(s, ctx_at(AFTER_DUE, settings), month=NOV) == []


def test_an_auditor_asked_before_the_questionnaire_had_a_page_is_sent_no_link(s, authority, settings) -> None:
    from auditcycle.learning.questionnaire import PHASE
    from auditcycle.notifications.learning import compose_questionnaire
    from auditcycle.notifications.outbox import MessageKey, enqueue

    audit = _answered_first_audit(s, settings)
    auditor = audit.auditor
    enqueue(s, ctx_at("2026-12-21T09:00", settings), MessageKey(PHASE, None, f"auditor-{auditor.id}", "questionnaire"),
            auditor, compose_questionnaire(recipient_name=auditor.name, audit_ref=audit.reference, url=None))
    s.commit()

    sent = send_questionnaires(s, ctx_at("2026-12-31T09:00", settings), cycle=audit.cycle)

    assert sent == 0
    assert s.scalar(select(func.count()).select_from(Link).where(Link.purpose == QUESTIONNAIRE_LINK)) == 0


def test_questionnaire_settings_refuse_the_old_url_and_repeated_keys() -> None:
    from pydantic import ValidationError

    from auditcycle.core.settings import Settings

    with pytest.raises(ValidationError, match="questionnaire_url is no longer used"):
        Settings(database_url="sqlite://", framework={"questionnaire_url": "https://forms.example/q"})
    twice = [{"key": "time", "text": "Enough time?", "choices": ["Yes", "No"]}, {"key": "time", "text": "Why?"}]
    with pytest.raises(ValidationError, match="each question of the questionnaire needs a key of its own"):
        Settings(database_url="sqlite://", framework={"questionnaire": twice})
    with pytest.raises(ValidationError, match="two or more different one-line answers"):
        Settings(database_url="sqlite://", framework={"questionnaire": [{"key": "a", "text": "A?", "choices": ["Y"]}]})


def test_nominate_from_an_audit_nominates_its_key_worker_once(s, authority, settings, smtp_server) -> None:
    from auditcycle.learning.culture import nominate_from_audit

    audit = _answered_first_audit(s, settings)
    manager = s.get(Staff, s.get(Staff, audit.key_worker_id).manager_id)
    mad = nominate_from_audit(s, ctx_at(NOMINATE_NOW, settings), reference=audit.reference, by=manager.id,
                              note="Turned the plan around with the family.")

    assert (mad.practitioner_id, mad.from_audit_id, mad.nominated_by_id) == (audit.key_worker_id, audit.id, manager.id)
    with pytest.raises(UserError, match=f"already done by {manager.name} at 09:00 on Monday 1 February 2027"):
        nominate_from_audit(s, ctx_at("2027-02-01T10:00", settings), reference=audit.reference, by=manager.id,
                            note="Again.")
    assert s.scalar(select(func.count()).select_from(MakeADifference).where(
        MakeADifference.kind == "interview")) == 1
