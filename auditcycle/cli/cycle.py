"""Commands of the monthly cycle: run a phase, nominate, replace, reschedule and withdraw."""
from enum import StrEnum
from typing import Annotated

import typer

from ..context import build_context
from ..db import session_scope
from ..models.enums import Cohort
from . import NowOption, app, console, guarded

ByOption = Annotated[str, typer.Option("--by", help="Your staff id: the person making this decision.")]


class Phase(StrEnum):
    SAMPLE = "sample"
    NOTIFY = "notify"
    BOOK = "book"


@app.command("run")
@guarded
def run_command(
    phase: Annotated[Phase, typer.Argument(help="The phase to run.")],
    month: Annotated[str | None, typer.Option("--month", help="The audit month, YYYY-MM.")] = None,
    theme: Annotated[str | None, typer.Option(help="sample: the month's theme.")] = None,
    cohort: Annotated[Cohort | None, typer.Option(help="sample: draw only from this cohort.")] = None,
    team: Annotated[str | None, typer.Option(help="sample: draw only from this team.")] = None,
    size: Annotated[int | None, typer.Option(help="sample: audits to draw (default one per auditor).")] = None,
    seed: Annotated[int | None, typer.Option(help="sample: the seed, to reproduce a draw.")] = None,
    by: Annotated[str | None, typer.Option("--by", help="Your staff id (QA team).")] = None,
    now: NowOption = None,
) -> None:
    """Run a phase of the month through the Prefect engine."""
    from ..flows import book, notify, sample
    from ..permissions import authorise

    ctx = build_context(now)
    if by is not None:
        with session_scope() as session:
            authorise(session, command="run", staff_id=by)
    clock = ctx.now.isoformat()
    if phase == Phase.SAMPLE:
        result = sample.sample(month=month, now=clock, theme=theme, cohort=cohort.value if cohort else None,
                               team=team, size=size, seed=seed)
    elif phase == Phase.NOTIFY:
        result = notify.notify(month=month, now=clock)
    else:
        result = book.book(month=month, now=clock)
    console.print_json(data=result)


@app.command("nominate")
@guarded
def nominate_command(
    child_id: Annotated[str, typer.Argument(help="The child's case id.")],
    by: ByOption,
    month: Annotated[str, typer.Option("--month", help="The audit month, YYYY-MM.")],
    now: NowOption = None,
) -> None:
    """Nominate a child's record as an example of good practice for a month's audit."""
    from ..clock import Month
    from ..cycle import nominate

    ctx = build_context(now)
    with session_scope() as session:
        nominate(session, ctx, child_id=child_id, by=by, month=Month.parse(month))
    console.print(f"Nominated {child_id} for {month} as good practice.")


@app.command("replace")
@guarded
def replace_command(
    audit_ref: Annotated[str, typer.Argument(help="The audit to swap out.")],
    by: ByOption,
    reason: Annotated[str, typer.Option("--reason", help="Why it is being replaced.")],
    now: NowOption = None,
) -> None:
    """Swap an audit out before the notices go, redrawing from the same stratum."""
    from ..cycle import replace

    ctx = build_context(now)
    with session_scope() as session:
        new = replace(session, ctx, reference=audit_ref, by=by, reason=reason)
        console.print(f"{audit_ref} replaced by {new.reference} (case {new.child_id}).")


@app.command("reschedule")
@guarded
def reschedule_command(
    meeting_ref: Annotated[str, typer.Argument(help="The meeting to move.")],
    by: ByOption,
    to: Annotated[str | None, typer.Option("--to", help="New start (ISO); default the next free slot.")] = None,
    now: NowOption = None,
) -> None:
    """Move a meeting and send the update with the same UID and a higher SEQUENCE."""
    from ..booking import reschedule
    from ..db import get_engine
    from ..notifications.gateway import deliver
    from ..settings import get_settings

    ctx = build_context(now)
    with session_scope() as session:
        meeting = reschedule(session, ctx, reference=meeting_ref, by=by, to=to)
        when = meeting.starts_at.astimezone(ctx.tz)
    deliver(engine=get_engine(), settings=get_settings())
    console.print(f"{meeting_ref} moved to {when:%a %d %b %Y %H:%M}.")


@app.command("withdraw")
@guarded
def withdraw_command(
    audit_ref: Annotated[str, typer.Argument(help="The audit to withdraw.")],
    by: ByOption,
    reason: Annotated[str, typer.Option("--reason", help="Why it is being withdrawn.")],
    now: NowOption = None,
) -> None:
    """Withdraw an audit: cancel its meetings and tell the people notified."""
    from ..cycle import withdraw
    from ..db import get_engine
    from ..notifications.gateway import deliver
    from ..settings import get_settings

    ctx = build_context(now)
    with session_scope() as session:
        withdraw(session, ctx, reference=audit_ref, by=by, reason=reason)
    deliver(engine=get_engine(), settings=get_settings())
    console.print(f"{audit_ref} withdrawn.")
