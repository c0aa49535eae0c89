"""Observations of practice: monthly assignment, ASYE observations, reminders, recording and annual coverage."""
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import factories as make
import pytest
from conftest import PLANTED
from mail_links import labelled_link, link_row
from sqlalchemy import delete, func, select, update

from auditcycle.core.clock import Month
from auditcycle.core.context import build_context
from auditcycle.core.errors import PermissionDenied, UserError
from auditcycle.models import Audit, Observation, ObservationRecommendation, OutboxMessage, Staff
from auditcycle.models.enums import ObservationStatus, ObservationType, RecommendedFrom, Role
from auditcycle.notifications.gateway import deliver
from auditcycle.observations.assignment import (
    ObservationSummary,
    Person,
    assign_observations,
    coverage,
    due_for_observation,
    match_observers,
    record_observation,
    remind_observations,
)
from auditcycle.sampling.cycle import draw

DEC = Month(2026, 12)
JAN = Month(2027, 1)
ASSIGN_AT = "2026-12-01T09:00"  # Tuesday; the month's last working day is Thursday 31 December
DUE = date(2026, 12, 31)


def _add_key_workers(s, n: int) -> list[Staff]:
    """Add key workers spread over the teams, each managed by their team's manager."""
    managers = list(s.scalars(select(Staff).where(Staff.role == Role.TEAM_MANAGER, Staff.team_id.is_not(None))
                              .order_by(Staff.id)))
    added = [Staff(id=f"KW-X{i:02d}", name=f"Extra Worker {i:02d}", email=f"kw-x{i:02d}@example.org",
                   role=Role.KEY_WORKER, team_id=managers[i % len(managers)].team_id,
                   service_id=managers[i % len(managers)].service_id, manager_id=managers[i % len(managers)].id,
                   auditor=False, newly_qualified=False, active=True)
             for i in range(n)]
    s.add_all(added)
    s.commit()
    return added


def _observed(s, practitioner_id: str, done_on: date, n: int) -> None:
    """Seed a DONE observation of a practitioner, done on a day."""
    observer = s.scalar(select(Staff.id).where(Staff.role == Role.QA_MANAGER))
    done_at = datetime(done_on.year, done_on.month, done_on.day, 11, 0, tzinfo=UTC)
    s.add(Observation(reference=f"OBS-OLD-{n:03d}", month=f"{done_on:%Y-%m}", observer_id=observer,
                      practitioner_id=practitioner_id, theme=None, asye=False, due_date=done_on,
                      status=ObservationStatus.DONE, assigned_at=done_at, done_at=done_at, done_by_id=observer,
                      recorded_at=done_at))
    s.commit()


def _auditor_ids(s) -> list[str]:
    return sorted(s.scalars(select(Staff.id).where(Staff.auditor, Staff.active)))


def _pool_ids(s) -> list[str]:
    """The practitioners auditors may be given: active key workers and team managers, not newly qualified."""
    return sorted(s.scalars(select(Staff.id).where(
        Staff.active, Staff.role.in_([Role.KEY_WORKER, Role.TEAM_MANAGER]), Staff.newly_qualified.is_(False))))


def _assign(s, authority, settings, now: str = ASSIGN_AT, month: Month = DEC) -> ObservationSummary:
    summary = assign_observations(s, build_context(now, settings=settings), month=month)
    s.commit()
    deliver(engine=authority, settings=settings)
    return summary


def _remind(s, authority, settings, now: str, month: Month = DEC) -> int:
    queued = remind_observations(s, build_context(now, settings=settings), month=month)
    s.commit()
    deliver(engine=authority, settings=settings)
    return queued


def _month_observations(s, month: Month = DEC) -> list[Observation]:
    return list(s.scalars(select(Observation).where(Observation.month == str(month)).order_by(Observation.id)))


