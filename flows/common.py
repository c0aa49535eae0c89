"""What every phase flow does around its tasks: fix the clock, choose the month, record the run."""
from collections.abc import Iterator
from contextlib import contextmanager

from prefect.runtime import flow_run

from auditcycle.context import build_context
from auditcycle.phases import RunRecord, recorded_run, resolve_month


@contextmanager
def phase(name: str, month: str | None, now: str | None) -> Iterator[tuple[str, str, RunRecord]]:
    """Resolve the clock once for the whole run, pick the month, and record the run."""
    ctx = build_context(now)
    chosen = resolve_month(name, month, ctx)
    with recorded_run(name, chosen, ctx, flow_run_id=str(flow_run.get_id() or "") or None) as record:
        yield str(chosen), ctx.now.isoformat(), record
