"""Two audit months closing the loop, through the CLI and Prefect, with a real SMTP server.

December and January 2027: meetings are booked after their notice, spread and within the daily cap; the drawn list goes only to the QA managers and its notices wait for approval
(December) or the review window (January); supervision gaps are confirmed, dismissed or raised when left
undecided, and their Immediate Responses answered the same day, within 24 hours, late or not at all; an
undecided moderation is chased; a good form submitted late is still moderated and moderation closes with
nothing undecided; the report's Immediate Response and escalation figures match a count of the rows;
an action climbs the whole ladder, a sign-off is refused to the wrong
manager and accepted by the right one, a not_met sign-off reopens an action, observations are
assigned (a newly qualified worker's to their own team manager), a Make a Difference summary is
drafted and approved, every trend flag is raised, the learning session is invited and the
new-auditor questionnaire goes out, and every message arrives once, to the right people.
"""
import json
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

from conftest import QA_MANAGER
from forms import valid_form
from sqlalchemy import func, select, update
from sqlalchemy.orm import sessionmaker
from typer.testing import CliRunner

from auditcycle.cli import app, commands  # noqa: F401  (registers every command)
from auditcycle.core.clock import Month
from auditcycle.core.context import build_context
from auditcycle.core.settings import get_settings
from auditcycle.models import (
    Action,
    Audit,
    AuditCycle,
    Child,
    ImmediateResponse,
    MakeADifference,
    Meeting,
    Moderation,
    Observation,
    OutboxItem,
    OutboxMessage,
    Staff,
    TrendFlag,
)
from auditcycle.models.enums import (
    ActionStatus,
    AuditStatus,
    Cohort,
    MeetingKind,
    MeetingStatus,
    MessageStatus,
    Role,
)
from auditcycle.report.data import build_report_data

runner = CliRunner()
OPEN_SESSIONS: list = []


def cli(*args: str) -> str:
    for s in OPEN_SESSIONS:
        s.commit()
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, f"{args}: {result.output}"
    return result.output


def refused(*args: str, because: str = "may not") -> str:
    for s in OPEN_SESSIONS:
        s.commit()
    result = runner.invoke(app, list(args))
    assert result.exit_code == 1 and because in " ".join(result.output.split()), f"{args}: {result.output}"
    return result.output