def _received(s, smtp_server) -> Counter[tuple[str, str]]:
    """Count the observe messages the SMTP server received, by (recipient, step)."""
    steps = {m.message_id: m.step for m in s.scalars(select(OutboxMessage).where(OutboxMessage.phase == "observe"))}
    counts: Counter[tuple[str, str]] = Counter()
    for r in smtp_server.received:
        assert len(r.rcpt_tos) == 1
        counts[(r.rcpt_tos[0], steps[r.message["Message-ID"]])] += 1
    return counts


def _text(received) -> str:
    return received.message.get_body(("plain",)).get_content()


def test_assign_observations_gives_each_auditor_one_practitioner_they_do_not_manage(s, authority, settings) -> None:
    _add_key_workers(s, 10)
    assert len(_pool_ids(s)) > len(_auditor_ids(s))

    summary = _assign(s, authority, settings)

    staff = {x.id: x for x in s.scalars(select(Staff))}
    pooled = [o for o in _month_observations(s) if not o.asye]
    assert sorted(o.observer_id for o in pooled) == _auditor_ids(s)
    assert len({o.practitioner_id for o in pooled}) == len(pooled)
    assert [o.reference for o in pooled if not (
        o.practitioner_id != o.observer_id and staff[o.practitioner_id].manager_id != o.observer_id
        and staff[o.practitioner_id].role in (Role.KEY_WORKER, Role.TEAM_MANAGER)
        and not staff[o.practitioner_id].newly_qualified)] == []
    # Every auditor could be given someone outside their own team.
    assert [o.reference for o in pooled if staff[o.observer_id].team_id is not None
            and staff[o.observer_id].team_id == staff[o.practitioner_id].team_id] == []
    assert {(o.due_date, o.status, o.month) for o in pooled} == {(DUE, ObservationStatus.ASSIGNED, "2026-12")}
    assert (summary.assigned, summary.auditors_without) == (len(_auditor_ids(s)), 0)
    assert sorted(o.reference for o in _month_observations(s)) == [
        f"OBS-2026-12-{n:03d}" for n in range(1, len(_month_observations(s)) + 1)]


def test_assign_observations_takes_never_observed_practitioners_first(s, authority, settings) -> None:
    _add_key_workers(s, 12)
    pool, auditors = _pool_ids(s), _auditor_ids(s)
    # Two more never-observed practitioners than auditors; the rest observed recently or 13 months ago.
    never = pool[: len(auditors) + 2]
    long_ago, recently = pool[len(never): len(never) + 2], pool[len(never) + 2:]
    assert len(recently) >= 2
    for n, pid in enumerate(long_ago):
        _observed(s, pid, date(2025, 10, 15), n)
    for n, pid in enumerate(recently, start=10):
        _observed(s, pid, date(2026, 9, 15), n)

    _assign(s, authority, settings)

    assigned = {o.practitioner_id for o in _month_observations(s) if not o.asye}
    assert len(assigned) == len(auditors)
    assert assigned - set(never) == set()
    assert len(set(never) - assigned) == 2


def test_assign_observations_takes_the_longest_unobserved_next(s, authority, settings) -> None:
    _add_key_workers(s, 12)
    pool, auditors = _pool_ids(s), _auditor_ids(s)
    spare = len(pool) - len(auditors)
    assert spare >= 3
    # Everyone observed once, on distinct days: the most recently observed are the ones left out.
    days = {pid: date(2025, 1, 6) + timedelta(days=i) if i < len(auditors)
            else date(2026, 10, 1) + timedelta(days=i) for i, pid in enumerate(reversed(pool))}
    for n, (pid, day) in enumerate(days.items()):
        _observed(s, pid, day, n)

    _assign(s, authority, settings)

    assigned = {o.practitioner_id for o in _month_observations(s) if not o.asye}
    left_out = sorted(set(pool) - assigned, key=lambda pid: days[pid])
    assert left_out == sorted(days, key=days.get)[-spare:]


