"""SIGKILL a real phase run at each fault point and at random moments; the resumed run loses and doubles nothing.

`make test` kills once at each named point. The full sweep (`make reliability`, marker `reliability`) kills
at every named point several times and at random moments, over at least 50 runs, and writes its figures to
benchmarks/results/reliability-<backend>.json.
"""
import json
import os
import time
from pathlib import Path

import pytest

from auditcycle import faults
from conftest import PLANTED
from crash_harness import RANDOM, CrashHarness, Database, random_delays, summarise

MONTH = "2026-12"
NOTIFY = ["run", "notify", "--month", MONTH, "--now", "2026-11-23T10:00"]
RESULTS = Path(__file__).resolve().parent.parent / "benchmarks" / "results"


@pytest.fixture
def harness(authority, app_env: str, smtp_server, prefect_harness: str, tmp_path: Path) -> CrashHarness:
    """A drawn month on a seeded authority, saved as the starting state, and one un-killed notify run."""
    import prefect.settings

    from auditcycle.db import get_engine
    from auditcycle.flows.sample import sample

    # Drawn in this process, to spare a process start; the runs under test are separate processes.
    assert sample(month=MONTH, now="2026-11-23T09:00", seed=4)["created"]
    get_engine().dispose()
    harness = CrashHarness(database=Database(app_env, authority, tmp_path), smtp_server=smtp_server,
                           workdir=tmp_path, prefect_api_url=prefect.settings.PREFECT_API_URL.value(),
                           command=NOTIFY)
    harness.db.save()
    reference = harness.take_reference()
    assert len(harness.expected) >= 10
    assert sorted(key for key, _ in reference.received) == sorted(harness.expected)
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


@pytest.mark.reliability
def test_crash_sweep(harness: CrashHarness, app_env: str) -> None:
    """Kill at every named point and at random moments, at least 50 runs; write the figures."""
    started = time.monotonic()
    runs = max(50, int(os.environ.get("AUDITCYCLE_CRASH_RUNS", "50")))
    messages = len(harness.expected)
    # Each named point five times, at the first, a quarter, half, three quarters and the last message.
    hits = sorted({1, messages // 4 or 1, messages // 2 or 1, 3 * messages // 4 or 1, messages})
    plan = [(point, hit, None) for point in faults.POINTS for hit in (hits if point != faults.BEFORE_DELIVERY
                                                                       else [1] * len(hits))]
    delays = random_delays(runs - len(plan), seed=int(os.environ.get("AUDITCYCLE_CRASH_SEED", "8")),
                           whole_run=harness.reference_seconds, window=harness.delivery_window)
    plan += [(RANDOM, None, delay) for delay in delays]

    kills = [harness.kill_and_resume(point, hit=hit, delay=delay) for point, hit, delay in plan]

    backend = "postgresql" if app_env.startswith("postgresql") else "sqlite"
    summary = summarise(kills, backend=backend, seconds=time.monotonic() - started,
                        reference_seconds=harness.reference_seconds, reference_messages=messages)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"reliability-{backend}.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
    print(json.dumps({k: v for k, v in summary.items() if k != "kills"}, indent=2))
    assert summary["runs"] >= 50
    assert [k for k in kills if not k.clean] == []
    assert (summary["rows_lost"], summary["messages_lost"], summary["leases_left_held"]) == (0, 0, 0)
    assert summary["duplicates"] == summary["duplicates_in_250_to_mark_sent_window"] \
        == summary["duplicates_with_same_message_id"]
    _assert_no_personal_data(harness)
