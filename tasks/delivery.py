"""Drain the outbox."""
from dataclasses import asdict

from auditcycle.core.faults import BEFORE_DELIVERY, checkpoint
from auditcycle.core.settings import get_settings
from auditcycle.notifications.gateway import deliver
from auditcycle.storage.db import get_engine
from auditcycle.tasks.common import step_task


@step_task("deliver-outbox")
def deliver_outbox(holder: str | None = None) -> dict:
    """Send every message due, after the phase's own transaction has committed, claiming them as `holder`."""
    checkpoint(BEFORE_DELIVERY)
    report = deliver(engine=get_engine(), settings=get_settings(), holder=holder)
    return {k: v for k, v in asdict(report).items() if k != "failures"}
