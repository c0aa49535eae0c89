"""`auditcycle init`: create or upgrade the database."""
from typing import Annotated

import typer
from sqlalchemy.engine import make_url

from auditcycle.cli import NowOption, app, console, guarded
from auditcycle.core.context import build_context
from auditcycle.core.settings import get_settings
from auditcycle.storage.db import session_scope, upgrade
from auditcycle.storage.installation import mark_simulation


@app.command("init")
@guarded
def init_command(
    simulation: Annotated[bool, typer.Option(
        "--simulation", help="Create an empty database for a rehearsal, where --now may set the clock.")] = False,
    now: NowOption = None,
) -> None:
    """Create or upgrade the database schema to the newest migration."""
    build_context(now)
    upgrade()
    if simulation:
        with session_scope() as session:
            mark_simulation(session)
    kind = "a simulation database" if simulation else "Database"
    console.print(f"{kind.capitalize()} ready at {_safe_url(get_settings().database_url)}.")


def _safe_url(url: str) -> str:
    """Hide a password in a database URL before printing it."""
    return make_url(url).render_as_string(hide_password=True)