def test_assign_observations_gives_newly_qualified_workers_to_their_own_team_manager(s, authority, settings,
                                                                                  smtp_server) -> None:
    _add_key_workers(s, 10)
    workers = list(s.scalars(select(Staff).where(Staff.newly_qualified, Staff.active).order_by(Staff.id)))
    assert len(workers) == 2

    summary = _assign(s, authority, settings)

    by_practitioner = {o.practitioner_id: o for o in _month_observations(s)}
    assert [(by_practitioner[w.id].observer_id, by_practitioner[w.id].asye) for w in workers] == [
        (w.manager_id, True) for w in workers]
    assert [s.get(Staff, w.manager_id).role for w in workers] == [Role.TEAM_MANAGER, Role.TEAM_MANAGER]
    assert [o.reference for o in _month_observations(s) if o.asye and not s.get(Staff, o.practitioner_id)
            .newly_qualified] == []
    assert summary.asye == 2
    # The team manager, also an auditor, gets one digest with both of their observations.
    manager = s.get(Staff, workers[0].manager_id)
    theirs = sorted(o.reference for o in _month_observations(s) if o.observer_id == manager.id)
    assert len(theirs) == 2
    [digest] = [r for r in smtp_server.received if r.rcpt_tos == [manager.email]]
    assert [ref for ref in theirs if ref not in _text(digest)] == []
    # Each observation has its own link, for this observer and naming that observation alone.
    ctx = build_context("2026-12-02T09:00", settings=settings)
    links = [link_row(s, ctx, labelled_link(digest.message, f"record {ref} as done")) for ref in theirs]
    assert [(link.purpose, link.subject_ref, link.staff_id) for link in links] == [
        ("observe-done", ref, manager.id) for ref in theirs]
    assert "auditcycle " not in _text(digest)
    assert "ASYE observation: you observe as their team manager" in _text(digest)


def test_assign_observations_rerun_assigns_and_sends_nothing(s, authority, settings, smtp_server) -> None:
    _add_key_workers(s, 10)
    first = _assign(s, authority, settings)
    count, sent = len(_month_observations(s)), len(smtp_server.received)

    again = _assign(s, authority, settings, now="2026-12-02T09:00")

    assert first.messages == sent > 0 and first.assigned > 0
    assert (again.assigned, again.asye, again.messages) == (0, 0, 0)
    assert len(_month_observations(s)) == count
    assert len(smtp_server.received) == sent


def test_assign_observations_copies_the_months_theme(s, authority, settings) -> None:
    _add_key_workers(s, 10)
    draw(s, build_context("2026-11-23T09:00", settings=settings), month=DEC, theme="Voice of the child",
         size=1, seed=21)
    s.execute(delete(OutboxMessage))
    s.commit()

    _assign(s, authority, settings)
    _assign(s, authority, settings, now="2027-01-04T09:00", month=JAN)

    assert {o.theme for o in _month_observations(s)} == {"Voice of the child"}
    assert [o.theme for o in _month_observations(s, JAN)] == [None] * len(_month_observations(s, JAN)) != []


def test_assign_observations_does_not_reassign_someone_still_open(s, authority, settings) -> None:
    _assign(s, authority, settings)
    still_open = {o.practitioner_id for o in _month_observations(s)}

    _assign(s, authority, settings, now="2027-01-04T09:00", month=JAN)

    assert {o.practitioner_id for o in _month_observations(s, JAN)} & still_open == set()


def test_remind_observations_sends_the_5_and_1_day_reminders_once_each(s, authority, settings,
                                                                       smtp_server) -> None:
    _add_key_workers(s, 10)
    _assign(s, authority, settings)
    smtp_server.received.clear()
    [observation] = [o for o in _month_observations(s) if o.asye][:1]
    observer = s.get(Staff, observation.observer_id)
    after_each = {}
    for day in ["2026-12-18", "2026-12-21", "2026-12-22", "2026-12-23", "2026-12-24", "2026-12-29",
                "2026-12-30", "2026-12-31"]:
        _remind(s, authority, settings, f"{day}T09:00")
        after_each[day] = Counter({step: n for (to, step), n in _received(s, smtp_server).items()
                                   if to == observer.email})

    assert after_each["2026-12-21"] == Counter()
    assert after_each["2026-12-22"] == Counter({"due-in-5": 1})
    assert after_each["2026-12-29"] == Counter({"due-in-5": 1})
    assert after_each["2026-12-31"] == Counter({"due-in-5": 1, "due-in-1": 1})
    [first] = [r for r in smtp_server.received if r.rcpt_tos == [observer.email]][:1]
    assert first.message["Subject"].startswith("Reminder: 2 observations of practice due by 17:00 on "
                                               "Thursday 31 December 2026 (5 working days left)")
    assert observation.reference in _text(first)


