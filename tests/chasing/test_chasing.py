"""The chase phase: reminders before and after the due date, QA copies, catching up, and stopping."""
import re
from collections import Counter
from datetime import date

import pytest
from conftest import PLANTED
from sqlalchemy import select, update

from auditcycle.booking.meetings import book
from auditcycle.chasing.reminders import ChaseSummary, chase, open_cycles, step_due
from auditcycle.core.clock import Month
from auditcycle.core.context import build_context
from auditcycle.core.settings import Settings
from auditcycle.models import Audit, Meeting, OutboxMessage, Staff
from auditcycle.models.enums import AuditStatus, MeetingKind, MeetingStatus, Role
from auditcycle.notices.queue import queue_notices
from auditcycle.notifications.gateway import deliver
from auditcycle.sampling.cycle import draw, monthly_cycle

DEC = Month(2026, 12)
DUE = date(2026, 12, 31)  # Thursday; 25 and 28 December and 1 January are bank holidays
PLAIN = Settings(database_url="sqlite://")


@pytest.fixture
def audit(s, authority, settings, smtp_server) -> Audit:
    """One December audit, notified, with nothing booked; the notices already delivered and cleared."""
    draw(s, build_context("2026-11-23T09:00", settings=settings), month=DEC, size=1, seed=21)
    s.commit()
    queue_notices(s, build_context("2026-11-24T12:00", settings=settings), cycle=monthly_cycle(s, DEC))
    s.commit()
    deliver(engine=authority, settings=settings)
    smtp_server.received.clear()
    [only] = s.scalars(select(Audit))
    assert only.status == AuditStatus.NOTIFIED and only.due_date == DUE
    return only


def _run(s, authority, settings, now: str) -> ChaseSummary:
    ctx = build_context(now, settings=settings)
    summary = chase(s, ctx, cycles=open_cycles(s, ctx))
    s.commit()
    deliver(engine=authority, settings=settings)
    return summary


def _received(s, smtp_server) -> Counter[tuple[str, str]]:
    """Count the chase messages the SMTP server received, by (recipient, step)."""
    steps = {m.message_id: m.step for m in s.scalars(select(OutboxMessage).where(OutboxMessage.phase == "chase"))}
    counts: Counter[tuple[str, str]] = Counter()
    for r in smtp_server.received:
        assert len(r.rcpt_tos) == 1 and "," not in r.message["To"]
        counts[(r.rcpt_tos[0], steps[r.message["Message-ID"]])] += 1
    return counts


def _audit_steps(counts: Counter, email: str) -> Counter:
    return Counter({step: n for (to, step), n in counts.items() if to == email and not step.startswith("lc-")})


def _add_qa_manager(s, staff_id: str) -> Staff:
    manager = Staff(id=staff_id, name=f"QA Manager {staff_id}", email=f"{staff_id.lower()}@example.org",
                    role=Role.QA_MANAGER, auditor=False, active=True)
    s.add(manager)
    s.commit()
    return manager


def _qa_emails(s) -> list[str]:
    return sorted(s.scalars(select(Staff.email).where(Staff.role == Role.QA_MANAGER, Staff.active)))


@pytest.mark.parametrize(("now", "expected"), [
    ("2026-12-18T09:00", None),
    ("2026-12-22T09:00", ("due-in-5", False, 5, False)),
    ("2026-12-24T09:00", ("due-in-5", False, 3, False)),
    ("2026-12-30T09:00", ("due-in-1", False, 1, False)),
    ("2026-12-31T16:59", ("due-in-1", False, 0, False)),
    ("2026-12-31T17:01", ("overdue-2026-12-31", True, 0, False)),
    ("2027-01-05T09:00", ("overdue-2027-01-05", True, 2, False)),
    ("2027-01-06T09:00", ("overdue-2027-01-06", True, 3, True)),
])
def test_step_due_picks_the_one_step_of_the_day(now: str, expected) -> None:
    step = step_due(build_context(now, settings=PLAIN), due=DUE)

    got = None if step is None else (step.key, step.overdue, step.working_days, step.copy_qa)
    assert got == expected


