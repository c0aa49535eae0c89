"""`auditcycle serve`: run prefect.yaml's deployments from this process, on their schedules, with no worker."""
from pathlib import Path
from typing import Annotated

import typer

from auditcycle.cli import app, console, guarded
from auditcycle.core.errors import UserError


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


@app.command("deployments")
@guarded
def deployments_command(
    output: Annotated[Path, typer.Option("--output", help="Where to write the region's prefect file.")] = Path(
        "prefect-region.yaml"),
    config: Annotated[Path | None, typer.Option("--config", help="The prefect.yaml to read.")] = None,
    create_queues: Annotated[bool, typer.Option(
        "--create-queues", help="Also create each council's work queue, with its concurrency limit, on the "
                                "Prefect server (PREFECT_API_URL).")] = False,
) -> None:
    """Write a region's prefect file: every phase's deployment once per council, on the council's own work queue."""
    import yaml

    from auditcycle.core.region import council_slugs
    from auditcycle.runs.serving import council_queues, create_council_queues, find_config, region_file

    if not council_slugs():
        raise UserError("no region file is set (AUDITCYCLE_REGION): one council's deployments are prefect.yaml's "
                        "own (`prefect deploy --all`)")
    path = find_config(config)
    region = region_file(path)
    output.write_text("# Written by `auditcycle deployments` from " + path.name + ": one deployment per phase per "
                      "council, each on its council's own work queue.\n"
                      + yaml.safe_dump(region, sort_keys=False, allow_unicode=True), "utf-8")
    console.print(f"Wrote {len(region['deployments'])} deployment(s) for {len(council_slugs())} councils to {output}.",
                  highlight=False)
    queues = create_council_queues() if create_queues else council_queues()
    verb = "Created" if create_queues else "Create"
    for name, limit in queues.items():
        console.print(f"  {verb} work queue {name}: at most {limit} run(s) at once"
                      + ("" if create_queues else f" (prefect work-queue create {name} --pool auditcycle "
                                                  f"--limit {limit})"), highlight=False, soft_wrap=True)
