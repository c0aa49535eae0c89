"""A command's temporary Prefect server dies with the command, even when the command is killed with SIGKILL."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import QA_MANAGER
from waiting import wait_for

AUDITCYCLE = str(Path(sys.executable).parent / "auditcycle")


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


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the server is bound to its parent on Linux only")
def test_a_killed_runs_temporary_prefect_server_dies_with_it(authority, app_env: str, tmp_path: Path) -> None:
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect"), "AUDITCYCLE_DATABASE_URL": app_env}
    env.pop("PREFECT_API_URL", None)  # no server configured: the command starts its own temporary one
    log = tmp_path / "run.log"
    with log.open("wb") as out:
        command = subprocess.Popen([AUDITCYCLE, "run", "chase", "--by", QA_MANAGER, "--month", "2026-12",
                                    "--now", "2026-12-07T09:00"], env=env, cwd=tmp_path, stdout=out,
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
        assert command.returncode == -signal.SIGKILL  # killed mid-run, so no exit handler stopped the server
        assert not _running(server), f"the temporary server {server} outlived the killed command"
    finally:
        if command.poll() is None:
            command.kill()
            command.wait()
        if server is not None and _running(server):
            os.kill(server, signal.SIGKILL)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the server is bound to its parent on Linux only")
def test_a_run_with_no_prefect_api_completes_on_its_temporary_server_and_stops_it(authority, app_env: str,
                                                                                  tmp_path: Path) -> None:
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect"), "AUDITCYCLE_DATABASE_URL": app_env}
    env.pop("PREFECT_API_URL", None)
    log = tmp_path / "run.log"
    servers: set[int] = set()
    with log.open("wb") as out:
        command = subprocess.Popen([AUDITCYCLE, "run", "chase", "--by", QA_MANAGER, "--month", "2026-12",
                                    "--now", "2026-12-07T09:00"], env=env, cwd=tmp_path, stdout=out,
                                   stderr=subprocess.STDOUT)
    try:
        while command.poll() is None:
            servers.update(pid for pid in _children(command.pid) if "uvicorn" in _command_line(pid))
            time.sleep(0.05)
    finally:
        if command.poll() is None:
            command.kill()
        command.wait()

    output = log.read_text(errors="replace")
    assert command.returncode == 0, output[-3000:]
    assert "Flow run" in output and "Finished in state Completed()" in output and "reminders to auditors" in output
    # One server, started by the command and stopped at its exit as Prefect stops its own.
    assert len(servers) == 1 and not any(_running(pid) for pid in servers)
    assert "Stopping temporary server" in output