def test_chase_sends_the_5_and_1_day_reminders_once_each(s, authority, settings, smtp_server, audit) -> None:
    days = ["2026-12-18", "2026-12-21", "2026-12-22", "2026-12-23", "2026-12-24", "2026-12-29",
            "2026-12-30", "2026-12-31"]
    after_each = {}
    for day in days:
        _run(s, authority, settings, f"{day}T09:00")
        after_each[day] = _audit_steps(_received(s, smtp_server), audit.auditor.email)

    assert after_each["2026-12-21"] == Counter()
    assert after_each["2026-12-22"] == Counter({"due-in-5": 1})
    assert after_each["2026-12-29"] == Counter({"due-in-5": 1})
    assert after_each["2026-12-31"] == Counter({"due-in-5": 1, "due-in-1": 1})


def test_chase_reminder_says_what_is_due_and_names_no_child(s, authority, settings, smtp_server, audit) -> None:
    _run(s, authority, settings, "2026-12-22T09:00")

    [msg] = [r.message for r in smtp_server.received
             if r.rcpt_tos == [audit.auditor.email] and r.message["Subject"].startswith("Reminder: audit")]
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    assert msg["Subject"] == (f"Reminder: audit {audit.reference} is due by 17:00 on Thursday 31 December 2026 "
                              "(5 working days left)")
    assert f"case {audit.child_id}, {audit.child.initials}" in text
    assert f'href="{settings.framework.guidance_url}"' in html
    raw = b"".join(r.data for r in smtp_server.received).decode()
    assert [v for v in (PLANTED["child_first"], PLANTED["child_last"], PLANTED["dob"], "17 February 2013")
            if v in raw] == []


@pytest.mark.parametrize("now", ["2026-12-26T09:00", "2026-12-28T09:00", "2027-01-01T09:00"])
def test_chase_on_a_weekend_or_bank_holiday_sends_nothing(s, authority, settings, smtp_server, audit,
                                                          now: str) -> None:
    summary = _run(s, authority, settings, now)

    assert summary == ChaseSummary()
    assert smtp_server.received == []
    # The same audit on the next working day is chased, so the quiet day was the calendar's doing.
    assert _run(s, authority, settings, "2027-01-04T09:00" if now.startswith("2027") else "2026-12-29T09:00"
                ).reminders == 1


def test_chase_overdue_sends_one_reminder_per_working_day(s, authority, settings, smtp_server, audit) -> None:
    for now in ["2027-01-04T09:00", "2027-01-04T15:00", "2027-01-05T09:00"]:
        _run(s, authority, settings, now)

    counts = _received(s, smtp_server)
    assert _audit_steps(counts, audit.auditor.email) == Counter(
        {"overdue-2027-01-04": 1, "overdue-2027-01-05": 1})
    assert [k for k in counts if k[0] in _qa_emails(s)] == []


def test_chase_copies_each_qa_manager_from_the_third_working_day_overdue(s, authority, settings, smtp_server,
                                                                         audit) -> None:
    _add_qa_manager(s, "QA-EXTRA")
    qa = _qa_emails(s)
    assert len(qa) == 2 and audit.auditor.email not in qa

    second = _run(s, authority, settings, "2027-01-05T09:00")
    third = _run(s, authority, settings, "2027-01-06T09:00")

    assert (second.qa_copies, third.qa_copies) == (0, 2)
    counts = _received(s, smtp_server)
    assert {k: n for k, n in counts.items() if k[0] in qa} == {(email, "overdue-2027-01-06"): 1 for email in qa}
    copies = [r.message for r in smtp_server.received if r.rcpt_tos[0] in qa]
    [original] = [r.message for r in smtp_server.received if r.rcpt_tos == [audit.auditor.email]
                  and r.message["Subject"].startswith("Overdue: audit") and "3 working days" in r.message["Subject"]]
    assert sorted(m["To"] for m in copies) == qa
    # The copy is the auditor's reminder without the form's link: a link is for its one holder.
    form_link = re.compile(r"\r?\n\r?\nOpen the audit form: \S+")
    assert form_link.search(original.get_body(("plain",)).get_content())
    for copy in copies:
        assert copy["Subject"] == original["Subject"]
        assert copy.get_body(("plain",)).get_content() == form_link.sub("", original.get_body(("plain",)).get_content())
    assert "Quality Assurance manager is copied" in original.get_body(("plain",)).get_content()


