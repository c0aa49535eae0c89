"""Start a stored deep dive or dip sample from the web application, by its reference alone.

Where a Prefect server is configured (PREFECT_API_URL) the run is a deployment run of prefect.yaml's
`deep-dive` or `dip-sample` deployment, with the reference as its only parameter, for a worker or
`auditcycle serve` to run. Without one (the embedded default) the same steps run in a thread beside the
web application, which records their progress in the database as they go. Either way the run is credited
to the request's requester, checked when it runs, and the request's text never leaves the database.
"""
import contextvars
import logging
import threading
from dataclasses import dataclass

from auditcycle.core.errors import UserError
from auditcycle.core.region import council_parameter, current_council, deployment_name
from auditcycle.flows.common import adhoc_phase
from auditcycle.models.enums import CycleKind
from auditcycle.sampling.adhoc import PHASES
from auditcycle.sampling.requests import note_flow_run
from auditcycle.storage.db import session_scope

log = logging.getLogger(__name__)
_running: list[threading.Thread] = []


@dataclass(frozen=True)
class Started:
    """How a request's run was started: a Prefect flow run's id, or None when it runs beside the web."""

    flow_run_id: str | None


def start_request(reference: str, kind: CycleKind, *, prefect_api: str | None = None) -> Started:
    """Start a stored request's run: a deployment run on the Prefect server at `prefect_api`, else beside us."""
    phase = PHASES[kind]
    if prefect_api:
        import httpx
        from prefect.deployments import run_deployment
        from prefect.exceptions import ObjectNotFound

        try:
            run = run_deployment(f"{phase}/{deployment_name(phase, current_council())}",
                                 parameters={"request": reference, **council_parameter()}, timeout=0)
        except ObjectNotFound:
            raise UserError(f"{reference} is stored, but the Prefect server at {prefect_api} has no {phase} "
                            "deployment to run it: register prefect.yaml's deployments (`prefect deploy --all`, or "
                            "`auditcycle serve`), then start it again") from None
        except (httpx.HTTPError, OSError) as exc:
            raise UserError(f"{reference} is stored, but the Prefect server at {prefect_api} could not be reached "
                            f"({type(exc).__name__}): start it again once the server is up") from None
        with session_scope() as session:
            note_flow_run(session, reference=reference, flow_run_id=str(run.id))
        return Started(flow_run_id=str(run.id))
    # The thread keeps the request's context: who the trail credits, and where the change came from.
    # Not a daemon: a web worker stopped gracefully lets the run finish rather than cutting it off.
    thread = threading.Thread(target=contextvars.copy_context().run, args=(_run_beside, phase, kind, reference),
                              name=f"{phase}-{reference}", daemon=False)
    _running[:] = [t for t in _running if t.is_alive()] + [thread]
    thread.start()
    return Started(flow_run_id=None)


def _run_beside(phase: str, kind: CycleKind, reference: str) -> None:
    try:
        adhoc_phase(phase, kind=kind.value, request=reference, beside=True)
    except Exception as exc:  # recorded on the run (its page shows why); a thread has no caller to tell
        # The type only: a message may quote what was typed.
        log.warning("the %s run of %s stopped: %s", phase, reference, type(exc).__name__)


def runs_beside() -> list[threading.Thread]:
    """List the runs going on in threads of this process (a test waits for them before it ends)."""
    return [t for t in _running if t.is_alive()]
