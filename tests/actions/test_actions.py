"""Audit actions: the reminder before the due date, the overdue ladder, completion, sign-off and reopening."""
from collections import Counter
from datetime import date

import pytest
from conftest import PLANTED
from factories import open_action
from forms import valid_form
from mail_links import body_text, labelled_link, link_row, link_urls
from sqlalchemy import select, update

from auditcycle.actions.ladder import EscalationSummary, escalate, mark_done, outstanding, sign_off
from auditcycle.core.clock import Month
from auditcycle.core.context import build_context
from auditcycle.core.errors import PermissionDenied, UserError
from auditcycle.models import Action, Audit, Event, OutboxMessage, Staff
from auditcycle.models.enums import ActionStatus, Role
from auditcycle.notifications.gateway import deliver
from auditcycle.sampling.cycle import draw
from auditcycle.submissions.submit import submit
from auditcycle.tracker.rows import TrackerKind, list_items

DEC = Month(2026, 12)
SUBMITTED = date(2026, 12, 1)
# Tuesday. Two working days before is Friday 11 December. Overdue working days: 1 on the 16th, 5 on the
# 22nd, 10 on the 31st (25 and 28 December are bank holidays).
DUE = date(2026, 12, 15)
STEP_DAYS = {"r0-step-1": "2026-12-16", "r0-step-2": "2026-12-22", "r0-step-3": "2026-12-31"}


@pytest.fixture
def action(s, authority, settings, smtp_server) -> Action:
    """One open action owned by the audited child's key worker, due 15 December; setup mail cleared."""
    only = open_action(s, authority, settings, due=DUE, description=f"Update {PLANTED['child_first']}'s chronology",
                       submitted=SUBMITTED)
    smtp_server.received.clear()
    owner = only.owner
    assert only.status == ActionStatus.OPEN and only.due_date == DUE
    assert owner.manager is not None and owner.manager.role == Role.TEAM_MANAGER
    return only


def _run(s, authority, settings, now: str) -> EscalationSummary:
    summary = escalate(s, build_context(now, settings=settings))
    s.commit()
    deliver(engine=authority, settings=settings)
    return summary


def _received(s, smtp_server) -> Counter[tuple[str, str]]:
    """Count the escalate-phase messages the SMTP server received, by (recipient email, step)."""
    steps = {m.message_id: m.step for m in s.scalars(select(OutboxMessage).where(OutboxMessage.phase == "escalate"))}
    counts: Counter[tuple[str, str]] = Counter()
    for r in smtp_server.received:
        if r.message["Message-ID"] in steps:
            assert len(r.rcpt_tos) == 1 and "," not in r.message["To"]
            counts[(r.rcpt_tos[0], steps[r.message["Message-ID"]])] += 1
    return counts


def _people(s, action: Action) -> dict[str, list[str]]:
    """Return the emails of the owner, their team manager, their service manager(s) and the assistant directors."""
    owner = action.owner
    managers = s.scalars(select(Staff.email).where(Staff.role == Role.SERVICE_MANAGER, Staff.active,
                                                   Staff.service_id == owner.service_id).order_by(Staff.id))
    directors = s.scalars(select(Staff.email).where(Staff.role == Role.ASSISTANT_DIRECTOR, Staff.active)
                          .order_by(Staff.id))
    return {"owner": [owner.email], "team_manager": [owner.manager.email], "service_manager": list(managers),
            "assistant_director": list(directors)}


def _expected(people: dict[str, list[str]], steps: dict[str, list[str]]) -> Counter:
    return Counter({(email, step): 1 for step, roles in steps.items() for role in roles for email in people[role]})


LADDER = {"r0-step-1": ["owner", "team_manager"], "r0-step-2": ["service_manager"],
          "r0-step-3": ["assistant_director"]}


def _stranger(s, action: Action, role: Role) -> Staff:
    """Return an active member of staff of the role who is neither the owner nor the owner's line manager."""
    return s.scalars(select(Staff).where(Staff.role == role, Staff.active, Staff.id != action.owner_id,
                                         Staff.id != action.owner.manager_id).order_by(Staff.id)).first()


