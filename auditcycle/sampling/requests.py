"""Requests to draw: a deep dive, a dip sample or a monthly sample's theme, checked and stored before any draw.

The free text of a request (its theme and reason) is what staff type, and it may name a child. It is
stored here, in our database, and a flow is given only the request's reference (REQ-17), so the text
never becomes a Prefect parameter or result. A request is checked when it is stored and again when it
is drawn (a due date may have passed in between); both ask `check_request`, the one home of the rules.
"""
from dataclasses import dataclass, replace
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from auditcycle.core.context import AppContext
from auditcycle.core.errors import UserError, shown
from auditcycle.core.text import text_problem
from auditcycle.models import DrawRequest, Team
from auditcycle.models.enums import Cohort, CycleKind
from auditcycle.notifications.notices import day_label
from auditcycle.people.permissions import authorise

LABELS = {CycleKind.DEEP_DIVE: "deep dive", CycleKind.DIP_SAMPLE: "dip sample", CycleKind.MONTHLY: "monthly sample"}
# The permission each kind of request is checked against: the QA team's, for an ad-hoc cycle or a phase run.
COMMANDS = {CycleKind.DEEP_DIVE: "deep-dive", CycleKind.DIP_SAMPLE: "deep-dive", CycleKind.MONTHLY: "run"}
# Short notice means weeks, not months: a later request belongs in a monthly cycle's theme.
MAX_NOTICE_WORKING_DAYS = 20
THEME_MAX = 200  # the length of audit_cycle.theme and draw_request.theme
PREFIX = "REQ-"


@dataclass(frozen=True)
class Asked:
    """A request as asked for: its kind, theme, size, due date, filters, reason and focus domains."""

    kind: CycleKind
    theme: str
    size: int | None = None
    due: date | None = None
    cohort: Cohort | None = None
    team: str | None = None
    reason: str | None = None
    domains: tuple[str, ...] = ()

    @classmethod
    def of(cls, row: DrawRequest) -> "Asked":
        """Return a stored request's fields."""
        return cls(kind=row.kind, theme=row.theme, size=row.size, due=row.due_date, cohort=row.cohort, team=row.team,
                   reason=row.reason, domains=tuple(row.domains.split(",")) if row.domains else ())


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a request: the field it is about, as the command line says it and as a form says it."""

    field: str | None  # theme, size, due, team, reason or domains; None for the request as a whole
    text: str          # the command line's: "--due 2026-11-28: Saturday is not a working day; ..."
    message: str       # a form's, beside its field: "The due date is a Saturday, not a working day: ..."


class RequestRefused(UserError):
    """A request that breaks the framework's rules: every problem, each naming its field."""

    def __init__(self, kind: CycleKind, problems: list[Problem]) -> None:
        super().__init__(f"the {LABELS[kind]} cannot be drawn:\n" + "\n".join(f"  - {p.text}" for p in problems))
        self.problems = tuple(problems)


def check_request(session: Session, ctx: AppContext, asked: Asked) -> Asked:
    """Return the request tidied (spacing, domains in framework order), or refuse it listing every problem."""
    problems = _theme_problems(asked.theme)
    reason = asked.reason.strip() if asked.reason and asked.reason.strip() else None
    if reason and (problem := text_problem(reason, multiline=True)):
        problems.append(Problem("reason", f"--reason {problem}", f"The reason {problem}"))
    team = asked.team.strip() if asked.team and asked.team.strip() else None
    if asked.kind == CycleKind.MONTHLY:
        # The month's own options (size, cohort, team) stay the sample's; only the free text is stored.
        if asked.size is not None or asked.due is not None or asked.cohort or team or reason or asked.domains:
            problems.append(Problem(None, "a monthly sample's request holds its theme only",
                                    "A monthly sample's request holds its theme only"))
        domains: tuple[str, ...] = ()
    else:
        if asked.size is None or asked.size < 1:
            problems.append(Problem("size", f"--size {asked.size}: draw at least one audit",
                                    "Enter how many audits to draw: at least one"))
        problems += _due_problems(ctx, asked.due)
        if team and session.scalar(select(Team.id).where(Team.name == team)) is None:
            problems.append(Problem("team", f"--team {shown(team)!r}: no team has that name",
                                    f"No team is called {shown(team)!r}: choose a team from the list"))
        domains, domain_problems = _focus_domains(ctx, asked.kind, asked.domains)
        problems += domain_problems
    if problems:
        raise RequestRefused(asked.kind, problems)
    return replace(asked, theme=" ".join(asked.theme.split()), team=team, reason=reason, domains=domains)


def theme_problems(theme: str) -> list[str]:
    """Explain why a theme is not one line of 1 to 200 characters."""
    return [p.text for p in _theme_problems(theme)]


