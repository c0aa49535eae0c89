"""Commands of moderation: record the panel's outcome, and an assistant director's agreement of a good grade."""
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
    """Record the moderation outcome; every change is kept, and a good or better grade waits for an assistant director."""
    from auditcycle.models.enums import AuditStatus  # imported here: a fast --help
    from auditcycle.moderation.panel import parse_domain_grades, record_moderation

    with unit_of_work(now) as (session, ctx):
        moderation = record_moderation(session, ctx, reference=audit_ref, by=by, grade=grade,
                                       domains=parse_domain_grades(domain or []), note=note)
        status = moderation.status.value
        final = moderation.audit.status == AuditStatus.COMPLETED
    deliver_queued()
    if final:
        console.print(f"{audit_ref}: moderation recorded ({status}); the grades are final.")
    else:
        console.print(f"{audit_ref}: moderation recorded ({status}); a good or better grade is final once an "
                      f"assistant director agrees it: auditcycle agree-moderation {audit_ref} --by STAFF_ID")


@app.command("agree-moderation")
@guarded
def agree_moderation_command(
    audit_ref: Annotated[str, typer.Argument(help="The audit whose moderated grade is agreed.")],
    by: ByOption,
    now: NowOption = None,
) -> None:
    """Agree, as an assistant director, the panel's good or better grade; the grades then become final."""
    from auditcycle.moderation.panel import agree_moderation  # imported here: a fast --help

    with unit_of_work(now) as (session, ctx):
        agree_moderation(session, ctx, reference=audit_ref, by=by)
    deliver_queued()
    console.print(f"{audit_ref}: agreed by {by}; the grades are final.")
