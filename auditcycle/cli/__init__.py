"""The `auditcycle` command line."""
import functools
import getpass
import logging
import os
import socket
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from importlib.metadata import PackageNotFoundError, version
from typing import Annotated, ParamSpec, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from sqlalchemy.orm import Session

from auditcycle.core.clock import ClockError, Month, iso_day
from auditcycle.core.context import AppContext, build_context
from auditcycle.core.errors import UserError, brief
from auditcycle.core.region import enter_council, leave_council
from auditcycle.core.settings import describe_problem, get_settings
from auditcycle.people.permissions import check_operator
from auditcycle.storage.db import get_engine, session_scope
from auditcycle.storage.installation import check_clock
from auditcycle.storage.trail import acting_as

app = typer.Typer(
    name="auditcycle",
    help="Run the monthly case-audit cycle of the Quality Assurance & Impact Framework.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
console = Console()
err_console = Console(stderr=True)
P = ParamSpec("P")
R = TypeVar("R")

ByOption = Annotated[str, typer.Option("--by", help="Your staff id: the person making this decision.")]
NowOption = Annotated[
    str | None,
    typer.Option(
        "--now",
        help="The clock for every time decision (ISO date-time; without a zone it is local time).",
        metavar="ISO-DATETIME",
    ),
]


def _parse_month(value: str) -> Month:
    try:
        return Month.parse(value)
    except ClockError as exc:
        raise typer.BadParameter(str(exc)) from None


def _parse_month_or_default(value: str) -> Month | None:
    # An empty --month, as a script passing an unset variable writes it, means the default month.
    return _parse_month(value) if value.strip() else None


def month_option(help: str = "The audit month, YYYY-MM.", *, required: bool = False) -> typer.models.OptionInfo:
    """Return a --month option parsed and checked at the command line (`2026-1` is refused)."""
    return typer.Option("--month", help=help, parser=_parse_month if required else _parse_month_or_default,
                        metavar="YYYY-MM")


def month_argument(help: str = "The audit month, YYYY-MM.") -> typer.models.ArgumentInfo:
    """Return a MONTH argument parsed and checked at the command line, as --month is."""
    return typer.Argument(help=help, parser=_parse_month, metavar="YYYY-MM")


@contextmanager
def unit_of_work(now: str | None) -> Iterator[tuple[Session, AppContext]]:
    """Open a decision's one transaction at its clock (the real time, unless a simulation), committed at the end."""
    ctx = build_context(now)
    with session_scope() as session:
        check_clock(session, ctx)
        yield session, ctx


def deliver_queued() -> int:
    """Send what the command queued, after its transaction has committed; return how many went."""
    from auditcycle.notifications.gateway import deliver  # imported here: the mail libraries load slowly
    from auditcycle.runs.leases import holder_name

    return deliver(engine=get_engine(), settings=get_settings(), holder=holder_name(None)).sent


def _parse_date(value: str) -> date:
    day = iso_day(value.strip())
    if day is None:
        raise typer.BadParameter(f"{brief(value)!r} is not a date; write it as YYYY-MM-DD, e.g. 2026-12-04")
    return day


def date_option(name: str, help: str) -> typer.models.OptionInfo:
    """Return a date option parsed and checked at the command line."""
    return typer.Option(name, help=help, parser=_parse_date, metavar="YYYY-MM-DD")


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print an error for the user and return the exit to raise."""
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def guarded(func: Callable[P, R]) -> Callable[P, R]:
    """Wrap a command: credit its changes to a person and an origin; a UserError or bad setting exits non-zero."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            account = operating_account()
            by = kwargs.get("by")
            claimed = by.strip() if isinstance(by, str) and by.strip() else None
            if claimed:
                check_operator(get_settings(), account)
            with acting_as(claimed or f"cli:{account}", origin=(account, socket.gethostname())):
                return func(*args, **kwargs)
        except UserError as exc:
            raise fail(str(exc)) from None
        except ValidationError as exc:
            raise fail(describe_problem(exc), code=2) from None

    return wrapper


def operating_account() -> str:
    """Return the operating-system account running the command."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


class _NoTracebackForUserErrors(logging.Filter):
    """Keep the one-line log of a run that failed with a UserError, but not its traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], UserError):
            record.exc_info = record.exc_text = None
        return True


def offline() -> None:
    """Turn off Prefect's usage reports, its server's and its client's, and the notice it prints about them."""
    # This machine's users have no telemetry endpoint to reach.
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")


def quiet_libraries() -> None:
    """Keep Prefect to warnings and offline, and the report's renderers to errors, so a command prints its own words.

    It must run before Prefect is first imported: Prefect reads its settings once, at import. A person who
    wants Prefect's INFO lines back sets PREFECT_LOGGING_LEVEL=INFO, which this leaves alone.
    """
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("PREFECT_SERVER_LOGGING_LEVEL", "WARNING")
    offline()
    # The report's inline SVG uses properties WeasyPrint ignores: a warning per property would bury the summary.
    for name in ("weasyprint", "fontTools"):
        logging.getLogger(name).setLevel(logging.ERROR)


def installed_version() -> str:
    """Return the installed auditcycle's version, from its package metadata."""
    try:
        return version("auditcycle")
    except PackageNotFoundError:
        return "unknown (not installed)"


def _show_version(value: bool) -> None:
    if value:
        console.print(f"auditcycle {installed_version()}", highlight=False)
        raise typer.Exit()


@app.callback()
def _options(
    ctx: typer.Context,
    _version: Annotated[bool, typer.Option("--version", callback=_show_version, is_eager=True,
                                           help="Print the installed version and exit.")] = False,
    council: Annotated[str | None, typer.Option(
        "--council", metavar="SLUG",
        help="In a region (AUDITCYCLE_REGION), the council to work for; default AUDITCYCLE_COUNCIL, "
             "else the region file's default.")] = None,
) -> None:
    """Run the monthly case-audit cycle of the Quality Assurance & Impact Framework."""
    try:
        token = enter_council(council)
    except UserError as exc:
        raise fail(str(exc)) from None
    # Left when the command ends, so a test's next command in the same process starts afresh.
    ctx.call_on_close(lambda: leave_council(token))


def main() -> None:
    """Run the CLI, turning known errors into a clear message and a non-zero exit."""
    # `serve` is a service: Prefect's log of the runs it starts is its output. Every other command prints its own.
    if sys.argv[1:2] != ["serve"]:
        quiet_libraries()
    else:
        offline()
    # The engine logs a failed flow or task run with its traceback; a refusal the user can act on (a
    # busy phase, a clash with another run) is not a bug, and is printed once, plainly, as `error: ...`.
    for name in ("prefect.flow_runs", "prefect.task_runs"):
        logging.getLogger(name).addFilter(_NoTracebackForUserErrors())
    # Imported last: each command module registers itself on `app`, defined above.
    from auditcycle.cli import commands  # noqa: F401

    try:
        app(standalone_mode=True)
    except UserError as exc:
        fail(str(exc))
        sys.exit(1)
    except ValidationError as exc:
        fail(describe_problem(exc))
        sys.exit(2)