def _theme_problems(theme: str) -> list[Problem]:
    tidy = " ".join(theme.split())
    if not tidy:
        return [Problem("theme", "--theme is required: say what the sample looks at",
                        "Enter the theme: what the sample looks at")]
    if len(tidy) > THEME_MAX:
        return [Problem("theme", f"--theme is {len(tidy)} characters; at most {THEME_MAX}",
                        f"The theme must be {THEME_MAX} characters or fewer; it is {len(tidy)}")]
    if problem := text_problem(theme.strip(), multiline=False):
        return [Problem("theme", f"--theme {problem}", f"The theme {problem}")]
    return []


def _due_problems(ctx: AppContext, due: date | None) -> list[Problem]:
    """Explain why a due date is not a working day after today and within the notice allowed."""
    ts = ctx.timescales
    today = ts.today(ctx.now)
    latest = ts.add_working_days(today, MAX_NOTICE_WORKING_DAYS)
    window = f"choose a working day after today ({today}) and no later than {latest}"
    # A form says the days as people write them; the command line as it reads them, YYYY-MM-DD.
    choose = f"choose a working day after today, {day_label(today)}, and no later than {day_label(latest)}"
    if due is None:
        return [Problem("due", f"--due is required: {window}", f"Enter the due date: {choose}")]
    if due <= today:
        when = "is today" if due == today else "is in the past"
        return [Problem("due", f"--due {due}: {when}; {window}", f"The due date {when}: {choose}")]
    if not ts.is_working_day(due):
        what = "is a bank holiday" if ts.is_bank_holiday(due) else "is not a working day"
        return [Problem("due", f"--due {due}: {due:%A} {what}; {window}",
                        f"The due date, {day_label(due)}, {what}: {choose}")]
    if due > latest:
        return [Problem("due", f"--due {due}: more than {MAX_NOTICE_WORKING_DAYS} working days ahead; {window}",
                        f"The due date is more than {MAX_NOTICE_WORKING_DAYS} working days ahead: {choose}")]
    return []


def _focus_domains(ctx: AppContext, kind: CycleKind, asked: tuple[str, ...]) -> tuple[tuple[str, ...], list[Problem]]:
    """Return the focus domains in the framework's order, and any problems with them."""
    known = list(ctx.settings.framework.domains)
    allowed = ", ".join(known)
    wanted = {d.strip() for d in asked if d.strip()}
    if kind == CycleKind.DEEP_DIVE:
        if wanted:
            return (), [Problem("domains",
                                "--domains: a deep dive grades every domain; draw a dip sample to focus on some",
                                "A deep dive grades every domain: leave the focus domains empty, or ask for a "
                                "dip sample")]
        return (), []
    if not wanted:
        return (), [Problem("domains", f"--domains: a dip sample needs at least one focus domain, from: {allowed}",
                            "Choose at least one focus domain for the dip sample")]
    unknown = sorted(wanted - set(known))
    if unknown:
        verb = "is not an audit domain" if len(unknown) == 1 else "are not audit domains"
        names = ", ".join(repr(shown(d)) for d in unknown)
        return (), [Problem("domains", f"--domains: {names} {verb}; choose from: {allowed}",
                            f"{names} {verb}: choose focus domains from the list")]
    return tuple(d for d in known if d in wanted), []


def store_request(session: Session, ctx: AppContext, *, asked: Asked, by: str, form_key: str | None = None) -> str:
    """Check and store a request to draw, asked by a QA team member; return its reference, e.g. REQ-17.

    `form_key` is the one-time key of the console form it came from, which no other request may have.
    """
    authorise(session, command=COMMANDS[asked.kind], staff_id=by)
    asked = check_request(session, ctx, asked)
    row = DrawRequest(kind=asked.kind, theme=asked.theme, reason=asked.reason, size=asked.size, due_date=asked.due,
                      cohort=asked.cohort, team=asked.team, domains=",".join(asked.domains) or None,
                      requested_by_id=by, requested_at=ctx.now, form_key=form_key)
    session.add(row)
    session.flush()
    return reference_of(row)


def reference_of(row: DrawRequest) -> str:
    """Return a request's reference: REQ- and its number."""
    return f"{PREFIX}{row.id}"


def get_request(session: Session, reference: str, *, kind: CycleKind | None = None) -> DrawRequest:
    """Get a stored request by reference (REQ-17, or 17), of the kind given, or say plainly why not."""
    number = reference.strip().upper().removeprefix(PREFIX)
    row = session.get(DrawRequest, int(number)) if number.isdigit() else None
    if row is None:
        raise UserError(f"request {shown(reference)!r}: no request to draw has that reference; "
                        f"store one with `auditcycle deep-dive … --store-only` and give the {PREFIX}… it prints")
    if kind is not None and row.kind != kind:
        raise UserError(f"{reference_of(row)} asks for a {LABELS[row.kind]}, not a {LABELS[kind]}")
    return row


def note_flow_run(session: Session, *, reference: str, flow_run_id: str) -> None:
    """Record the Prefect flow run started for a stored request, for its page to link to."""
    get_request(session, reference).flow_run_id = flow_run_id
