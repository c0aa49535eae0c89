"""`auditcycle web`: serve the web application staff reach from the links in their email."""
from typing import Annotated

import typer

from auditcycle.cli import app, console, deliver_queued, guarded, unit_of_work


def _invite(staff_id: str) -> None:
    from auditcycle.console.sign_in import invite

    with unit_of_work(None) as (session, ctx):
        address = invite(session, ctx, staff_id)
        minutes = ctx.settings.sign_in_link_minutes
    deliver_queued()
    console.print(f"A sign-in link to the console is on its way to {address}; it works once, for {minutes} minutes.",
                  highlight=False)


@app.command("web")
@guarded
def web_command(
    host: Annotated[str, typer.Option("--host", help="The address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="The port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option("--workers", min=1, max=64, help="gunicorn's worker processes.")] = 2,
    debug: Annotated[bool, typer.Option(
        "--debug", help="Flask's development server with its reloader instead of gunicorn: never in production.")] = False,
    invite: Annotated[str | None, typer.Option(
        "--invite", metavar="STAFF_ID",
        help="First mail a sign-in link to the console to this member of staff (one who may sign in).")] = None,
) -> None:
    """Serve the web application under gunicorn until stopped (Flask's development server with --debug)."""
    # Imported here, as every command's domain is: --help should not load Flask.
    from auditcycle.core.region import council_slugs
    from auditcycle.web import create_app
    from auditcycle.web.region import create_region_app
    from auditcycle.web.server import serve

    # In a region, every council's site in one server, each at its own base_url.
    web_app = create_region_app() if council_slugs() else create_app()
    if invite is not None:
        _invite(invite)
    server = "Flask's development server (--debug)" if debug else f"gunicorn, {workers} worker(s)"
    console.print(f"Serving the web application on http://{host}:{port} with {server}", highlight=False)
    serve(web_app, host=host, port=port, workers=workers, debug=debug)
