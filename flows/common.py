"""What every phase flow does around its tasks: fix the clock, choose the month, hold the phase, record the run."""
import functools
import inspect
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from prefect import Flow, flow
from prefect.client.orchestration import get_client
from prefect.exceptions import MissingContextError
from prefect.logging import get_run_logger
from prefect.runtime import flow_run
from prefect.states import Crashed

from auditcycle.core.clock import Month
from auditcycle.core.context import build_context
from auditcycle.core.errors import UserError
from auditcycle.core.region import for_council
from auditcycle.people.permissions import authorise
from auditcycle.runs.leases import PhaseBusy, acquire, busy_message, current, held, holder_name, lease_ttl
from auditcycle.runs.phases import (
    RunRecord,
    record_refused_start,
    recorded_run,
    resolve_month,
    save_progress,
    skip_reason,
)
from auditcycle.storage.db import session_scope
from auditcycle.storage.installation import check_clock
from auditcycle.storage.trail import acting_as
from auditcycle.tasks.adhoc import book_adhoc_meetings, draw_adhoc_sample, queue_adhoc_notices, read_adhoc_request
from auditcycle.tasks.delivery import deliver_outbox


def _flow_run_id() -> str | None:
    return str(flow_run.get_id() or "") or None


def run_holder() -> str:
    """Name this run as a lease holder, and as the sender of the mail it claims."""
    return holder_name(_flow_run_id())


def _logger() -> logging.Logger | logging.LoggerAdapter:
    try:
        return get_run_logger()
    except MissingContextError:
        return logging.getLogger(__name__)


def _started_by_schedule() -> bool:
    """Say whether Prefect's scheduler created this flow run from a deployment's schedule."""
    run_id = _flow_run_id()
    if run_id is None:
        return False
    with get_client(sync_client=True) as client:
        return bool(client.read_flow_run(run_id).auto_scheduled)


def starter(name: str, now: str | None, by: str | None) -> str:
    """Return who the run of a phase is credited to, after checking they may start it and its clock.

    A person (`by`, checked against the permission table) or, only when Prefect started the run from
    a deployment's schedule, the scheduler; a parameter can never claim to be the scheduler.
    """
    ctx = build_context(now)
    with session_scope() as session:
        check_clock(session, ctx)
        if by:
            return authorise(session, command="run", staff_id=by).id
    if _started_by_schedule():
        return f"scheduler:{name}"
    raise UserError(f"a {name} run started by hand needs a person: give `by`, the staff id of the QA team member "
                    "starting it (only Prefect's scheduler runs a phase without one)")


@contextmanager
def phase(name: str, month: str | None, now: str | None, actor: str, *, holder: str | None = None,
          wait: float | None = None, request_id: int | None = None) -> Iterator[tuple[str, str, RunRecord]]:
    """Resolve the clock once, pick the month, hold the phase's lease and record the run, credited to `actor`.

    Raise PhaseBusy, naming the holder, if another run of the phase is still going after `wait` seconds
    (by default the lease_wait_seconds setting, 0). `holder` names the lease's holder (by default this
    flow run); `request_id` is the stored request an ad-hoc run draws.
    """
    ctx = build_context(now)
    chosen = resolve_month(name, Month.parse(month) if month is not None else None, ctx)
    run_id = _flow_run_id()
    # Take the lease before recording the run, so two runs' records never overlap in time.
    with acting_as(actor), held(name, holder or run_holder(), tz=ctx.tz, wait=wait):
        with recorded_run(name, chosen, ctx, flow_run_id=run_id, request_id=request_id) as record:
            _crash_flow_runs(record.abandoned_flow_runs)
            yield str(chosen), ctx.now.isoformat(), record


def _crash_flow_runs(flow_run_ids: list[str]) -> None:
    """Show the flow runs of abandoned phase runs as Crashed in Prefect, which would leave them Running."""
    # A run the cluster's automation restarted (auditcycle.runs.cluster) is the same flow run as the one
    # it takes over from: that one is running again, not crashed.
    flow_run_ids = [flow_run_id for flow_run_id in flow_run_ids if flow_run_id != _flow_run_id()]
    if not flow_run_ids or _flow_run_id() is None:
        return  # only a run inside Prefect has its API to tell

    try:
        with get_client(sync_client=True) as client:
            for flow_run_id in flow_run_ids:
                client.set_flow_run_state(flow_run_id, Crashed(
                    message="the process was killed or lost; a later run of the phase took over"), force=True)
    except Exception as exc:  # the phase itself must still run if Prefect's API refuses
        _logger().warning("could not mark abandoned flow runs %s as crashed: %s", flow_run_ids, exc)


