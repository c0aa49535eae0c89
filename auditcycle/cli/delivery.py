"""`auditcycle deliver`: send what the outbox holds, once or, with --watch, every few seconds until stopped."""
import logging
import signal
import sys
from typing import Annotated

import typer

from auditcycle.cli import app, console, guarded


@app.command("deliver")
@guarded
def deliver_command(
    watch: Annotated[bool, typer.Option(
        "--watch", help="Keep sending: drain the outbox every --interval seconds until SIGTERM or Ctrl-C.")] = False,
    interval: Annotated[float, typer.Option(
        "--interval", min=0.5, max=3600, help="Seconds between drains with --watch.")] = 5.0,
) -> None:
    """Send every message due in the outbox; with --watch, the one sender beside the web application."""
    # Imported here, as every command's domain is: the mail libraries load slowly.
    from auditcycle.core.settings import get_settings
    from auditcycle.notifications import gateway
    from auditcycle.runs.leases import holder_name
    from auditcycle.storage.db import get_engine

    engine, settings, holder = get_engine(), get_settings(), holder_name(None)
    if not watch:
        report = gateway.deliver(engine=engine, settings=settings, holder=holder)
        waiting = f", {report.held_back} waiting for the mailbox's limits" if report.held_back else ""
        console.print(f"{report.sent} sent, {report.retrying} to retry, {report.held} held, {report.failed} failed"
                      f"{waiting}.", highlight=False)
        return
    stop: list[int] = []

    def _stop(signum: int, _frame: object) -> None:
        # Only noted here: the message on the wire is finished, and the drain stops before the next one.
        stop.append(signum)

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _stop)
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    log = logging.getLogger("auditcycle.deliver")
    log.info("watching the outbox every %g seconds as %s", interval, holder)
    total = gateway.watch(engine=engine, settings=settings, interval=interval, stopping=lambda: bool(stop),
                          holder=holder)
    log.info("stopped by %s: %d sent in all", signal.Signals(stop[0]).name, total.sent)
