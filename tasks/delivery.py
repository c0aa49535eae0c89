"""Drain the outbox."""
from dataclasses import asdict

from auditcycle.core.clock import wall_clock
from auditcycle.core.context import build_context
from auditcycle.core.faults import BEFORE_DELIVERY, checkpoint
from auditcycle.core.settings import get_settings
from auditcycle.notifications.gateway import deliver
from auditcycle.storage.db import get_engine
from auditcycle.tasks.common import step_task


@step_task("deliver-outbox")
def deliver_outbox(holder: str | None = None, now: str | None = None) -> dict:
    """Send every message due, after the phase's own transaction has committed, claiming them as `holder`.

    With the mailbox limited, `now`, a run's `--now`, is the clock its limits count on, so a simulated
    month's waits are simulated time; otherwise the real time, as before.
    """
    checkpoint(BEFORE_DELIVERY)
    settings = get_settings()
    clock = wall_clock
    if now is not None and settings.mail_rate.limited:
        at = build_context(now, settings).now
        clock = lambda: at  # noqa: E731  (a run's clock stands still, as its decisions do)
    report = deliver(engine=get_engine(), settings=settings, holder=holder, clock=clock)
    return {k: v for k, v in asdict(report).items() if k != "failures"}