def scheduled_skip(name: str, month: str | None, now: str | None) -> dict | None:
    """Return {"skipped": why} when a scheduled run (no month given) has nothing to do now, else None.

    A scheduled run does nothing on a day that is not its day (see auditcycle.runs.schedule) or while
    another run of the phase holds its lease; it records no run and logs why. Otherwise it takes the
    lease there and then, so a manual run started at the same moment cannot slip in between this
    check and the phase, and it is the manual run that is refused.
    """
    if month is not None:
        return None
    ctx = build_context(now)
    reason = skip_reason(name, ctx)
    if reason is None and not acquire(name, run_holder(), lease_ttl()):
        reason = busy_message(name, current(name), ctx.tz)
    if reason is None:
        return None
    _logger().info("scheduled %s run skipped: %s", name, reason)
    return {"skipped": reason}


def announce(name: str, council: str | None) -> None:
    """Log which council a run works for, by its slug, so a region's log says whose run each line belongs to."""
    if council is not None:
        _logger().info("council %s: %s run", council, name)


def phase_flow(name: str, *, deliver: bool = True) -> Callable[[Callable[..., dict]], Flow]:
    """Make a phase's flow from its body: the body only calls its tasks and returns their summary.

    Around the body, the flow skips a scheduled run with nothing to do (see `scheduled_skip`), holds the
    phase's lease, records the run with its summary, and, after the body's tasks have committed, drains
    the outbox. The body is called with the resolved month ("YYYY-MM") and clock (ISO) and its own options.
    """

    def make(body: Callable[..., dict]) -> Flow:
        # Every phase flow takes `by`, the person starting it, and `council`, whose database and settings it
        # works on (in a region; None: the default council), beside the body's own parameters.
        body_signature = inspect.signature(body)
        signature = body_signature.replace(parameters=[*body_signature.parameters.values(), *(inspect.Parameter(
            extra, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=str | None) for extra in ("by", "council"))])

        @functools.wraps(body)
        def run(*args: Any, **kwargs: Any) -> dict:
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            options = dict(bound.arguments)
            month, now, by = options.pop("month", None), options.pop("now", None), options.pop("by")
            with for_council(options.pop("council")) as council:
                announce(name, council)
                actor = starter(name, now, by)
                if skipped := scheduled_skip(name, month, now):
                    return skipped
                given_now = now  # a `--now` clock, which the mailbox's limits then count on too
                with phase(name, month, now, actor) as (month, now, record):
                    summary = body(month=month, now=now, **options)
                    record.summary = ({**summary, "delivery": deliver_outbox(holder=run_holder(), now=given_now)}
                                      if deliver else summary)
                return record.summary

        run.__signature__ = signature
        return flow(name=name, persist_result=False, log_prints=False)(run)

    return make


# Beside the web application a second request waits for the run before it, rather than failing at once.
BESIDE_WAIT_SECONDS = 600


def adhoc_phase(name: str, *, kind: str, request: str, beside: bool = False, council: str | None = None) -> dict:
    """Run an ad-hoc phase (deep dive or dip sample) from its stored request: draw, announce and book it, once.

    The run is credited to the person who asked for it, checked when it draws; no parameter names anyone.
    In a flow run the steps are Prefect tasks; outside one (`beside` the web application, or by hand with no
    Prefect server) the same steps are called as they are; beside the web the lease holder is named after the request.
    `council` names the region's council whose request it is (None: the current one).
    """
    with for_council(council) as slug:
        announce(name, slug)
        return _adhoc_run(name, kind=kind, request=request, beside=beside)


def _adhoc_run(name: str, *, kind: str, request: str, beside: bool) -> dict:
    start = read_adhoc_request(request=request, kind=kind, now=None)
    holder = holder_name(f"web-{request.strip().upper()}") if beside else run_holder()
    try:
        with phase(name, start["month"], start["clock"], start["requester"], holder=holder,
                   wait=BESIDE_WAIT_SECONDS if beside else None, request_id=start["request_id"]) as (_, clock, record):
            # Each task commits its own work, so a re-run after a failure finishes what was left undone; each
            # figure is stored as it is known, for the console's page of the run's progress.
            record.summary = draw_adhoc_sample(request=request, now=clock)
            save_progress(record)
            record.summary["queued"] = queue_adhoc_notices(cycle=record.summary["cycle"], now=clock)
            save_progress(record)
            record.summary.update(book_adhoc_meetings(cycle=record.summary["cycle"], now=clock))
            save_progress(record)
            record.summary["delivery"] = deliver_outbox(holder=holder)
    except PhaseBusy as busy:
        record_refused_start(name, Month.parse(start["month"]), build_context(start["clock"]), error=busy,
                             request_id=start["request_id"])
        raise
    return record.summary
