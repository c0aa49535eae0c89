"""A phase run by hand with no Prefect server runs in its own process; a command that does start Prefect's
temporary server (`serve`) takes it down with it, even when killed with SIGKILL."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import QA_MANAGER
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker
from waiting import wait_for

AUDITCYCLE = str(Path(sys.executable).parent / "auditcycle")
CONFIG = Path(__file__).resolve().parents[2] / "prefect.yaml"


def _children(pid: int) -> list[int]:
    """Return the ids of the processes whose parent is `pid`, from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                # The command name, in brackets, may hold spaces; the parent id is the second field after it.
                if int((entry / "stat").read_text().rpartition(")")[2].split()[1]) == pid:
                    found.append(int(entry.name))
            except (OSError, IndexError, ValueError):
                continue
    return found


def _command_line(pid: int) -> str:
    try:
        return (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _running(pid: int) -> bool:
    """Say whether a process exists and is not a zombie waiting to be reaped."""
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


def _without_prefect_api(tmp_path: Path, app_env: str) -> dict[str, str]:
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect"), "AUDITCYCLE_DATABASE_URL": app_env}
    env.pop("PREFECT_API_URL", None)  # no server configured
    return env


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the server is bound to its parent on Linux only")
def test_a_killed_commands_temporary_prefect_server_dies_with_it(authority, app_env: str, tmp_path: Path) -> None:
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        command = subprocess.Popen([AUDITCYCLE, "serve", "chase", "--config", str(CONFIG)],
                                   env=_without_prefect_api(tmp_path, app_env), cwd=tmp_path, stdout=out,
                                   stderr=subprocess.STDOUT)
    server = None
    try:
        server = wait_for("the temporary Prefect server", lambda: next(
            (pid for pid in _children(command.pid) if "uvicorn" in _command_line(pid)), None), 120, log)

        os.kill(command.pid, signal.SIGKILL)
        command.wait()

        gone = time.monotonic() + 15
        while _running(server) and time.monotonic() < gone:
            time.sleep(0.1)
        assert command.returncode == -signal.SIGKILL  # killed, so no exit handler stopped the server
        assert not _running(server), f"the temporary server {server} outlived the killed command"
    finally:
        if command.poll() is None:
            command.kill()
            command.wait()
        if server is not None and _running(server):
            os.kill(server, signal.SIGKILL)


def test_a_run_by_hand_with_no_prefect_api_runs_in_its_own_process_under_the_phases_lease_and_record(
        authority, app_env: str, tmp_path: Path) -> None:
    from datetime import timedelta

    from auditcycle.models import PhaseRun, TrailEntry
    from auditcycle.models.enums import PhaseRunStatus
    from auditcycle.runs.leases import acquire, current, release

    command = [AUDITCYCLE, "run", "sample", "--by", QA_MANAGER, "--month", "2026-12", "--now", "2026-11-23T09:00",
               "--seed", "4"]
    env = _without_prefect_api(tmp_path, app_env)
    acquire("sample", "another-run@elsewhere:1", timedelta(minutes=5))
    refused = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    release("sample", "another-run@elsewhere:1")

    log = tmp_path / "run.log"
    children: set[str] = set()
    with log.open("wb") as out:
        run = subprocess.Popen(command, env=env, cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT)
    try:
        while run.poll() is None:
            children.update(_command_line(pid) for pid in _children(run.pid))
            time.sleep(0.02)
    finally:
        if run.poll() is None:
            run.kill()
        run.wait()

    # The phase's lease is taken outside Prefect as inside: held by another run, the command is refused.
    assert refused.returncode == 1 and "sample phase is already running" in refused.stderr, refused.stderr
    assert "held by flow run another-run, process 1 on elsewhere" in refused.stderr
    output = log.read_text(errors="replace")
    assert run.returncode == 0, output[-3000:]
    assert "audits drawn" in output and "Flow run" not in output
    assert not [c for c in children if c], children  # no temporary server, no child process of any kind
    assert current("sample") is None  # let go at the end
    with sessionmaker(bind=authority)() as s:
        record = s.scalars(select(PhaseRun).where(PhaseRun.phase == "sample")).one()
        assert (record.status, str(record.month), record.flow_run_id) == (PhaseRunStatus.SUCCEEDED, "2026-12", None)
        drawn = s.scalars(select(TrailEntry).where(TrailEntry.entity == "audit")).all()
        assert len(drawn) == record.summary["audits"] > 0 and {e.actor for e in drawn} == {QA_MANAGER}