def test_remind_observations_overdue_once_each_working_day_and_catches_up(s, authority, settings,
                                                                          smtp_server) -> None:
    _assign(s, authority, settings)
    smtp_server.received.clear()
    observer = s.get(Staff, _month_observations(s)[0].observer_id)

    # Every reminder day before the due date is missed; the overdue runs repeat on one day.
    for now in ["2027-01-04T09:00", "2027-01-04T15:00", "2027-01-05T09:00"]:
        _remind(s, authority, settings, now, month=JAN)

    steps = Counter({step: n for (to, step), n in _received(s, smtp_server).items() if to == observer.email})
    assert steps == Counter({"overdue-2027-01-04": 1, "overdue-2027-01-05": 1})
    subjects = [r.message["Subject"] for r in smtp_server.received if r.rcpt_tos == [observer.email]]
    # Stripped: the gateway folds a subject just over 78 characters straight after "Subject:".
    assert [x.strip().startswith("Overdue: 1 observation of practice for December 2026 (") for x in subjects] == [
        True, True]


@pytest.mark.parametrize("now", ["2026-12-26T09:00", "2026-12-28T09:00"])
def test_remind_observations_on_a_weekend_or_bank_holiday_sends_nothing(s, authority, settings, smtp_server,
                                                                        now: str) -> None:
    _assign(s, authority, settings)
    smtp_server.received.clear()

    assert _remind(s, authority, settings, now) == 0
    assert smtp_server.received == []
    assert _remind(s, authority, settings, "2026-12-29T09:00") > 0


def test_remind_observations_stops_once_recorded_done(s, authority, settings, smtp_server) -> None:
    _assign(s, authority, settings)
    smtp_server.received.clear()
    per_observer = Counter(o.observer_id for o in _month_observations(s))
    observation = next(o for o in _month_observations(s) if per_observer[o.observer_id] == 1)
    observer = s.get(Staff, observation.observer_id)
    _remind(s, authority, settings, "2026-12-22T09:00")
    record_observation(s, build_context("2026-12-23T10:00", settings=settings), reference=observation.reference,
                       by=observer.id, kind="home_visit", note="Observed a home visit.")
    s.commit()

    later = [_remind(s, authority, settings, now) for now in ["2026-12-30T09:00", "2027-01-06T09:00"]]

    steps = Counter({step: n for (to, step), n in _received(s, smtp_server).items() if to == observer.email})
    assert steps == Counter({"due-in-5": 1})
    assert all(n > 0 for n in later)  # others, still open, are reminded


def test_record_observation_by_the_observer_marks_it_done(s, authority, settings) -> None:
    _assign(s, authority, settings)
    observation = _month_observations(s)[0]
    ctx = build_context("2026-12-15T14:30", settings=settings)

    done = record_observation(s, ctx, reference=observation.reference.lower(), by=observation.observer_id,
                              kind="Family meeting", note="  Observed a Child In Need meeting; strong direct work.  ")
    s.commit()

    s.expire_all()
    stored = s.get(Observation, done.id)
    assert (stored.status, stored.done_by_id, stored.note) == (
        ObservationStatus.DONE, observation.observer_id, "Observed a Child In Need meeting; strong direct work.")
    assert stored.done_at == ctx.now and stored.kind == ObservationType.FAMILY_MEETING
    assert stored.recorded_at is not None and stored.recorded_at != stored.done_at


def test_an_observation_is_recorded_with_what_was_observed(s, authority, settings) -> None:
    _assign(s, authority, settings)
    observation = _month_observations(s)[0]
    ctx = build_context("2026-12-15T14:30", settings=settings)

    with pytest.raises(UserError, match="family_meeting, home_visit, supervision, meeting_chaired"):
        record_observation(s, ctx, reference=observation.reference, by=observation.observer_id, kind="lunch",
                           note="")
    assert s.get(Observation, observation.id).status == ObservationStatus.ASSIGNED


