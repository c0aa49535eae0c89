"""`auditcycle serve`: run prefect.yaml's deployments from this process, on their schedules, with no worker."""
from pathlib import Path
from typing import Annotated

import typer

from auditcycle.cli import app, console, guarded


@app.command("serve")
@guarded
def serve_command(
    names: Annotated[list[str] | None, typer.Argument(help="Serve only these deployments (default: all).")] = None,
    config: Annotated[Path | None, typer.Option("--config", help="The prefect.yaml to read.")] = None,
) -> None:
    """Serve prefect.yaml's deployments from this process on their schedules, until stopped."""
    # Imported here, as every command's domain is: Prefect takes a second to load, and --help should not.
    from prefect import serve

    from auditcycle.runs.prefect_server import start_temporary_server
    from auditcycle.runs.serving import build_deployments, describe, find_config

    path = find_config(config)
    deployments = build_deployments(path, names)
    console.print(f"Serving {len(deployments)} deployment(s) from {path}:", highlight=False)
    for deployment in deployments:
        console.print(f"  {describe(deployment)}", highlight=False)
    start_temporary_server()
    # Stopping the server must not pause the schedules: `prefect deploy` and a worker may own them too.
    serve(*deployments, pause_on_shutdown=False, print_starting_message=False)