def test_escalate_reminds_owner_and_team_manager_once_before_the_due_date(s, authority, settings, smtp_server,
                                                                          action) -> None:
    people = _people(s, action)
    before = _run(s, authority, settings, "2026-12-10T09:00")

    summaries = [_run(s, authority, settings, now) for now in
                 ["2026-12-11T09:00", "2026-12-11T15:00", "2026-12-14T09:00", "2026-12-15T09:00"]]

    assert before.messages == 0
    assert [x.reminders for x in summaries] == [2, 0, 0, 0]
    assert _received(s, smtp_server) == _expected(people, {"r0-due-in-2": ["owner", "team_manager"]})
    [to_owner] = [r.message for r in smtp_server.received if r.rcpt_tos == people["owner"]]
    assert to_owner["Subject"] == (f"Reminder: action {action.reference} is due by 17:00 on Tuesday 15 December 2026 "
                                   "(2 working days left)")


def test_escalate_climbs_the_ladder_one_step_each_once(s, authority, settings, smtp_server, action) -> None:
    people = _people(s, action)
    assert len(people["service_manager"]) >= 1 and len(people["assistant_director"]) == 2
    steps_after: dict[str, Counter] = {}
    for day in range(15, 32):
        for hour in ("09:00", "15:00"):
            _run(s, authority, settings, f"2026-12-{day:02d}T{hour}")
        steps_after[f"2026-12-{day:02d}"] = Counter(
            step for (_, step) in _received(s, smtp_server) if step.startswith("r0-step"))
    _run(s, authority, settings, "2027-01-04T09:00")

    assert steps_after["2026-12-15"] == Counter()
    assert steps_after["2026-12-16"] == Counter({"r0-step-1": 2})
    assert steps_after["2026-12-21"] == Counter({"r0-step-1": 2})
    assert steps_after["2026-12-22"] == Counter({"r0-step-1": 2, "r0-step-2": len(people["service_manager"])})
    assert steps_after["2026-12-30"] == steps_after["2026-12-22"]
    assert steps_after["2026-12-31"]["r0-step-3"] == 2
    ladder = {k: n for k, n in _received(s, smtp_server).items() if k[1].startswith("r0-step")}
    assert ladder == _expected(people, LADDER)
    assert s.get(Action, action.id).escalation_step == 3
    events = s.scalars(select(Event).where(Event.subject_ref == action.reference, Event.kind == "action-escalated")
                       .order_by(Event.id))
    assert [(e.detail.split(":")[0], e.at.date().isoformat()) for e in events] == [
        ("step 1 of 3", "2026-12-16"), ("step 2 of 3", "2026-12-22"), ("step 3 of 3", "2026-12-31")]


def test_escalate_after_missed_runs_sends_every_missed_step_once(s, authority, settings, smtp_server,
                                                                 action) -> None:
    people = _people(s, action)
    _run(s, authority, settings, "2026-12-11T09:00")

    # Every run from the 14th to the 31st is missed: all three steps are due at once.
    caught_up = _run(s, authority, settings, "2027-01-04T09:00")
    later = [_run(s, authority, settings, now) for now in ["2027-01-04T16:00", "2027-01-05T09:00"]]

    assert (caught_up.steps, [x.messages for x in later]) == (3, [0, 0])
    assert _received(s, smtp_server) == _expected(
        people, {"r0-due-in-2": ["owner", "team_manager"], **LADDER})
    assert s.get(Action, action.id).escalation_step == 3
    subjects = sorted(r.message["Subject"] for r in smtp_server.received if "Overdue" in r.message["Subject"])
    assert {x.rsplit("(", 1)[1] for x in subjects} == {"escalation step 1 of 3)", "escalation step 2 of 3)",
                                                       "escalation step 3 of 3)"}
    assert all("11 working days overdue" in x for x in subjects)


