"""`auditcycle cluster-setup`: the Prefect automations that restart, on another worker, a run whose worker was lost."""
from datetime import timedelta
from typing import Annotated

import typer

from auditcycle.cli import app, console, guarded
from auditcycle.runs.cluster import DEFAULT_RESTARTS


@app.command("cluster-setup")
@guarded
def cluster_setup_command(
    lost_after: Annotated[int | None, typer.Option(
        "--lost-after", help="Seconds without a heartbeat before a run is crashed (default: 3 heartbeats).")] = None,
    restarts: Annotated[int, typer.Option(
        "--restarts", help="How many times a crashed run is started again.")] = DEFAULT_RESTARTS,
) -> None:
    """Create the automations that crash a run whose heartbeats stopped and start it again on another worker."""
    from auditcycle.runs.cluster import set_up

    created = set_up(timedelta(seconds=lost_after) if lost_after is not None else None, restarts)
    for automation in created:
        console.print(f"{automation.name} ({automation.id})", highlight=False)
