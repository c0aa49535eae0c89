"""Commands of booking: move a meeting."""
# Each command imports the domain inside its body, so `auditcycle --help` and unrelated commands start fast.
from typing import Annotated

import typer

from auditcycle.cli import ByOption, NowOption, app, console, deliver_queued, guarded, unit_of_work


@app.command("reschedule")
@guarded
def reschedule_command(
    meeting_ref: Annotated[str, typer.Argument(help="The meeting to move.")],
    by: ByOption,
    to: Annotated[str | None, typer.Option("--to", help="New start (ISO); default the next free slot.")] = None,
    now: NowOption = None,
) -> None:
    """Move a meeting and send the update with the same UID and a higher SEQUENCE."""
    from auditcycle.booking.meetings import reschedule

    with unit_of_work(now) as (session, ctx):
        meeting = reschedule(session, ctx, reference=meeting_ref, by=by, to=to)
        when = meeting.starts_at.astimezone(ctx.tz)
    deliver_queued()
    console.print(f"{meeting_ref} moved to {when:%a %d %b %Y %H:%M}.")
