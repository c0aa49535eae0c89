"""SIGKILL a real phase run at each fault point and at random moments; the resumed run loses and doubles nothing.

`make test` kills notify once at each named point. The full sweep (`make reliability`, marker `reliability`)
kills notify at every named point several times and at random moments, over at least 50 runs, and sample
and book at random moments, 20 runs each; it writes its figures to benchmarks/results/reliability-*.json.
"""
import json
import os
import time
from pathlib import Path

import pytest
from conftest import PLANTED, QA_MANAGER
from crash_harness import RANDOM, CrashHarness, Database, random_delays, summarise
from factories import approve_list_at

from auditcycle.core import faults
from auditcycle.storage.db import session_scope

MONTH = "2026-12"
# The phases that write and send: each run, killed and resumed, on the starting state that gives it work.
COMMANDS = {
    "sample": ["run", "sample", "--by", QA_MANAGER, "--month", MONTH, "--now", "2026-11-23T07:00", "--seed", "4"],
    "notify": ["run", "notify", "--by", QA_MANAGER, "--month", MONTH, "--now", "2026-11-23T10:00"],
    "book": ["run", "book", "--by", QA_MANAGER, "--month", MONTH, "--now", "2026-11-23T11:00"],
}
RESULTS = Path(__file__).resolve().parents[2] / "benchmarks" / "results"


def _prepare(phase: str) -> None:
    """Bring the month to where `phase` has work: nothing for sample, drawn for notify, announced for book."""
    from auditcycle.flows.notify import notify
    from auditcycle.flows.sample import sample

    # Done in this process, to spare process starts; the runs under test are separate processes.
    if phase in {"notify", "book"}:
        assert sample(month=MONTH, now="2026-11-23T09:00", seed=4, by=QA_MANAGER)["created"]
        with session_scope() as session:
            approve_list_at(session, "2026-11-23T09:30", MONTH)
    if phase == "book":
        assert notify(month=MONTH, now="2026-11-23T10:00", by=QA_MANAGER)["queued"] > 0


@pytest.fixture
def make_harness(authority, app_env: str, smtp_server, prefect_harness: str, tmp_path: Path):
    """Return a maker of crash harnesses: the starting state for a phase, saved, and one un-killed run of it."""
    import prefect.settings

    from auditcycle.storage.db import get_engine

    def make(phase: str) -> CrashHarness:
        _prepare(phase)
        get_engine().dispose()
        harness = CrashHarness(database=Database(app_env, authority, tmp_path), smtp_server=smtp_server,
                               workdir=tmp_path, prefect_api_url=prefect.settings.PREFECT_API_URL.value(),
                               command=COMMANDS[phase])
        harness.db.save()
        reference = harness.take_reference()
        assert sorted(key for key, _ in reference.received) == sorted(harness.expected)
        assert reference.rows - harness.start.rows, f"the reference {phase} run wrote nothing"
        return harness

    return make


@pytest.fixture
def harness(make_harness) -> CrashHarness:
    """A drawn month on a seeded authority, saved as the starting state, and one un-killed notify run."""
    harness = make_harness("notify")
    assert len(harness.expected) >= 10
    return harness


def _prefect_state(flow_run_id: str) -> str:
    """Return the state type of a flow run, as Prefect's API has it."""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return client.read_flow_run(flow_run_id).state.type.value


def _assert_no_personal_data(harness: CrashHarness) -> None:
    logs = "\n".join(log.read_text(errors="replace") for log in harness.logs)
    mail = b"\n".join(r.data for r in harness.smtp.received).decode("utf-8", "replace")
    for value in (PLANTED["child_first"], PLANTED["child_last"], PLANTED["contact_name"], PLANTED["phone"]):
        assert value not in logs and value not in mail


