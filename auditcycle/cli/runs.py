"""`auditcycle run`: run a phase of the month through the Prefect engine."""
from enum import StrEnum
from typing import Annotated

import typer

from auditcycle.cli import NowOption, app, guarded, month_option, unit_of_work
from auditcycle.cli.summaries import JsonOption, run_and_show
from auditcycle.core.clock import Month
from auditcycle.core.context import build_context
from auditcycle.core.region import council_parameter
from auditcycle.models.enums import Cohort, CycleKind
from auditcycle.people.permissions import authorise
from auditcycle.runs.phases import Kind, get_phase, phases_of
from auditcycle.runs.prefect_server import run_by_hand
from auditcycle.storage.db import read_scope
from auditcycle.storage.installation import check_clock

# The phases `run` offers: the monthly cycle's, from the one list (ad-hoc cycles have their own commands).
Phase = StrEnum("Phase", {p.name: p.name for p in phases_of(Kind.MONTHLY)})


@app.command("run")
@guarded
def run_command(
    phase: Annotated[Phase, typer.Argument(help="The phase to run.")],
    month: Annotated[Month | None, month_option()] = None,
    theme: Annotated[str | None, typer.Option(help="sample: the month's theme.")] = None,
    cohort: Annotated[Cohort | None, typer.Option(help="sample: draw only from this cohort.")] = None,
    team: Annotated[str | None, typer.Option(help="sample: draw only from this team.")] = None,
    size: Annotated[int | None, typer.Option(help="sample: audits to draw (default one per auditor).")] = None,
    seed: Annotated[int | None, typer.Option(help="sample: the seed, to reproduce a draw.")] = None,
    reissue: Annotated[bool, typer.Option("--reissue", help="report: mail a corrected edition.")] = False,
    by: Annotated[str, typer.Option("--by", help="Your staff id (QA team): the person starting the run.")] = ...,
    now: NowOption = None,
    as_json: JsonOption = False,
) -> None:
    """Run a phase of the month: a flow run of the configured Prefect server, or in this process when none is set."""
    # Checked here as well as in the flow, so a refusal is one line before Prefect starts; only read, so
    # it never waits behind another run's write.
    ctx = build_context(now)
    with read_scope() as session:
        check_clock(session, ctx)
        authorise(session, command="run", staff_id=by)
    options = {"sample": {"cohort": cohort.value if cohort else None, "team": team, "size": size, "seed": seed},
               "report": {"reissue": reissue}}.get(phase.value, {})
    if phase.value == "sample" and theme is not None:
        options["request"] = _theme_request(theme, by, now)
    flow = get_phase(phase.value).load_flow()
    clock = ctx.now.isoformat() if ctx.clock_set else None
    title = f"{phase.value} {month}" if month else phase.value
    run_and_show(phase.value, title, lambda: run_by_hand(flow, month=str(month) if month else None, now=clock, by=by,
                                                         **council_parameter(), **options), as_json=as_json)


def _theme_request(theme: str, by: str, now: str | None) -> str:
    """Store the month's theme as a request and return its reference: free text is never a Prefect parameter."""
    from auditcycle.sampling.requests import Asked, store_request

    with unit_of_work(now) as (session, ctx):
        return store_request(session, ctx, asked=Asked(kind=CycleKind.MONTHLY, theme=theme), by=by)
