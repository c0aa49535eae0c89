"""`auditcycle init`: create or upgrade the database."""
from typing import Annotated

import typer
from rich.markup import escape
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from auditcycle.cli import NowOption, app, console, err_console, guarded
from auditcycle.core.context import build_context
from auditcycle.core.errors import UserError
from auditcycle.core.region import council_slugs, for_council
from auditcycle.core.settings import get_settings
from auditcycle.storage.db import session_scope, upgrade
from auditcycle.storage.installation import mark_simulation


@app.command("init")
@guarded
def init_command(
    simulation: Annotated[bool, typer.Option(
        "--simulation", help="Create an empty database for a rehearsal, where --now may set the clock.")] = False,
    now: NowOption = None,
    all_councils: Annotated[bool, typer.Option(
        "--all-councils", help="In a region, create or upgrade every council's database; name any that fail.")] = False,
) -> None:
    """Create or upgrade the database schema to the newest migration."""
    if not all_councils:
        _init_one(simulation, now)
        return
    slugs = council_slugs()
    if not slugs:
        raise UserError("--all-councils: no region file is set (AUDITCYCLE_REGION), so there is one council: "
                        "run `auditcycle init`")
    failed = []
    for slug in slugs:
        try:
            with for_council(slug):
                _init_one(simulation, now, prefix=f"council {slug}: ")
        except (UserError, SQLAlchemyError, OSError) as exc:
            # One council's unreachable database must not stop the others' upgrades.
            failed.append(slug)
            err_console.print(f"council {slug}: [bold red]failed[/] ({escape(_reason(exc))})", highlight=False,
                              soft_wrap=True)
    if failed:
        raise UserError(f"{len(failed)} of {len(slugs)} councils' databases were not made ready: {', '.join(failed)}")


def _init_one(simulation: bool, now: str | None, prefix: str = "") -> None:
    build_context(now)
    upgrade()
    if simulation:
        with session_scope() as session:
            mark_simulation(session)
    kind = "a simulation database" if simulation else "Database"
    console.print(f"{prefix}{kind.capitalize()} ready at {_safe_url(get_settings().database_url)}.", highlight=False)


def _reason(exc: BaseException) -> str:
    """Say in one line why a council's database could not be made ready, without the driver's traceback."""
    if isinstance(exc, UserError):
        return str(exc)
    cause = getattr(exc, "orig", None) or exc
    said = str(cause).strip().splitlines()
    return f"{type(cause).__name__}: {said[0]}" if said else type(cause).__name__


def _safe_url(url: str) -> str:
    """Hide a password in a database URL before printing it."""
    return make_url(url).render_as_string(hide_password=True)