@pytest.mark.parametrize("status", [AuditStatus.SUBMITTED, AuditStatus.WITHDRAWN])
def test_chase_stops_once_the_audit_is_submitted_or_withdrawn(s, authority, settings, smtp_server, audit,
                                                              status: AuditStatus) -> None:
    _run(s, authority, settings, "2026-12-22T09:00")
    before = _received(s, smtp_server)
    s.execute(update(Audit).where(Audit.id == audit.id).values(status=status))
    s.commit()

    later = [_run(s, authority, settings, now) for now in ["2026-12-30T09:00", "2027-01-06T09:00"]]

    assert sum(before.values()) > 0
    assert [x.messages for x in later] == [0, 0]
    assert _received(s, smtp_server) == before
    assert open_cycles(s, build_context("2027-01-06T09:00", settings=settings)) == []


def test_chase_rerun_on_the_same_day_sends_nothing(s, authority, settings, smtp_server, audit) -> None:
    first = _run(s, authority, settings, "2026-12-22T09:00")
    count = len(smtp_server.received)

    again = _run(s, authority, settings, "2026-12-22T14:00")

    assert first.messages == count > 0
    assert again.messages == 0 and len(smtp_server.received) == count


def test_chase_catches_up_missed_runs_with_each_step_once(s, authority, settings, smtp_server, audit) -> None:
    _add_qa_manager(s, "QA-EXTRA")
    auditor, qa = audit.auditor.email, _qa_emails(s)

    # Day -7 runs; -6, -5 (the 5-day reminder's day) and -4 are missed.
    assert _run(s, authority, settings, "2026-12-18T09:00").messages == 0
    _run(s, authority, settings, "2026-12-24T09:00")
    # -2 and -1 (the 1-day reminder's day) are missed; the due day runs.
    _run(s, authority, settings, "2026-12-31T09:00")
    # Overdue days 1 to 4 are missed, the QA copy's threshold (day 3) among them.
    _run(s, authority, settings, "2027-01-08T09:00")

    counts = _received(s, smtp_server)
    assert _audit_steps(counts, auditor) == Counter({"due-in-5": 1, "due-in-1": 1, "overdue-2027-01-08": 1})
    assert {k: n for k, n in counts.items() if k[0] in qa} == {(email, "overdue-2027-01-08"): 1 for email in qa}
    subjects = [r.message["Subject"] for r in smtp_server.received if r.rcpt_tos == [auditor]
                and f": audit {audit.reference} " in r.message["Subject"]]
    assert [x.rsplit("(", 1)[1] for x in subjects] == [
        "3 working days left)", "due today by 17:00)", "5 working days overdue)"]


def test_chase_skips_a_superseded_reminder_for_good(s, authority, settings, smtp_server, audit) -> None:
    # The 5-day reminder's day is missed and the 1-day reminder goes; the 5-day one never follows.
    for now in ["2026-12-30T09:00", "2026-12-30T10:00", "2026-12-31T09:00"]:
        _run(s, authority, settings, now)

    assert _audit_steps(_received(s, smtp_server), audit.auditor.email) == Counter({"due-in-1": 1})


def test_chase_unbooked_conversation_goes_to_auditor_and_key_worker(s, authority, settings, smtp_server,
                                                                    audit) -> None:
    key_worker = audit.child.key_worker

    summary = _run(s, authority, settings, "2026-12-22T09:00")

    counts = _received(s, smtp_server)
    assert summary.conversation_reminders == 2
    assert {k: n for k, n in counts.items() if k[1].startswith("lc-")} == {
        (audit.auditor.email, "lc-due-in-5"): 1, (key_worker.email, "lc-due-in-5"): 1}
    [to_key_worker] = [r.message for r in smtp_server.received if r.rcpt_tos == [key_worker.email]]
    assert to_key_worker["Subject"].startswith(f"Reminder: learning conversation for audit {audit.reference}")
    assert key_worker.name in to_key_worker.get_body(("plain",)).get_content()