@pytest.fixture
def three_actions(s, authority, settings, smtp_server) -> list[Action]:
    """Three open actions of one owner, all due 15 December; setup mail cleared."""
    draw(s, build_context("2026-11-23T09:00", settings=settings), month=DEC, size=1, seed=21)
    s.commit()
    [audit] = s.scalars(select(Audit))
    owner = audit.child.key_worker
    form = valid_form(owner.id, today=SUBMITTED)
    form["actions"] = [{"description": f"Task {n} for the chronology", "owner_id": owner.id, "due": DUE.isoformat()}
                       for n in (1, 2, 3)]
    submit(s, build_context(f"{SUBMITTED}T10:00", settings=settings), reference=audit.reference, data=form,
           by=audit.auditor_id)
    s.commit()
    deliver(engine=authority, settings=settings)
    smtp_server.received.clear()
    return list(s.scalars(select(Action).order_by(Action.reference)))


def test_actions_of_one_owner_due_the_same_day_are_one_reminder_and_one_escalation_each(
        s, authority, settings, smtp_server, three_actions) -> None:
    people = _people(s, three_actions[0])
    references = [a.reference for a in three_actions]

    reminded = [_run(s, authority, settings, now) for now in ["2026-12-11T09:00", "2026-12-11T15:00"]]
    reminders = [r.message for r in smtp_server.received]
    smtp_server.received.clear()
    escalated = [_run(s, authority, settings, now) for now in ["2026-12-16T09:00", "2026-12-16T15:00"]]
    overdue = [r.message for r in smtp_server.received]

    assert [x.reminders for x in reminded] == [2, 0]
    assert [x.escalations for x in escalated] == [2, 0]
    assert sorted(m["To"].split("<")[-1].rstrip(">") for m in reminders) == sorted(
        people["owner"] + people["team_manager"])
    assert sorted(m["To"].split("<")[-1].rstrip(">") for m in overdue) == sorted(
        people["owner"] + people["team_manager"])
    assert {m["Subject"] for m in reminders} == {
        "Reminder: 3 actions are due soon, the first by 17:00 on Tuesday 15 December 2026"}
    assert {m["Subject"] for m in overdue} == {
        "Overdue actions: 3 escalations, not recorded as done by their due date"}
    ctx = build_context("2026-12-16T15:00", settings=settings)
    for message in reminders + overdue:
        to = message["To"].split("<")[-1].rstrip(">")
        links = [link_row(s, ctx, labelled_link(message, f"record {r} as done")) for r in references]
        assert [(link.purpose, link.subject_ref, link.staff.email) for link in links] == [
            ("action-done", r, to) for r in references]
        assert "auditcycle " not in body_text(message)
    assert {m["Importance"] for m in overdue} == {"high"}


def test_an_action_due_soon_added_later_the_same_day_is_reminded_once_more(
        s, authority, settings, smtp_server, three_actions) -> None:
    owner = three_actions[0].owner
    _run(s, authority, settings, "2026-12-11T09:00")
    # A fourth action of the same owner, due the same day, is recorded that afternoon.
    late = Action(reference=f"{three_actions[0].audit.reference}-ACT9", audit_id=three_actions[0].audit_id,
                  description="Task 9 for the chronology", owner_id=owner.id, due_date=DUE,
                  status=ActionStatus.OPEN, created_at=three_actions[0].created_at,
                  recorded_at=three_actions[0].recorded_at)
    s.add(late)
    s.commit()

    later = _run(s, authority, settings, "2026-12-11T15:00")
    again = _run(s, authority, settings, "2026-12-11T16:00")

    to_owner = [r.message["Subject"] for r in smtp_server.received if r.rcpt_tos == [owner.email]]
    assert (later.reminders, again.reminders) == (2, 0)
    assert to_owner == ["Reminder: 3 actions are due soon, the first by 17:00 on Tuesday 15 December 2026",
                        f"Reminder: action {late.reference} is due by 17:00 on Tuesday 15 December 2026 "
                        "(2 working days left)"]


