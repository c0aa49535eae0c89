"""`auditcycle simulate`: a whole audit month replayed through the real flows on a moving clock.

The plan (grades, late forms, actions, disputes, Immediate Responses) is checked on its own, without
Prefect; then one replay of December 2026 on the small authority is checked end to end against the
plan, the outbox, the report folder and the flow runs the Prefect API holds.
"""
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

from factories import context_at
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker
from typer.testing import CliRunner

from auditcycle.cli import app, commands  # noqa: F401  (registers every command)
from auditcycle.core.clock import Month
from auditcycle.core.context import build_context
from auditcycle.demo.replay import month_calendar, plan_month, sampling_day, schedule_phases
from auditcycle.models import Action, Audit, ImmediateResponse, Moderation, OutboxMessage, PhaseRun, Submission
from auditcycle.models.enums import AuditStatus, MessageStatus, ModerationStatus, PhaseRunStatus

runner = CliRunner()
MONTH = "2026-12"
SEED = 3


def _ctx():
    return context_at("2026-12-01T12:00")


def test_sampling_day_is_in_the_last_full_week_of_the_month_before() -> None:
    ts = _ctx().timescales

    days = {month: sampling_day(ts, Month.parse(month)) for month in ("2026-12", "2026-09", "2027-01")}

    # November 2026 ends on a Monday, so its last full week starts on the 23rd; August's on the 24th;
    # December's last full week starts on Monday the 21st.
    assert days == {"2026-12": date(2026, 11, 23), "2026-09": date(2026, 8, 24), "2027-01": date(2026, 12, 21)}


def test_plan_month_is_the_same_for_the_same_seed() -> None:
    ctx = _ctx()
    calendar = month_calendar(ctx, Month.parse(MONTH))
    references = [f"A-{MONTH}-{n:03d}" for n in range(1, 13)]

    first = plan_month(ctx, calendar, references, seed=SEED)
    again = plan_month(ctx, calendar, list(reversed(references)), seed=SEED)
    other = plan_month(ctx, calendar, references, seed=SEED + 1)

    assert first == again
    assert first != other


def test_plan_month_keeps_to_the_framework() -> None:
    ctx = _ctx()
    ts = ctx.timescales
    calendar = month_calendar(ctx, Month.parse(MONTH))
    references = [f"A-{MONTH}-{n:03d}" for n in range(1, 13)]

    plan = plan_month(ctx, calendar, references, seed=SEED)

    for audit in plan.audits:
        submitted = audit.submit_at.date()
        assert ts.is_overdue(calendar.due, audit.submit_at) == audit.late, audit.reference
        assert submitted < calendar.closure and ts.is_working_day(submitted), audit.reference
        for action in audit.actions:
            # The form's own rule: after the submission date, within 31 days, on a working day.
            assert ts.action_due_problem(action.due, submitted, since="submission") is None, action.reference
            if action.done_at:
                assert audit.submit_at < action.done_at < action.signed_off_at, action.reference
    concerns = [a for a in plan.audits if a.immediate_response]
    assert sorted(a.escalates for a in concerns) == [False, True]
    assert [a.answered_at.date() == a.submit_at.date() for a in concerns if not a.escalates] == [True]
    assert 1 <= sum(a.disputed_at is not None for a in plan.audits) <= 2
    assert all(a.disputed_at.date() <= calendar.due for a in plan.audits if a.disputed_at)
    assert plan.late >= 1 and plan.on_time + plan.late == len(references)


def test_plan_month_grades_mostly_requires_improvement_or_good() -> None:
    ctx = _ctx()
    calendar = month_calendar(ctx, Month.parse(MONTH))

    plan = plan_month(ctx, calendar, [f"A-{MONTH}-{n:03d}" for n in range(1, 401)], seed=SEED)

    grades = Counter(a.overall for a in plan.audits)
    assert grades["requires_improvement"] + grades["good"] > 0.6 * len(plan.audits)
    assert 0 < grades["outstanding"] < grades["inadequate"] < grades["good"]


def test_schedule_phases_runs_daily_phases_on_working_days_only() -> None:
    ctx = _ctx()
    calendar = month_calendar(ctx, Month.parse(MONTH))
    schedule = schedule_phases(ctx, calendar)

    steps = []
    while (step := schedule.pop()) is not None:
        steps.append(step)

    daily = [s for s in steps if s.kind in {"chase", "escalate", "observe"}]
    assert all(ctx.timescales.is_working_day(s.at.date()) for s in daily)
    # The plan is laid after the draw; the QA manager approves the list at 10:00, the notices and booking follow.
    first_day = [s for s in steps[:8] if s.kind != "responses"]
    assert [s.kind for s in first_day[:5]] == ["sample", "plan", "approve-list", "notify", "book"]
    assert [f"{s.at:%H:%M}" for s in first_day[2:5]] == ["10:00", "10:30", "10:45"]
    assert steps[0].at.date() == calendar.sampling == date(2026, 11, 23)
    assert steps == sorted(steps)
    reports = [s.at.date() for s in steps if s.kind == "report"]
    # With the defaults the report day (12th working day) falls after moderation closes: one final report.
    assert reports == [calendar.report] and calendar.report > calendar.closure_run


def _prefect_runs(flow_run_ids: list[str], phase: str) -> list:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName, FlowRunFilter, FlowRunFilterId

    with get_client(sync_client=True) as client:
        return client.read_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=[phase])),
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=flow_run_ids)), limit=200)