def test_a_recommended_practitioner_is_observed_first_however_recently_observed(s, authority, settings) -> None:
    from auditcycle.observations.recommendations import recommend

    draw(s, build_context("2026-11-23T09:00", settings=settings), month=DEC, size=3, seed=2)
    _assign(s, authority, settings)
    first = _month_observations(s)[0]
    record_observation(s, build_context("2026-12-15T14:30", settings=settings), reference=first.reference,
                       by=first.observer_id, kind="home_visit", note="")
    practitioner = s.get(Staff, first.practitioner_id)
    audit = s.scalars(select(Audit).order_by(Audit.id)).first()
    row = recommend(s, build_context("2026-12-20T10:00", settings=settings), practitioner_id=practitioner.id,
                    by=audit.auditor_id, audit_ref=audit.reference, note="Capture the direct work seen in audit")
    s.commit()
    with pytest.raises(UserError, match="already recommended"):
        recommend(s, build_context("2026-12-21T10:00", settings=settings), practitioner_id=practitioner.id,
                  by="S0009")

    # One auditor left, so January assigns one observation: without the recommendation, it would go to
    # someone never observed, not to a practitioner observed a month ago.
    observer = next(a for a in s.scalars(select(Staff).where(Staff.auditor, Staff.active).order_by(Staff.id))
                    if a.id != practitioner.id and practitioner.manager_id != a.id and a.manager_id != practitioner.id)
    s.execute(update(Staff).where(Staff.id != observer.id).values(auditor=False))
    newcomer = make.staff(s, "S9901", in_team=practitioner.team)  # never observed: first in line otherwise
    s.commit()
    assign_observations(s, build_context("2027-01-04T08:00", settings=settings), month=Month(2027, 1))
    s.commit()

    january = s.scalar(select(Observation).where(Observation.month == "2027-01",
                                                 Observation.practitioner_id == practitioner.id))
    assert january is not None and s.get(ObservationRecommendation, row.id).observation_id == january.id
    assert s.scalar(select(Observation.id).where(Observation.practitioner_id == newcomer.id)) is None
    assert row.source == RecommendedFrom.AUDIT


def test_record_observation_refused_to_someone_else(s, authority, settings) -> None:
    _assign(s, authority, settings)
    observation = next(o for o in _month_observations(s) if not o.asye)
    other = s.scalar(select(Staff.id).where(Staff.role == Role.KEY_WORKER, Staff.id != observation.observer_id,
                                            Staff.id != observation.practitioner_id).order_by(Staff.id))

    with pytest.raises(PermissionDenied, match="only the assigned observer, or the QA team may"):
        record_observation(s, build_context("2026-12-15T14:30", settings=settings),
                           reference=observation.reference, by=other, kind="home_visit", note="")

    assert s.get(Observation, observation.id).status == ObservationStatus.ASSIGNED


def test_record_observation_refused_twice(s, authority, settings) -> None:
    _assign(s, authority, settings)
    observation = _month_observations(s)[0]
    ctx = build_context("2026-12-15T14:30", settings=settings)
    record_observation(s, ctx, reference=observation.reference, by=observation.observer_id, kind="home_visit",
                       note="Done.")
    s.commit()

    with pytest.raises(UserError, match=f"{observation.reference} was already recorded done on Tuesday 15 "
                                        "December 2026"):
        record_observation(s, ctx, reference=observation.reference, by=observation.observer_id, kind="home_visit",
                           note="Again.")


def test_record_observation_unknown_reference_says_so(s, authority, settings) -> None:
    with pytest.raises(UserError, match="OBS-2026-12-999: no observation has that reference"):
        record_observation(s, build_context(ASSIGN_AT, settings=settings), reference="OBS-2026-12-999",
                           by="S0009", kind="home_visit", note="")