@pytest.mark.parametrize(("now", "next_working_day"), [
    ("2026-12-19T09:00", "2026-12-21T09:00"),  # Saturday
    ("2026-12-25T09:00", "2026-12-29T09:00"),  # Christmas Day
    ("2026-12-28T09:00", "2026-12-29T09:00"),  # substitute Boxing Day
])
def test_escalate_on_a_weekend_or_bank_holiday_sends_nothing(s, authority, settings, smtp_server, action,
                                                             now: str, next_working_day: str) -> None:
    summary = _run(s, authority, settings, now)

    assert summary == EscalationSummary()
    assert smtp_server.received == []
    assert s.get(Action, action.id).escalation_step == 0
    # The next working day sends the steps, so the quiet day was the calendar's doing.
    assert _run(s, authority, settings, next_working_day).steps >= 1


def test_escalation_message_says_what_is_overdue_and_names_no_child(s, authority, settings, smtp_server,
                                                                    action) -> None:
    people = _people(s, action)
    _run(s, authority, settings, "2026-12-22T09:00")

    [msg] = [r.message for r in smtp_server.received if r.rcpt_tos == people["service_manager"][:1]]
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    assert msg["Subject"] == (f"Overdue action {action.reference}: 5 working days overdue "
                              "(escalation step 2 of 3)")
    assert msg["Importance"] == "high"
    for fragment in (f"Action {action.reference} from audit {action.audit.reference} (case {action.audit.child_id},",
                     f"Owner: {action.owner.name}", "Due: Tuesday 15 December 2026", "Overdue: 5 working days",
                     "Escalation step: 2 of 3", "Action: Update Z.'s chronology",
                     "records completion from the link"):
        assert fragment in text
    # A service manager may not record it done, so is sent no link; nobody is told to run a command.
    assert link_urls(msg) == [] and "/act/" not in html and "auditcycle action" not in text + html
    raw = b"".join(r.data for r in smtp_server.received).decode()
    assert [v for v in (PLANTED["child_first"], PLANTED["child_last"], PLANTED["contact_name"]) if v in raw] == []


def test_mark_done_by_owner_records_it_and_asks_the_line_manager_to_sign_off(s, authority, settings, smtp_server,
                                                                             action) -> None:
    ctx = build_context("2026-12-14T11:00", settings=settings)

    mark_done(s, ctx, reference=action.reference, by=action.owner_id, note="Chronology updated to date.")
    s.commit()
    deliver(engine=authority, settings=settings)

    done = s.get(Action, action.id)
    assert (done.status, done.completed_at, done.completed_by_id) == (ActionStatus.DONE, ctx.now, action.owner_id)
    assert done.recorded_at is not None and done.recorded_at != ctx.now
    assert _received(s, smtp_server) == Counter({(action.owner.manager.email, "r0-done"): 1})
    [msg] = [r.message for r in smtp_server.received]
    assert msg["Subject"] == f"Action {action.reference} is done and awaits your sign-off"
    assert "Note: Chronology updated to date." in msg.get_body(("plain",)).get_content()


def test_mark_done_refused_to_a_stranger(s, settings, action) -> None:
    stranger = _stranger(s, action, Role.KEY_WORKER)

    with pytest.raises(PermissionDenied) as info:
        mark_done(s, build_context("2026-12-14T11:00", settings=settings), reference=action.reference,
                  by=stranger.id)
    s.rollback()

    assert "only the action's owner or their line manager may" in str(info.value)
    assert s.get(Action, action.id).status == ActionStatus.OPEN


def test_mark_done_of_a_done_action_says_it_awaits_sign_off(s, settings, action) -> None:
    ctx = build_context("2026-12-14T11:00", settings=settings)
    mark_done(s, ctx, reference=action.reference, by=action.owner_id)

    with pytest.raises(UserError) as info:
        mark_done(s, ctx, reference=action.reference, by=action.owner_id)

    assert str(info.value) == (f"{action.reference} is already done and awaiting sign-off; only an open action "
                               "can be recorded as done")


def test_sign_off_refused_to_a_team_manager_who_is_not_the_line_manager(s, settings, action) -> None:
    ctx = build_context("2026-12-14T11:00", settings=settings)
    mark_done(s, ctx, reference=action.reference, by=action.owner_id)
    s.commit()
    other = _stranger(s, action, Role.TEAM_MANAGER)

    with pytest.raises(PermissionDenied):
        sign_off(s, ctx, reference=action.reference, by=other.id, quality="met", note="Looks fine.")
    s.rollback()

    assert s.get(Action, action.id).status == ActionStatus.DONE