def test_simulate_month_ends_final_reported_and_sent_once_even_when_replayed(authority, app_env, prefect_harness) -> None:
    result = runner.invoke(app, ["simulate", "--month", MONTH, "--seed", str(SEED)])

    assert result.exit_code == 0, result.output
    db = sessionmaker(bind=authority, expire_on_commit=False)()
    audits = db.scalars(select(Audit).order_by(Audit.reference)).all()
    ctx = build_context("2026-12-01T12:00")
    calendar = month_calendar(ctx, Month.parse(MONTH))
    plan = plan_month(ctx, calendar, [a.reference for a in audits], seed=SEED)

    # --- Every audit drawn is final; the forms came when the plan said, on time or late.
    assert len(audits) >= 4
    assert {a.status for a in audits} == {AuditStatus.COMPLETED}
    submitted = {a.reference: s for a, s in db.execute(select(Audit, Submission).join(Submission.audit))}
    assert {ref: s.submitted_at for ref, s in submitted.items()} == {a.reference: a.submit_at for a in plan.audits}
    late = {ref for ref, s in submitted.items() if ctx.timescales.is_overdue(calendar.due, s.submitted_at)}
    assert late == {a.reference for a in plan.audits if a.late}
    assert f"{plan.on_time}" in result.output and f"planned {plan.late}" in result.output

    # --- Moderation changed one grade; one Immediate Response escalated; most actions signed off.
    assert Counter(db.scalars(select(Moderation.status))).get(ModerationStatus.CHANGED) == 1
    assert ModerationStatus.PENDING not in set(db.scalars(select(Moderation.status)))
    responses = db.scalars(select(ImmediateResponse)).all()
    assert sum(r.escalated_at is not None for r in responses) == 1
    actions = db.scalars(select(Action)).all()
    assert len(actions) == plan.actions
    assert sum(a.status == "signed_off" for a in actions) == sum(
        x.signed_off_at is not None for a in plan.audits for x in a.actions)

    # --- Every message went, once each; the report was written.
    messages = db.scalars(select(OutboxMessage)).all()
    assert messages and {m.status for m in messages} == {MessageStatus.SENT}
    assert len(list(Path("outbox").glob("*.eml"))) == len(messages)
    folder = Path("reports") / MONTH
    assert {p.name for p in folder.iterdir()} >= {"report.html", "report.pdf", "grades.csv", "actions.csv",
                                                  "report-restricted.html"}

    # --- The Prefect API holds exactly the flow runs the app recorded, each completed.
    runs = db.scalars(select(PhaseRun)).all()
    assert {r.status for r in runs} == {PhaseRunStatus.SUCCEEDED}
    by_phase: dict[str, list[str]] = {}
    for run in runs:
        by_phase.setdefault(run.phase, []).append(run.flow_run_id)
    for phase, ids in by_phase.items():
        flow_runs = _prefect_runs(ids, phase)
        assert sorted(str(r.id) for r in flow_runs) == sorted(ids), phase
        assert {r.state_type.value for r in flow_runs} == {"COMPLETED"}, phase
    counts = {phase: len(ids) for phase, ids in by_phase.items()}
    # Booking runs twice: on the sampling day, and once the family calls' wait for the key workers' advice is over.
    assert {p: counts[p] for p in ("sample", "notify", "book", "moderate", "report")} == {
        "sample": 1, "notify": 1, "book": 2, "moderate": 3, "report": 1}
    working_days = sum(ctx.timescales.is_working_day(calendar.first + timedelta(days=i))
                       for i in range((calendar.due - calendar.first).days + 1))
    assert counts["chase"] >= working_days and counts["escalate"] >= working_days
    assert counts["responses"] >= 2

    keys = sorted(m.idempotency_key for m in messages)
    db.close()  # SQLite: the replay below must not wait on this session's lock

    # --- A second replay of the same month adds nothing and sends nothing.
    again = runner.invoke(app, ["simulate", "--month", MONTH, "--seed", str(SEED)])

    assert again.exit_code == 0, again.output
    with sessionmaker(bind=authority)() as db:
        assert sorted(db.scalars(select(OutboxMessage.idempotency_key))) == keys
        assert len(db.scalars(select(Submission.id)).all()) == len(audits)
    assert "0 by this run" in again.output


def test_auditors_decide_the_notified_gaps_by_seed_and_service_managers_answer_the_confirmed(s) -> None:
    from sqlalchemy import update

    from auditcycle.demo.replay import answer_sampling_responses, decide_supervision_gaps
    from auditcycle.models import Child, SupervisionGap
    from auditcycle.models.enums import ResponseStatus, SupervisionGapStatus
    from auditcycle.notices.queue import queue_notices
    from auditcycle.sampling.cycle import draw

    s.execute(update(Child).values(last_supervision_date=None))
    draw(s, context_at("2026-11-23T07:00"), month=Month.parse(MONTH), size=6, seed=2)
    queue_notices(s, context_at("2026-11-24T12:00"), cycle=s.scalars(select(Audit)).first().cycle)
    s.commit()

    decided = decide_supervision_gaps(s, context_at("2026-11-23T11:00"), MONTH, seed=5)
    again = decide_supervision_gaps(s, context_at("2026-11-23T11:30"), MONTH, seed=5)
    answered = answer_sampling_responses(s, context_at("2026-11-23T14:00"), MONTH)
    s.commit()

    statuses = Counter(s.scalars(select(SupervisionGap.status)))
    assert (decided, again) == (6, 0)
    assert statuses == {SupervisionGapStatus.CONFIRMED: 3, SupervisionGapStatus.DISMISSED: 3}
    assert answered == 3 == len(s.scalars(select(ImmediateResponse).where(
        ImmediateResponse.status == ResponseStatus.RESPONDED)).all())
