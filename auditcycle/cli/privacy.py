"""`auditcycle retention`: erase children's personal fields past the retention period, or count them."""
from dataclasses import asdict
from typing import Annotated

import typer

from auditcycle.cli import NowOption, app, console, guarded, unit_of_work
from auditcycle.people.permissions import authorise
from auditcycle.privacy.retention import purge_expired


@app.command("retention")
@guarded
def retention_command(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Count what would be erased; change nothing.")] = False,
    by: Annotated[str, typer.Option("--by", help="Your staff id (QA team): erasure cannot be undone.")] = ...,
    now: NowOption = None,
) -> None:
    """Erase the personal fields of children whose last audit is older than retention_years (counts only)."""

    with unit_of_work(now) as (session, ctx):
        authorise(session, command="run", staff_id=by)
        summary = purge_expired(session, now=ctx.now, years=ctx.settings.retention_years, dry_run=dry_run)
        if dry_run:
            session.rollback()
    console.print_json(data={**asdict(summary), "retention_years": ctx.settings.retention_years})
