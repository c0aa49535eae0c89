"""Prefect's temporary server, for a command run with no Prefect API set, bound to die with the command.

Only the demo's replay and `serve` start it: a phase run by hand with no server runs in process (`run_by_hand`).

With PREFECT_API_URL unset, Prefect starts a temporary server for the process (uvicorn, in a child
process) and stops it when the process exits. A process killed with SIGKILL runs no exit handler, so
that server would run on, holding its port and its database, until someone finds it. On Linux the
server is started here instead, the same way Prefect starts it, except that the kernel is asked to send
it SIGTERM when the process that started it dies (prctl PR_SET_PDEATHSIG). It is registered where
Prefect looks for its temporary server (as `prefect.testing.utilities.prefect_test_harness` registers
its own), so the engine uses it and Prefect still stops it at a normal exit.
"""
import ctypes
import functools
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from typing import Any

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
STARTUP_SECONDS = 90


def start_temporary_server() -> None:
    """Start Prefect's temporary server for this process, to die with it, unless a Prefect API is configured.

    Call it from the main thread, before the first flow: the kernel's signal follows the thread that
    started the server, and the main thread lives as long as the process.
    """
    from prefect.settings import (
        PREFECT_SERVER_EPHEMERAL_ENABLED,
        PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS,
    )

    if configured_api() or not PREFECT_SERVER_EPHEMERAL_ENABLED or not sys.platform.startswith("linux"):
        return  # a configured server outlives us by design; elsewhere Prefect starts its own as before
    # Prefect waits 20 s by default, which a first run (creating the server's database) on a busy two-core
    # machine can exceed, failing a phase that had nothing wrong with it; a longer wait costs a healthy start nothing.
    _server_class()().start(timeout=max(PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS.value(), STARTUP_SECONDS))


def run_by_hand(flow: Any, /, **parameters: Any) -> dict:
    """Run a phase's flow for a command: as a flow run of the configured Prefect server, else in this process.

    With no server configured the flow's own function runs here, its tasks called as they are: the same
    lease, run record, trail and outbox as a flow run, without the seconds a temporary server takes to
    start for records nobody would read (see the README, "Running a phase by hand").
    """
    if configured_api():
        return flow(**parameters)
    return flow.fn(**parameters)


def configured_api() -> str | None:
    """Return the Prefect server's API address (PREFECT_API_URL) when one is configured, else None."""
    from prefect.settings import PREFECT_API_URL

    return PREFECT_API_URL.value() or None


def flow_run_url(flow_run_id: str) -> str | None:
    """Return where a flow run is shown in the Prefect UI, or None when no UI address is known."""
    from prefect.utilities.urls import url_for

    return url_for("flow-run", obj_id=flow_run_id)


def _dies_with(parent: int) -> Callable[[], None]:
    """Return what the server's child process runs before it starts: ask for SIGTERM when `parent` dies."""
    prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up before the fork, not in the child

    def arrange() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        # Had the parent died before the request was made, the signal would never come.
        if os.getppid() != parent:
            os.kill(os.getpid(), signal.SIGTERM)

    return arrange


@functools.cache
def _server_class() -> type:
    """Return Prefect's temporary-server class, starting its process so that it dies with this one."""
    # Imported here: Prefect's server takes seconds to import, and only a command that runs a flow needs it.
    import prefect
    from prefect.server.api.server import SubprocessASGIServer
    from prefect.settings import get_current_settings

    class ServerDyingWithUs(SubprocessASGIServer):
        """Prefect's temporary server, whose process is sent SIGTERM when the process that started it dies."""

        def _run_uvicorn_command(self) -> subprocess.Popen[Any]:
            # Prefect 3's own command and environment for its temporary server, with the parent-death request.
            return subprocess.Popen(
                args=[sys.executable, "-m", "uvicorn", "--app-dir", str(prefect.__module_path__.parent),
                      "--factory", "prefect.server.api.server:create_app", "--host", "127.0.0.1",
                      "--port", str(self.port), "--log-level", "error", "--lifespan", "on"],
                env={**os.environ, "PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1",
                     "PREFECT__SERVER_FINAL": "1",
                     **get_current_settings().to_environment_variables(exclude_unset=True)},
                preexec_fn=_dies_with(os.getpid()),
            )

    return ServerDyingWithUs