def test_two_months_close_the_loop(authority, smtp_env, prefect_harness, tmp_path) -> None:
    db = sessionmaker(bind=authority, expire_on_commit=False)()
    OPEN_SESSIONS[:] = [db]
    staff = lambda role: db.scalars(select(Staff).where(Staff.role == role).order_by(Staff.id)).all()  # noqa: E731
    psw = staff(Role.PRINCIPAL_SOCIAL_WORKER)[0]
    qa = staff(Role.QA_MANAGER)[0]

    def form(audit: Audit, overall: str, grade: str, today: date, **extra) -> str:
        path = tmp_path / f"{audit.reference}.json"
        path.write_text(json.dumps(valid_form(audit.child.key_worker_id, today=today, overall=overall,
                                              grade=grade, **extra)))
        return str(path)

    # A cared-for child is nominated so December certainly holds one.
    cared_for = db.scalars(select(Child).where(Child.cohort == Cohort.CARED_FOR, Child.key_worker_id.is_not(None))
                           .order_by(Child.id)).first()
    manager = next(s for s in staff(Role.SERVICE_MANAGER) if s.service_id == cared_for.team.service_id)
    cli("nominate", cared_for.id, "--by", manager.id, "--month", "2026-12", "--reason", "A clear plan for permanence",
        "--now", "2026-11-20T09:00")

    # No child's supervision is on record since May, so every December audit is a suspected supervision gap.
    db.execute(update(Child).values(last_supervision_date=date(2026, 5, 1)))

    # --- December: draw, review of the list, notify, book, observations.
    cli("run", "sample", "--by", QA_MANAGER, "--month", "2026-12", "--now", "2026-11-23T09:00", "--size", "5", "--seed", "3")
    # Nobody but the QA managers is told of the draw: they get the list, as one message each.
    drawn_mail = db.scalars(select(OutboxMessage)).all()
    assert {(m.phase, m.step) for m in drawn_mail} == {("sample", "drawn-list")}
    assert sorted(m.recipient_id for m in drawn_mail) == sorted(s.id for s in staff(Role.QA_MANAGER))
    # The QA manager reviews December's list and approves it the same morning: the notices follow at once.
    refused("run", "notify", "--by", QA_MANAGER, "--month", "2026-12", "--now", "2026-11-23T10:00",
            because="notices held: the December 2026 list is with the QA team for review")
    cli("approve-list", "2026-12", "--by", qa.id, "--now", "2026-11-23T11:00")
    cli("run", "notify", "--by", QA_MANAGER, "--month", "2026-12", "--now", "2026-11-23T11:30")
    cli("run", "book", "--by", QA_MANAGER, "--month", "2026-12", "--now", "2026-11-25T09:00")
    # The family calls waited two working days for the key workers' advice on reaching the family; none came,
    # so the booking's next hourly check books them on the imported details.
    assert db.scalar(select(func.count()).select_from(Meeting).where(Meeting.kind == MeetingKind.FAMILY_CALL)) == 0
    cli("run", "book", "--by", QA_MANAGER, "--month", "2026-12", "--now", "2026-11-25T12:45")
    calls = Counter(a for a, in db.execute(select(Meeting.audit_id).where(Meeting.kind == MeetingKind.FAMILY_CALL)))
    for audit in db.scalars(select(Audit)):
        child = audit.child
        assert calls[audit.id] == (len(child.contacts) if child.age_on(date(2026, 11, 25)) < 18 else 0), audit.reference
    assert sum(calls.values()) > 0
    cli("run", "observe", "--by", QA_MANAGER, "--month", "2026-12", "--now", "2026-12-01T08:00")
    december = db.scalars(select(Audit).order_by(Audit.id)).all()
    first, good, *inadequate = december

    # --- The meetings give time to prepare and are spread: three working days' notice from the invite, learning
    # conversations from the audit month's 5th working day (Monday 7 December), at most two a person a day.
    meetings = db.scalars(select(Meeting).where(Meeting.status == MeetingStatus.BOOKED)).all()
    ts = build_context("2026-11-25T09:00").timescales
    assert meetings
    for meeting in meetings:
        assert meeting.starts_at >= ts.working_days_after(meeting.booked_at, 3) > meeting.booked_at
        if meeting.kind == MeetingKind.LEARNING_CONVERSATION:
            assert meeting.starts_at.astimezone(ts.tz).date() >= date(2026, 12, 7)
    per_person_day = Counter((person, m.starts_at.astimezone(ts.tz).date()) for m in meetings
                             for person in {m.organiser_id, m.attendee_id} - {None})
    assert max(per_person_day.values()) <= 2

    # --- Supervision gaps: one confirmed (its Immediate Response answered the same day), one dismissed, the
    # rest left undecided and raised by the hourly check once the audit month's first working day has ended.
    director = staff(Role.ASSISTANT_DIRECTOR)[0]
    cli("supervision-gap", first.reference, "confirm", "--by", first.auditor_id, "--now", "2026-11-26T10:00",
        "--reason", "No supervision on file since May; the team manager agrees.")
    cli("supervision-gap", good.reference, "dismiss", "--by", good.auditor_id, "--now", "2026-11-26T10:05",
        "--reason", "Supervision is recorded on the team's own log.")
    [confirmed] = db.scalars(select(ImmediateResponse)).all()
    cli("respond", confirmed.reference, "--by", director.id, "--note", "Supervision held today.",
        "--now", "2026-11-26T15:00")
    cli("run", "responses", "--by", QA_MANAGER, "--month", "2026-12", "--now", "2026-12-01T16:55")
    assert db.scalar(select(func.count()).select_from(ImmediateResponse)) == 1  # not before the day's end
    cli("run", "responses", "--by", QA_MANAGER, "--month", "2026-12", "--now", "2026-12-01T17:05")
    raised = db.scalars(select(ImmediateResponse).where(ImmediateResponse.id != confirmed.id)
                        .order_by(ImmediateResponse.id)).all()
    assert sorted(r.audit_id for r in raised) == sorted(a.id for a in inadequate)
    answered_in_time, answered_late, _left_open = raised
    cli("respond", answered_in_time.reference, "--by", director.id, "--note", "Supervision booked.",
        "--now", "2026-12-02T09:00")
    cli("respond", answered_late.reference, "--by", director.id, "--note", "Supervision held late.",
        "--now", "2026-12-03T10:00")

    # --- Forms: one good, the rest inadequate (the cared-for child's review-unit domain too).
    today = date(2026, 12, 14)
    cli("submit", first.reference, form(first, "inadequate", "inadequate", today), "--by", first.auditor_id,
        "--now", "2026-12-14T10:00")
    cli("submit", good.reference, form(good, "good", "good", today), "--by", good.auditor_id,
        "--now", "2026-12-14T10:00")
    for audit in inadequate:
        cli("submit", audit.reference, form(audit, "inadequate", "inadequate", today), "--by", audit.auditor_id,
            "--now", "2026-12-14T10:00")
    climbing = db.scalar(select(Action).where(Action.audit_id == first.id))
    reopened = db.scalar(select(Action).where(Action.audit_id == good.id))
    # Two weeks on is Monday 28 December, the Boxing Day bank holiday: the form names Thursday 24th.
    assert climbing.due_date == date(2026, 12, 24)

    # --- The action climbs the whole ladder, one working day at a time (weekends and holidays included).
    day = date(2026, 12, 24)
    while day <= date(2027, 1, 13):
        cli("run", "escalate", "--by", QA_MANAGER, "--month", "2026-12", "--now", f"{day}T08:00")
        day += timedelta(days=1)
    db.refresh(climbing)
    assert climbing.escalation_step == 3

    # --- Sign-off: refused to the wrong manager, then done and signed off by the right one.
    owner = db.get(Staff, climbing.owner_id)
    wrong = next(s for s in staff(Role.TEAM_MANAGER) if s.id != owner.manager_id)
    cli("action", "done", climbing.reference, "--by", owner.id, "--now", "2027-01-13T12:00")
    refused("action", "sign-off", climbing.reference, "--by", wrong.id, "--quality", "met", "--note", "ok",
            "--now", "2027-01-13T14:00")
    cli("action", "sign-off", climbing.reference, "--by", owner.manager_id, "--quality", "met",
        "--note", "Chronology now clear and current", "--now", "2027-01-13T15:00")
    # --- A not_met sign-off reopens the other action with a new due date.
    good_owner = db.get(Staff, reopened.owner_id)
    cli("action", "done", reopened.reference, "--by", good_owner.id, "--now", "2026-12-20T12:00")
    cli("action", "sign-off", reopened.reference, "--by", good_owner.manager_id, "--quality", "not_met",
        "--note", "Done on paper, but the plan is still not SMART", "--now", "2026-12-21T10:00")
    db.expire_all()
    assert db.get(Action, climbing.id).status == ActionStatus.SIGNED_OFF
    again = db.get(Action, reopened.id)
    assert again.status == ActionStatus.OPEN and again.reopen_count == 1 and again.due_date > date(2026, 12, 21)

    # --- Observations: a newly qualified worker's goes to their own team manager; one is recorded.
    observations = db.scalars(select(Observation).where(Observation.month == "2026-12")).all()
    asye = [o for o in observations if o.asye]
    for o in asye:
        worker, observer = db.get(Staff, o.practitioner_id), db.get(Staff, o.observer_id)
        assert worker.newly_qualified and observer.role == Role.TEAM_MANAGER, (o.reference, worker.id, observer.id)
        assert observer.id == worker.manager_id or observer.team_id == worker.team_id
    assert asye
    cli("observe", "done", asye[0].reference, "--by", asye[0].observer_id, "--type", "home_visit",
        "--note", "Warm, child-led visit", "--now", "2026-12-18T16:00")

    # --- Moderation, closure, then the follow-ups: summary, trends, learning session, questionnaire.
    cli("run", "moderate", "--by", QA_MANAGER, "--month", "2026-12", "--now", "2027-01-04T09:00")
    # Three working days on, the panel is chased for each moderation it has not decided.
    cli("run", "moderate", "--by", QA_MANAGER, "--month", "2026-12", "--now", "2027-01-07T09:00")
    undecided = db.scalars(select(Audit).where(Audit.status == AuditStatus.IN_MODERATION)).all()
    chased = {m.subject_ref for m in db.scalars(select(OutboxMessage).where(OutboxMessage.step == "chase-panel"))}
    assert undecided and chased == {a.reference for a in undecided}
    for moderation_audit in db.scalars(select(Audit).where(Audit.status == AuditStatus.IN_MODERATION)).all():
        overall = "good" if moderation_audit.id == good.id else "inadequate"
        cli("moderate", moderation_audit.reference, "--grade", overall, "--by", psw.id, "--note", "Agreed",
            "--now", "2027-01-08T10:00")
    # The good grade is final once an assistant director agrees it; the panel cannot agree it for them.
    refused("agree-moderation", good.reference, "--by", psw.id)
    cli("agree-moderation", good.reference, "--by", staff(Role.ASSISTANT_DIRECTOR)[0].id, "--now", "2027-01-08T11:00")
    cli("run", "moderate", "--by", QA_MANAGER, "--month", "2026-12", "--now", "2027-01-18T09:00")
    mad = db.scalar(select(MakeADifference).where(MakeADifference.audit_id == good.id))
    assert mad.status == "draft"
    refused("mad", "approve", mad.reference, "--by", good.child.key_worker_id)
    cli("mad", "approve", mad.reference, "--by", qa.id, "--now", "2027-01-19T09:00")

    # --- December's report: figures that add up, beside a count made from the rows themselves.
    figures = build_report_data(db, build_context("2027-01-19T10:00"), month=Month(2026, 12))
    responses = figures.responses
    assert (responses.raised, responses.same_day, responses.within_24h, responses.late, responses.outstanding) == (
        4, 1, 1, 1, 1)
    assert [r.reference for r in responses.late_responses] == [answered_late.reference]
    senior_step = next(n for n, step in enumerate(get_settings().framework.action_ladder, 1)
                       if "service_manager" in step.notify)
    december_actions = db.scalars(select(Action).join(Audit).where(Audit.cycle_id == first.cycle_id)).all()
    assert figures.actions.escalated_to_senior == sum(a.escalation_step >= senior_step for a in december_actions) >= 1
    assert figures.moderation.undecided == 0

    # --- January: the same practitioner's next audit is inadequate too (nominated so it is drawn).
    practitioner = first.child.key_worker_id
    next_child = db.scalars(select(Child).where(Child.key_worker_id == practitioner,
                                                Child.id.not_in([a.child_id for a in december]))).first()
    manager = next(s for s in staff(Role.SERVICE_MANAGER) if s.service_id == next_child.team.service_id)
    cli("nominate", next_child.id, "--by", manager.id, "--month", "2027-01", "--reason", "Steady direct work",
        "--now", "2026-12-20T09:00")
    cli("run", "sample", "--by", QA_MANAGER, "--month", "2027-01", "--now", "2026-12-21T09:00", "--size", "3", "--seed", "4")
    january = db.scalars(select(Audit).join(AuditCycle).where(AuditCycle.month == "2027-01")).all()
    # January's list is not approved: its notices wait for the review window to close, at noon the next working day.
    refused("run", "notify", "--by", QA_MANAGER, "--month", "2027-01", "--now", "2026-12-22T11:59",
            because="or, unapproved, at 12:00 on Tuesday 22 December 2026")
    cli("run", "notify", "--by", QA_MANAGER, "--month", "2027-01", "--now", "2026-12-22T12:00")
    # One January form is good and late: submitted after the due date (Friday 29th) and after selection, it is
    # moderated all the same.
    late_good = next(a for a in january if a.child_id != next_child.id)
    for audit in january:
        if audit.id != late_good.id:
            cli("submit", audit.reference, form(audit, "inadequate", "requires_improvement", date(2027, 1, 20)),
                "--by", audit.auditor_id, "--now", "2027-01-20T10:00")
    cli("run", "moderate", "--by", QA_MANAGER, "--month", "2027-01", "--now", "2027-02-01T09:00")
    cli("submit", late_good.reference, form(late_good, "good", "good", date(2027, 2, 2)), "--by", late_good.auditor_id,
        "--now", "2027-02-02T10:00")
    cli("run", "moderate", "--by", QA_MANAGER, "--month", "2027-01", "--now", "2027-02-03T09:00")
    db.expire_all()
    assert db.get(Audit, late_good.id).status == AuditStatus.IN_MODERATION
    for audit in db.scalars(select(Audit).where(Audit.status == AuditStatus.IN_MODERATION)).all():
        cli("moderate", audit.reference, "--grade", "inadequate", "--by", psw.id, "--note", "Agreed",
            "--now", "2027-02-03T10:00")
    # The late form was graded good, so the panel's decision is final only once an assistant director agrees it.
    cli("agree-moderation", late_good.reference, "--by", director.id, "--now", "2027-02-04T10:00")
    cli("run", "moderate", "--by", QA_MANAGER, "--month", "2027-01", "--now", "2027-02-16T09:00")
    db.expire_all()
    assert not db.scalars(select(Audit).join(AuditCycle).where(
        AuditCycle.month == "2027-01", Audit.status == AuditStatus.IN_MODERATION)).all()
    assert db.scalar(select(Moderation).where(Moderation.audit_id == late_good.id)) is not None

    # --- Every trend flag was raised.
    flags = {(f.kind, f.month) for f in db.scalars(select(TrendFlag))}
    assert ("cared_for_review_unit_inadequate", "2026-12") in flags
    assert ("team_inadequate_share", "2026-12") in flags
    assert ("practitioner_inadequate", "2027-01") in flags

    # --- Every message arrived once, to the right people.
    received = {r.message["Message-ID"]: r for r in smtp_env.received}
    queued = db.scalars(select(OutboxMessage)).all()
    assert len(received) == len(smtp_env.received) == len(queued)
    assert {m.status for m in queued} == {MessageStatus.SENT}
    by_id = {m.message_id: m for m in queued}
    for message_id, r in received.items():
        assert r.rcpt_tos == [by_id[message_id].recipient_email]
    # Each step of the action told each person once: alone, or as one item of a day's digest.
    told = [m.idempotency_key for m in queued] + list(db.scalars(select(OutboxItem.item_key)))
    ladder = Counter((step, person) for _, _, ref, step, person in (k.split(":") for k in told)
                     if ref == climbing.reference)
    assert all(count == 1 for count in ladder.values())
    team_manager = owner.manager_id
    directors = {s.id for s in staff(Role.ASSISTANT_DIRECTOR)}
    steps = {step: {r for (s, r) in ladder if s == step} for step, _ in ladder}
    assert steps["r0-step-1"] == {owner.id, team_manager}
    assert steps["r0-step-3"] == directors
    assert len(steps["r0-step-2"]) >= 1
    learning = [m for m in queued if m.phase == "learn" and m.subject_ref.endswith("-learning")]
    invited = {m.recipient_id for m in learning}
    assert {a.auditor_id for a in december} <= invited and {a.child.key_worker_id for a in december} <= invited
    for m in learning:
        assert m.calendar.count("ATTENDEE") == 1 and f"mailto:{m.recipient_email}" in m.calendar.replace("\r\n ", "")
    questionnaires = Counter(m.recipient_id for m in queued if m.step == "questionnaire")
    assert questionnaires and set(questionnaires.values()) == {1}
    trend_mail = [m for m in queued if m.phase == "trends"]
    assert trend_mail and psw.id in {m.recipient_id for m in trend_mail}
    assert not Path("outbox").exists()  # SMTP was used, not the folder
    db.close()
