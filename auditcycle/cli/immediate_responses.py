"""Commands of Immediate Responses: raise one, answer one, confirm or dismiss a supervision gap."""
# Each command imports the domain inside its body, so `auditcycle --help` and unrelated commands start fast.
from typing import Annotated

import typer

from auditcycle.cli import ByOption, NowOption, app, console, deliver_queued, guarded, unit_of_work


@app.command("raise-ir")
@guarded
def raise_ir_command(
    audit_ref: Annotated[str, typer.Argument(help="The audit the concern arose in.")],
    by: ByOption,
    reason: Annotated[str, typer.Option("--reason", help="The safeguarding concern.")],
    now: NowOption = None,
) -> None:
    """Raise an Immediate Response during audit or moderation; the service manager is told at once."""
    from auditcycle.immediate_responses.lifecycle import raise_ir

    with unit_of_work(now) as (session, ctx):
        ir = raise_ir(session, ctx, reference=audit_ref, by=by, reason=reason)
        ref, deadline = ir.reference, ir.deadline_at.astimezone(ctx.tz)
    deliver_queued()
    console.print(f"{ref} raised; the service manager must respond by {deadline:%a %d %b %Y %H:%M}.")


@app.command("respond")
@guarded
def respond_command(
    response_ref: Annotated[str, typer.Argument(help="The Immediate Response being answered.")],
    by: ByOption,
    note: Annotated[str, typer.Option("--note", help="What has been done.")],
    now: NowOption = None,
) -> None:
    """Answer an Immediate Response."""
    from auditcycle.immediate_responses.lifecycle import respond

    with unit_of_work(now) as (session, ctx):
        ir = respond(session, ctx, reference=response_ref, by=by, note=note)
        same_day = ir.same_day
    deliver_queued()
    console.print(f"{response_ref} answered{' the same day' if same_day else ''}.")


@app.command("supervision-gap")
@guarded
def supervision_gap_command(
    audit_ref: Annotated[str, typer.Argument(help="The audit whose records show a supervision gap.")],
    decision: Annotated[str, typer.Argument(help="confirm (raise the Immediate Response) or dismiss (not a gap).")],
    by: ByOption,
    reason: Annotated[str, typer.Option("--reason", help="What the records and the team manager showed.")],
    now: NowOption = None,
) -> None:
    """Confirm a supervision gap the records show, raising the Immediate Response, or dismiss it with the reason."""
    from auditcycle.immediate_responses.supervision_gaps import decide_gap

    with unit_of_work(now) as (session, ctx):
        gap = decide_gap(session, ctx, reference=audit_ref, decision=decision, reason=reason, by=by)
        response = gap.response
        said = (response.reference, response.deadline_at.astimezone(ctx.tz)) if response else None
    deliver_queued()
    if said:
        console.print(f"{audit_ref}: supervision gap confirmed; {said[0]} raised, the service manager must "
                      f"respond by {said[1]:%a %d %b %Y %H:%M}.")
    else:
        console.print(f"{audit_ref}: supervision gap dismissed; the reason is kept.")