def test_chase_booked_conversation_is_not_chased_until_cancelled(s, authority, settings, smtp_server,
                                                                 audit) -> None:
    book(s, build_context("2026-11-25T09:00", settings=settings), cycle=monthly_cycle(s, DEC))
    s.commit()
    deliver(engine=authority, settings=settings)
    smtp_server.received.clear()
    conversation = s.scalar(select(Meeting).where(Meeting.audit_id == audit.id,
                                                  Meeting.kind == MeetingKind.LEARNING_CONVERSATION))
    assert conversation is not None and conversation.status == MeetingStatus.BOOKED

    booked = _run(s, authority, settings, "2026-12-22T09:00")
    conversation.status = MeetingStatus.CANCELLED
    s.commit()
    cancelled = _run(s, authority, settings, "2026-12-23T09:00")

    assert (booked.reminders, booked.conversation_reminders) == (1, 0)
    assert (cancelled.reminders, cancelled.conversation_reminders) == (0, 2)


def test_open_cycles_lists_cycles_with_audits_not_yet_submitted(s, settings, audit) -> None:
    ctx = build_context("2026-12-22T09:00", settings=settings)

    assert [c.month for c in open_cycles(s, ctx)] == ["2026-12"]


def test_chase_tells_each_person_once_a_day_of_all_their_audits(s, authority, settings, smtp_server) -> None:
    draw(s, build_context("2026-11-23T09:00", settings=settings), month=DEC, size=3, seed=21)
    audits = list(s.scalars(select(Audit).order_by(Audit.id)))
    auditor = audits[0].auditor
    s.execute(update(Audit).values(auditor_id=auditor.id))  # one auditor with all three audits
    s.commit()
    queue_notices(s, build_context("2026-11-24T12:00", settings=settings), cycle=monthly_cycle(s, DEC))
    s.commit()
    deliver(engine=authority, settings=settings)
    smtp_server.received.clear()
    qa = _qa_emails(s)

    first = _run(s, authority, settings, "2027-01-06T09:00")  # 3 working days overdue: the QA managers copied
    again = _run(s, authority, settings, "2027-01-06T15:00")

    to = Counter(r.rcpt_tos[0] for r in smtp_server.received)
    # Three audits' reminders and three conversations' reminders to the auditor, as two messages; one to each
    # QA manager; each item still recorded once under its own key.
    assert to[auditor.email] == 2 and all(to[email] == 1 for email in qa)
    assert (first.reminders, first.qa_copies, again.messages) == (1, len(qa), 0)
    mine = [r.message for r in smtp_server.received if r.rcpt_tos == [auditor.email]]
    subjects = sorted(m["Subject"] for m in mine)
    assert subjects[0].startswith("Overdue: 3 learning conversations not yet held")
    assert subjects[1].startswith("Overdue: 3 of 3 audits are past the due date")
    [digest] = [m for m in mine if "audits are past" in m["Subject"]]
    text = digest.get_body(("plain",)).get_content()
    for audit in audits:
        assert audit.reference in digest["Subject"] and audit.reference in text
    # The auditor's own digest carries a form link for each audit; a QA manager's carries none.
    assert len(re.findall(r"open the form for \S+: \S+/act/", text)) == 3
    [copy] = [r.message for r in smtp_server.received if r.rcpt_tos == [qa[0]]]
    assert "/act/" not in copy.get_body(("plain",)).get_content()
    assert PLANTED["child_first"] not in text and PLANTED["child_last"] not in text

    smtp_server.received.clear()
    _run(s, authority, settings, "2027-01-07T09:00")  # the next day's reminders: again one message each
    assert Counter(r.rcpt_tos[0] for r in smtp_server.received)[auditor.email] == 2
