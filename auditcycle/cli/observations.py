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
    note: Annotated[str, typer.Option("--note", help="A short note of the observation.")] = "",
    now: NowOption = None,
) -> None:
    """Record an observation of practice as done."""
    from auditcycle.observations.assignment import record_observation

    with unit_of_work(now) as (session, ctx):
        record_observation(session, ctx, reference=observation_ref, by=by, note=note)
    console.print(f"{observation_ref}: recorded.")