def test_coverage_flags_people_not_observed_within_12_months(s, authority, settings) -> None:
    recent, lapsed, boundary, never = _pool_ids(s)[:4]
    _observed(s, recent, date(2026, 3, 2), 1)
    _observed(s, lapsed, date(2025, 10, 15), 2)
    _observed(s, boundary, date(2025, 12, 1), 3)  # exactly 12 months before today
    ctx = build_context(ASSIGN_AT, settings=settings)

    rows = {row.staff_id: row for row in coverage(s, ctx)}
    flagged = due_for_observation(s, ctx)

    assert {pid: (rows[pid].last_observed, rows[pid].due) for pid in (recent, lapsed, boundary, never)} == {
        recent: (date(2026, 3, 2), False), lapsed: (date(2025, 10, 15), True),
        boundary: (date(2025, 12, 1), True), never: (None, True)}
    assert recent not in flagged and {lapsed, boundary, never} <= set(flagged)
    assert flagged[:1] == [min(set(flagged) - {lapsed, boundary})]  # never observed comes first
    assert sorted(rows) == sorted(_pool_ids(s) + list(
        s.scalars(select(Staff.id).where(Staff.newly_qualified, Staff.active))))
    kinds = {row.kind for row in rows.values() if s.get(Staff, row.staff_id).role == Role.TEAM_MANAGER}
    assert kinds == {"first-line manager"}


def test_assign_observations_summary_to_qa_manager_lists_who_is_due(s, authority, settings, smtp_server) -> None:
    recent = _pool_ids(s)[0]
    _observed(s, recent, date(2026, 6, 10), 1)

    summary = _assign(s, authority, settings)

    qa = list(s.scalars(select(Staff).where(Staff.role == Role.QA_MANAGER, Staff.active)))
    assert len(qa) == 1
    [message] = [r for r in smtp_server.received if r.rcpt_tos == [qa[0].email]
                 and r.message["Subject"].startswith("Observation summary for December 2026:")]
    text = _text(message)
    due_part = text.split("Due their annual observation", 1)[1]
    due_names = [s.get(Staff, pid).name for pid in due_for_observation(s, build_context(ASSIGN_AT,
                                                                                        settings=settings))]
    assert summary.due == len(due_names) > 0
    assert [name for name in due_names if name not in due_part] == []
    assert s.get(Staff, recent).name not in due_part
    assert "never observed" in due_part
    steps = _received(s, smtp_server)
    assert steps[(qa[0].email, "qa-summary")] == 1
    raw = b"".join(r.data for r in smtp_server.received).decode()
    assert [v for v in PLANTED.values() if v in raw] == []


def test_match_observers_moves_an_earlier_pair_to_fit_a_later_practitioner() -> None:
    # A may observe P1 or P2; B may observe only P1 (B manages P2). Greedy A-P1 would strand B.
    a, b = Person("A", 1, None), Person("B", 2, None)
    p1, p2 = Person("P1", 3, None), Person("P2", 2, "B")

    assert match_observers([a, b], [p1, p2]) == {"A": "P2", "B": "P1"}


def test_match_observers_prefers_someone_outside_the_observers_team() -> None:
    a, b = Person("A", 1, None), Person("B", 2, None)
    same_as_a, same_as_b = Person("PA", 1, None), Person("PB", 2, None)

    assert match_observers([a, b], [same_as_a, same_as_b]) == {"A": "PB", "B": "PA"}


def test_match_observers_leaves_an_observer_free_when_nobody_suitable_remains() -> None:
    a, b = Person("A", 1, None), Person("B", 2, None)

    assert match_observers([a, b], [Person("P", 3, "A")]) == {"B": "P"}
    assert match_observers([a], [a]) == {}


def test_observation_count_is_unique_per_practitioner_and_month(s, authority, settings) -> None:
    _add_key_workers(s, 10)
    _assign(s, authority, settings)

    per_practitioner = s.execute(select(Observation.practitioner_id, func.count()).where(
        Observation.month == "2026-12").group_by(Observation.practitioner_id)).all()
    assert {n for _, n in per_practitioner} == {1}
