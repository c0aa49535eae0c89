"""Two audit months closing the loop, through the CLI and Prefect, with a real SMTP server.

December and January 2027: an action climbs the whole ladder, a sign-off is refused to the wrong
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
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker
from typer.testing import CliRunner

from auditcycle.cli import app, commands  # noqa: F401  (registers every command)
from auditcycle.models import (
    Action,
    Audit,
    AuditCycle,
    Child,
    MakeADifference,
    Observation,
    OutboxItem,
    OutboxMessage,
    Staff,
    TrendFlag,
)
from auditcycle.models.enums import ActionStatus, AuditStatus, Cohort, MessageStatus, Role

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
    cli("nominate", cared_for.id, "--by", manager.id, "--month", "2026-12", "--now", "2026-11-20T09:00")

    # --- December: draw, notify, book, observations.
    cli("run", "sample", "--by", QA_MANAGER, "--month", "2026-12", "--now", "2026-11-23T09:00", "--size", "5", "--seed", "3")
    # The QA manager reviews December's list and approves it the same morning: the notices follow at once.
    refused("run", "notify", "--by", QA_MANAGER, "--month", "2026-12", "--now", "2026-11-23T10:00",
            because="notices held: the December 2026 list is with the QA team for review")
    cli("approve-list", "2026-12", "--by", qa.id, "--now", "2026-11-23T11:00")
    cli("run", "notify", "--by", QA_MANAGER, "--month", "2026-12", "--now", "2026-11-23T11:30")
    cli("run", "book", "--by", QA_MANAGER, "--month", "2026-12", "--now", "2026-11-25T09:00")
    cli("run", "observe", "--by", QA_MANAGER, "--month", "2026-12", "--now", "2026-12-01T08:00")
    december = db.scalars(select(Audit).order_by(Audit.id)).all()
    first, good, *inadequate = december

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

    # --- January: the same practitioner's next audit is inadequate too (nominated so it is drawn).
    practitioner = first.child.key_worker_id
    next_child = db.scalars(select(Child).where(Child.key_worker_id == practitioner,
                                                Child.id.not_in([a.child_id for a in december]))).first()
    manager = next(s for s in staff(Role.SERVICE_MANAGER) if s.service_id == next_child.team.service_id)
    cli("nominate", next_child.id, "--by", manager.id, "--month", "2027-01", "--now", "2026-12-20T09:00")
    cli("run", "sample", "--by", QA_MANAGER, "--month", "2027-01", "--now", "2026-12-21T09:00", "--size", "3", "--seed", "4")
    january = db.scalars(select(Audit).join(AuditCycle).where(AuditCycle.month == "2027-01")).all()
    # January's list is not approved: its notices wait for the review window to close, at noon the next working day.
    refused("run", "notify", "--by", QA_MANAGER, "--month", "2027-01", "--now", "2026-12-22T11:59",
            because="or, unapproved, at 12:00 on Tuesday 22 December 2026")
    cli("run", "notify", "--by", QA_MANAGER, "--month", "2027-01", "--now", "2026-12-22T12:00")
    for audit in january:
        cli("submit", audit.reference, form(audit, "inadequate", "requires_improvement", date(2027, 1, 20)),
            "--by", audit.auditor_id, "--now", "2027-01-20T10:00")
    cli("run", "moderate", "--by", QA_MANAGER, "--month", "2027-01", "--now", "2027-02-01T09:00")
    for audit in db.scalars(select(Audit).where(Audit.status == AuditStatus.IN_MODERATION)).all():
        cli("moderate", audit.reference, "--grade", "inadequate", "--by", psw.id, "--note", "Agreed",
            "--now", "2027-02-03T10:00")
    cli("run", "moderate", "--by", QA_MANAGER, "--month", "2027-01", "--now", "2027-02-16T09:00")

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
