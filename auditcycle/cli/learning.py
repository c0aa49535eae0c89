"""Commands of the learning culture: Make a Difference summaries and interviews."""
# Each command imports the domain inside its body, so `auditcycle --help` and unrelated commands start fast.
from typing import Annotated

import typer

from auditcycle.cli import ByOption, NowOption, app, console, deliver_queued, guarded, unit_of_work

mad_app = typer.Typer(help="Make a Difference summaries.", no_args_is_help=True)
app.add_typer(mad_app, name="mad")


@mad_app.command("approve")
@guarded
def mad_approve_command(
    reference: Annotated[str, typer.Argument(help="The draft summary.")],
    by: ByOption,
    summary: Annotated[str | None, typer.Option("--summary", help="The summary as edited, if changed.")] = None,
    now: NowOption = None,
) -> None:
    """Approve a draft Make a Difference summary so it can appear in the monthly report."""
    from auditcycle.learning.culture import approve

    with unit_of_work(now) as (session, ctx):
        approve(session, ctx, reference=reference, by=by, summary=summary)
    console.print(f"{reference}: approved for the report.")


@app.command("nominate-mad")
@guarded
def nominate_mad_command(
    staff_id: Annotated[str, typer.Argument(help="The practitioner or manager to interview.")],
    by: ByOption,
    note: Annotated[str, typer.Option("--note", help="The good outcome noticed.")],
    now: NowOption = None,
) -> None:
    """Nominate someone for a Make a Difference interview; a one-hour invite is booked."""
    from auditcycle.learning.culture import nominate_interview

    with unit_of_work(now) as (session, ctx):
        mad = nominate_interview(session, ctx, practitioner_id=staff_id, by=by, note=note)
        ref, status = mad.reference, mad.status
    deliver_queued()
    console.print(f"{ref}: {'interview booked' if status == 'booked' else 'no slot found; the QA manager is told'}.")