def test_sign_off_by_the_line_manager_closes_the_action(s, settings, action) -> None:
    ctx = build_context("2026-12-14T11:00", settings=settings)
    mark_done(s, ctx, reference=action.reference, by=action.owner_id)
    manager = action.owner.manager

    signed = sign_off(s, build_context("2026-12-15T09:00", settings=settings), reference=action.reference,
                      by=manager.id, quality="met", note="  Thorough and current.  ")
    s.commit()

    assert (signed.status, signed.signed_off_by_id, signed.quality, signed.sign_off_note) == (
        ActionStatus.SIGNED_OFF, manager.id, "met", "Thorough and current.")
    assert signed.signed_off_at == build_context("2026-12-15T09:00", settings=settings).now
    assert outstanding(s, ctx) == []


@pytest.mark.parametrize(("quality", "note", "expected"), [
    ("ok", "Fine.", "--quality 'ok': choose one of met, not_met"),
    ("met", "   ", "--note is required"),
])
def test_sign_off_with_a_bad_quality_or_no_note_says_what_to_fix(s, settings, action, quality, note,
                                                                 expected) -> None:
    ctx = build_context("2026-12-14T11:00", settings=settings)
    mark_done(s, ctx, reference=action.reference, by=action.owner_id)

    with pytest.raises(UserError) as info:
        sign_off(s, ctx, reference=action.reference, by=action.owner.manager_id, quality=quality, note=note)

    assert str(info.value).startswith(expected)
    assert s.get(Action, action.id).status == ActionStatus.DONE


def test_sign_off_of_an_open_action_is_refused(s, settings, action) -> None:
    with pytest.raises(UserError) as info:
        sign_off(s, build_context("2026-12-14T11:00", settings=settings), reference=action.reference,
                 by=action.owner.manager_id, quality="met", note="Fine.")

    assert str(info.value) == f"{action.reference} is still open: it must be recorded as done first"


def test_sign_off_not_met_reopens_with_a_new_due_date_and_the_ladder_restarts(s, authority, settings,
                                                                              smtp_server, action) -> None:
    people = _people(s, action)
    _run(s, authority, settings, "2026-12-16T09:00")  # step 1 of the first round
    mark_done(s, build_context("2026-12-17T09:00", settings=settings), reference=action.reference,
              by=action.owner_id)
    s.commit()

    reopened = sign_off(s, build_context("2026-12-17T11:00", settings=settings), reference=action.reference,
                        by=action.owner.manager_id, quality="not_met",
                        note=f"The chronology still omits {PLANTED['child_first']}'s school move.")
    s.commit()
    deliver(engine=authority, settings=settings)
    # Ten working days from Thursday 17 December, across Christmas: Tuesday 5 January.
    assert (reopened.status, reopened.reopen_count, reopened.escalation_step, reopened.due_date) == (
        ActionStatus.OPEN, 1, 0, date(2027, 1, 5))
    assert (reopened.completed_at, reopened.quality) == (None, "not_met")
    for now in ["2026-12-30T09:00", "2026-12-31T09:00", "2027-01-05T09:00", "2027-01-06T09:00"]:
        _run(s, authority, settings, now)

    counts = _received(s, smtp_server)
    assert {k: n for k, n in counts.items() if k[1].startswith("r1-")} == _expected(people, {
        "r1-reopened": ["owner"], "r1-due-in-2": ["owner", "team_manager"],
        "r1-step-1": ["owner", "team_manager"]})
    assert {k: n for k, n in counts.items() if k[1].startswith("r0-")} == _expected(people, {
        "r0-done": ["team_manager"], "r0-step-1": ["owner", "team_manager"]})
    [told] = [r.message for r in smtp_server.received if r.message["Subject"].startswith(
        f"Action {action.reference} reopened")]
    assert told["Subject"] == f"Action {action.reference} reopened: quality not met, now due Tuesday 5 January 2027"
    assert "Why: The chronology still omits Z.'s school move." in told.get_body(("plain",)).get_content()
    assert s.get(Action, action.id).escalation_step == 1


