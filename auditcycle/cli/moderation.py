"""Commands of moderation: record the panel's outcome."""
# Each command imports the domain inside its body, so `auditcycle --help` and unrelated commands start fast.
from typing import Annotated

import typer

from auditcycle.cli import ByOption, NowOption, app, console, deliver_queued, guarded, unit_of_work


@app.command("moderate")
@guarded
def moderate_command(
    audit_ref: Annotated[str, typer.Argument(help="The audit moderated.")],
    by: ByOption,
    grade: Annotated[str, typer.Option("--grade", help="The agreed overall grade.")],
    note: Annotated[str, typer.Option("--note", help="The panel's note.")],
    domain: Annotated[list[str] | None, typer.Option(
        "--domain", help="A changed domain grade, as slug=grade; repeat for each.")] = None,
    now: NowOption = None,
) -> None:
    """Record the moderation outcome; the agreed grades become final and every change is kept."""
    from auditcycle.moderation.panel import parse_domain_grades, record_moderation  # imported here: a fast --help

    with unit_of_work(now) as (session, ctx):
        moderation = record_moderation(session, ctx, reference=audit_ref, by=by, grade=grade,
                                       domains=parse_domain_grades(domain or []), note=note)
        status = moderation.status.value
    deliver_queued()
    console.print(f"{audit_ref}: moderation recorded ({status}); the grades are final.")
