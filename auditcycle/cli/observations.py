"""Commands of observations of practice."""
# Each command imports the domain inside its body, so `auditcycle --help` and unrelated commands start fast.
from typing import Annotated

import typer

from auditcycle.cli import ByOption, NowOption, app, console, guarded, unit_of_work

observe_app = typer.Typer(help="Observations of practice.", no_args_is_help=True)
app.add_typer(observe_app, name="observe")


@observe_app.command("done")
@guarded
def observe_done_command(
    observation_ref: Annotated[str, typer.Argument(help="The observation carried out.")],
    by: ByOption,
    kind: Annotated[str, typer.Option("--type", help="What was observed: family_meeting, home_visit, supervision "
                                                     "or meeting_chaired.")],
    note: Annotated[str, typer.Option("--note", help="A short note of the observation.")] = "",
    now: NowOption = None,
) -> None:
    """Record an observation of practice as done, with what was observed."""
    from auditcycle.observations.assignment import record_observation

    with unit_of_work(now) as (session, ctx):
        record_observation(session, ctx, reference=observation_ref, by=by, kind=kind, note=note)
    console.print(f"{observation_ref}: recorded.")


@observe_app.command("recommend")
@guarded
def observe_recommend_command(
    practitioner_id: Annotated[str, typer.Argument(help="The practitioner to observe.")],
    by: ByOption,
    audit: Annotated[str | None, typer.Option("--audit", help="The audit that recommends it (empty: their PDR).")]
    = None,
    note: Annotated[str | None, typer.Option("--note", help="What the observation should look at.")] = None,
    now: NowOption = None,
) -> None:
    """Recommend a practitioner for observation, from an audit or their Personal Development Review."""
    from auditcycle.observations.recommendations import recommend

    with unit_of_work(now) as (session, ctx):
        row = recommend(session, ctx, practitioner_id=practitioner_id, by=by, audit_ref=audit, note=note)
        source = row.source.value
    console.print(f"{practitioner_id}: recommended for observation (from {'an audit' if source == 'audit' else 'a PDR'});"
                  " the next month's assignment takes it first.")