@pytest.mark.parametrize(("new_due", "expected"), [
    (date(2026, 12, 17), "--due 2026-12-17: the new due date is not after today (2026-12-17)"),
    (date(2027, 1, 18), "--due 2027-01-18: the new due date is more than 31 days after today (latest 2027-01-15)"),
    (date(2027, 1, 16), "--due 2027-01-16: the new due date is a Saturday, not a working day; "
                        "the nearest earlier working day is Friday 2027-01-15"),
])
def test_sign_off_not_met_refuses_a_new_due_date_out_of_range(s, settings, action, new_due, expected) -> None:
    ctx = build_context("2026-12-17T11:00", settings=settings)
    mark_done(s, ctx, reference=action.reference, by=action.owner_id)

    with pytest.raises(UserError) as info:
        sign_off(s, ctx, reference=action.reference, by=action.owner.manager_id, quality="not_met",
                 note="Not yet.", new_due=new_due)

    assert str(info.value) == expected
    assert s.get(Action, action.id).status == ActionStatus.DONE


def test_sign_off_not_met_takes_the_given_due_date(s, settings, action) -> None:
    ctx = build_context("2026-12-17T11:00", settings=settings)
    mark_done(s, ctx, reference=action.reference, by=action.owner_id)

    reopened = sign_off(s, ctx, reference=action.reference, by=action.owner.manager_id, quality="not_met",
                        note="Not yet.", new_due=date(2027, 1, 15))

    assert (reopened.status, reopened.due_date) == (ActionStatus.OPEN, date(2027, 1, 15))


def test_done_action_is_no_longer_escalated(s, authority, settings, smtp_server, action) -> None:
    mark_done(s, build_context("2026-12-14T11:00", settings=settings), reference=action.reference,
              by=action.owner_id)
    s.commit()

    summaries = [_run(s, authority, settings, f"2026-12-{day}T09:00") for day in (16, 22, 31)]

    assert [x.open_actions + x.messages for x in summaries] == [0, 0, 0]
    assert [step for (_, step) in _received(s, smtp_server)] == ["r0-done"]
    assert s.get(Action, action.id).escalation_step == 0


def test_escalate_step_with_nobody_in_the_role_goes_to_the_fallback(s, authority, settings, smtp_server,
                                                                    action) -> None:
    people = _people(s, action)
    s.execute(update(Staff).where(Staff.role == Role.SERVICE_MANAGER, Staff.service_id == action.owner.service_id)
              .values(active=False))
    s.commit()

    _run(s, authority, settings, "2026-12-22T09:00")

    step_two = {to for (to, step) in _received(s, smtp_server) if step == "r0-step-2"}
    assert step_two == set(people["assistant_director"])


def test_list_actions_rows_show_age_overdue_and_ladder_step(s, authority, settings, action) -> None:
    _run(s, authority, settings, "2026-12-22T09:00")
    ctx = build_context("2026-12-22T09:00", settings=settings)

    rows = list_items(session=s, kind=TrackerKind.ACTIONS, month=DEC, ctx=ctx)

    assert rows == [{
        "reference": action.reference, "status": "open", "audit": action.audit.reference, "month": "2026-12",
        "owner_id": action.owner_id, "due_date": "2026-12-15", "age_days": 21, "working_days_overdue": 5,
        "ladder_step": 2, "reopen_count": 0,
    }]
    [row] = outstanding(s, ctx)
    assert (row["reference"], row["age_days"], row["working_days_overdue"], row["ladder_step"]) == (
        action.reference, 21, 5, 2)


def test_list_actions_done_action_is_outstanding_but_not_overdue(s, authority, settings, action) -> None:
    _run(s, authority, settings, "2026-12-16T09:00")
    mark_done(s, build_context("2026-12-17T09:00", settings=settings), reference=action.reference,
              by=action.owner_id)
    s.commit()

    [row] = outstanding(s, build_context("2026-12-22T09:00", settings=settings))

    assert (row["status"], row["working_days_overdue"], row["ladder_step"]) == (ActionStatus.DONE, 0, 1)