def test_kill_at_each_named_point_then_resume_loses_and_doubles_nothing(harness: CrashHarness) -> None:
    messages = len(harness.expected)
    hits = {faults.BEFORE_DELIVERY: 1, faults.MID_BATCH: messages // 2, faults.AFTER_ACCEPT: messages // 2}

    kills = {point: harness.kill_and_resume(point, hit=hit) for point, hit in hits.items()}

    for point, kill in kills.items():
        assert kill.problems == [], kill.problems
        assert (kill.killed, kill.rows_lost, kill.rows_extra, kill.messages_lost, kill.leases_left) == (
            True, 0, 0, 0, 0), point
        # The killed run's record is closed as abandoned by the resumed run, and shown as Crashed in Prefect.
        assert (kill.runs_left_running, kill.runs_closed_as_abandoned, len(kill.abandoned_flow_runs)) == (0, 1, 1)
        assert _prefect_state(kill.abandoned_flow_runs[0]) == "CRASHED", point
    assert [kills[p].landed for p in hits] == ["after the commit, before any mail", "while sending", "while sending"]
    assert (kills[faults.BEFORE_DELIVERY].duplicates, kills[faults.MID_BATCH].duplicates) == (0, 0)
    # Killed between the server's 250 and the mark-sent: that one message goes twice, with one Message-ID.
    after_accept = kills[faults.AFTER_ACCEPT]
    assert (after_accept.duplicates, after_accept.duplicates_in_window,
            after_accept.duplicates_same_message_id) == (1, 1, 1)
    _assert_no_personal_data(harness)


def test_rerun_after_a_kill_mid_delivery_sends_the_killed_runs_claimed_mail_at_once(harness: CrashHarness) -> None:
    """With the real ten-minute claim, the rerun that takes over sends every message the killed run had claimed."""
    from sqlalchemy import select

    from auditcycle.models import PhaseRun

    harness.env.pop("AUDITCYCLE_SEND_CLAIM_SECONDS")  # the default, ten minutes: no claim lapses in this test
    messages = len(harness.expected)
    sent_before_kill = messages // 2

    kill = harness.kill_and_resume(faults.MID_BATCH, hit=sent_before_kill)

    assert kill.problems == [], kill.problems
    assert (kill.killed, kill.landed, kill.runs_closed_as_abandoned) == (True, "while sending", 1)
    assert (kill.messages_lost, kill.duplicates) == (0, 0)  # every message arrived at the server exactly once
    with harness.db.engine.connect() as conn:
        resumed = conn.execute(select(PhaseRun.status, PhaseRun.summary).order_by(PhaseRun.id.desc())).first()
    assert (str(resumed.status), resumed.summary["delivery"]["sent"]) == ("succeeded", messages - sent_before_kill)


# The phase the named points were built for gets the full sweep; the phases around it, random kills.
SWEEP_RUNS = {"notify": 50, "sample": 20, "book": 20}


@pytest.mark.reliability
@pytest.mark.parametrize("phase", list(SWEEP_RUNS))
def test_crash_sweep(make_harness, app_env: str, phase: str) -> None:
    """Kill at every named point and at random moments (notify: at least 50 runs); write the figures."""
    harness = make_harness(phase)
    started = time.monotonic()
    runs = max(SWEEP_RUNS[phase], int(os.environ.get(f"AUDITCYCLE_CRASH_RUNS_{phase.upper()}", "0")))
    messages = len(harness.expected)
    plan = []
    if phase == "notify":
        # Each named point five times, at the first, a quarter, half, three quarters and the last message.
        hits = sorted({1, messages // 4 or 1, messages // 2 or 1, 3 * messages // 4 or 1, messages})
        plan = [(point, hit, None, False) for point in faults.POINTS
                for hit in (hits if point != faults.BEFORE_DELIVERY else [1] * len(hits))]
    seed = int(os.environ.get("AUDITCYCLE_CRASH_SEED", "8"))
    if phase == "notify":
        delays = random_delays(runs - len(plan), seed=seed, whole_run=harness.reference_seconds,
                               window=harness.delivery_window)
        plan += [(RANDOM, None, delay, False) for delay in delays]
    else:
        # Half from the process's start, over the whole run; half from the run's record, over its work
        # (start-up varies by a second or more, which would otherwise carry most kills past the work).
        work = harness.work_window[1] - harness.work_window[0]
        delays = random_delays(runs, seed=seed, whole_run=harness.reference_seconds, window=(0.5, work))
        plan += [(RANDOM, None, delay, i % 2 == 1) for i, delay in enumerate(delays)]

    kills = [harness.kill_and_resume(point, hit=hit, delay=delay, from_work=from_work)
             for point, hit, delay, from_work in plan]

    backend = "postgresql" if app_env.startswith("postgresql") else "sqlite"
    summary = summarise(kills, backend=backend, seconds=time.monotonic() - started,
                        reference_seconds=harness.reference_seconds, reference_messages=messages)
    summary = {"phase": phase, "work_window_seconds": [round(t, 2) for t in harness.work_window],
               "delivery_window_seconds": [round(t, 2) for t in harness.delivery_window], **summary}
    RESULTS.mkdir(parents=True, exist_ok=True)
    name = f"reliability-{backend}.json" if phase == "notify" else f"reliability-{backend}-{phase}.json"
    (RESULTS / name).write_text(json.dumps(summary, indent=2, default=str) + "\n")
    print(json.dumps({k: v for k, v in summary.items() if k != "kills"}, indent=2))
    assert summary["runs"] >= SWEEP_RUNS[phase]
    assert [k for k in kills if not k.clean] == []
    assert (summary["rows_lost"], summary["messages_lost"], summary["leases_left_held"],
            summary["phase_runs_left_running"]) == (0, 0, 0, 0)
    assert summary["duplicates"] == summary["duplicates_in_250_to_mark_sent_window"] \
        == summary["duplicates_with_same_message_id"]
    _assert_no_personal_data(harness)
