"""Commands of audit actions: record completion and sign off."""
# Each command imports the domain inside its body, so `auditcycle --help` and unrelated commands start fast.
from datetime import date
from typing import Annotated

import typer

from auditcycle.cli import ByOption, NowOption, app, console, date_option, deliver_queued, guarded, unit_of_work

action_app = typer.Typer(help="Audit actions: record completion and sign them off.", no_args_is_help=True)
app.add_typer(action_app, name="action")


@action_app.command("done")
@guarded
def action_done_command(
    action_ref: Annotated[str, typer.Argument(help="The action completed.")],
    by: ByOption,
    note: Annotated[str | None, typer.Option("--note", help="What was done.")] = None,
    now: NowOption = None,
) -> None:
    """Record that an action is done; it then awaits the line manager's sign-off."""
    from auditcycle.actions.ladder import mark_done

    with unit_of_work(now) as (session, ctx):
        mark_done(session, ctx, reference=action_ref, by=by, note=note)
    deliver_queued()
    console.print(f"{action_ref}: done; awaiting sign-off by the line manager.")


@action_app.command("sign-off")
@guarded
def action_sign_off_command(
    action_ref: Annotated[str, typer.Argument(help="The action to sign off.")],
    by: ByOption,
    quality: Annotated[str, typer.Option("--quality", help="met or not_met: is the quality good enough?")],
    note: Annotated[str, typer.Option("--note", help="The judgement of quality as well as compliance.")],
    due: Annotated[date | None, date_option("--due", "not_met: the new due date (YYYY-MM-DD).")] = None,
    now: NowOption = None,
) -> None:
    """Close an action, judging quality as well as compliance; not_met reopens it with a new due date."""
    from auditcycle.actions.ladder import sign_off  # imported here: a fast --help

    with unit_of_work(now) as (session, ctx):
        action = sign_off(session, ctx, reference=action_ref, by=by, quality=quality, note=note, new_due=due)
        status, due_date = action.status.value, action.due_date
    deliver_queued()
    if status == "open":
        console.print(f"{action_ref}: quality not met; reopened, now due {due_date}.")
    else:
        console.print(f"{action_ref}: signed off.")
