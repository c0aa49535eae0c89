"""The console's tracker: audits, actions and Immediate Responses, each as a table filtered by month, team,
service, status, grade and lateness, sorted by any column, paged, and exported as CSV safe to open in a
spreadsheet. Each person sees only their part (auditcycle/console/scope.py), with names only where it allows.
"""
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import ColumnElement, Select, case, func, select
from sqlalchemy.orm import Session, aliased

from auditcycle.actions.ladder import working_days_overdue
from auditcycle.console.scope import Scope, scope_for
from auditcycle.core.clock import Month
from auditcycle.core.context import AppContext
from auditcycle.core.errors import UserError
from auditcycle.models import (
    Action,
    Audit,
    AuditCycle,
    Child,
    ImmediateResponse,
    Moderation,
    Service,
    Staff,
    Submission,
    Team,
)
from auditcycle.models.enums import ActionStatus, AuditStatus, ResponseStatus
from auditcycle.moderation.panel import is_closed
from auditcycle.report.render import csv_text
from auditcycle.tracker.rows import final_grade, moderation_state

PAGE_SIZE = 50
ANY = "any"
# An audit not yet submitted is overdue once its due date has passed (the month at a glance counts the same).
AUDIT_OPEN = (AuditStatus.ALLOCATED, AuditStatus.NOTIFIED, AuditStatus.BOOKED)


def audit_overdue(today: date) -> ColumnElement[bool]:
    """Return the condition an audit meets when it is overdue on a day: due before it and not yet submitted."""
    return (Audit.due_date < today) & Audit.status.in_(AUDIT_OPEN)


class Tab(StrEnum):
    """The tracker's three tables."""

    AUDITS = "audits"
    ACTIONS = "actions"
    RESPONSES = "responses"

    @property
    def label(self) -> str:
        """Return the tab's heading."""
        return {"audits": "Audits", "actions": "Actions", "responses": "Immediate Responses"}[self.value]


@dataclass(frozen=True)
class Choice:
    """One option of a filter's list."""

    value: str
    label: str


@dataclass(frozen=True)
class Column:
    """One column of a table: its heading, and the sort key of its link if it can be sorted."""

    label: str
    sort: str | None = None


@dataclass(frozen=True)
class Filters:
    """What the person asked the tracker for: the filters, the sort and the page."""

    month: Month | None = None
    team_id: int | None = None
    service_id: int | None = None
    status: str = ANY
    grade: str = ANY
    overdue: bool = False
    sort: str = ""
    descending: bool = False
    page: int = 1

    def params(self, tab: "Tab", **changes: Any) -> dict[str, str]:
        """Return the filters as the page's query parameters, with changes (a sort, a page); defaults left out."""
        values = {"month": self.month, "team": self.team_id, "service": self.service_id,
                  "status": self.status if self.status != DEFAULT_STATUS[tab] else None,
                  "grade": self.grade if self.grade != ANY else None, "overdue": "yes" if self.overdue else None,
                  "sort": self.sort if self.sort != DEFAULT_SORT[tab][0] else None,
                  "order": ("desc" if self.descending else "asc") if self.descending != _natural(tab, self.sort)
                  else None,
                  "page": self.page if self.page > 1 else None} | changes
        return {k: str(v) for k, v in values.items() if v is not None}

    def sorted_by(self, tab: "Tab", key: str) -> dict[str, str]:
        """Return the parameters of a column heading's link: sorted by it, the other way if it already is."""
        descending = not self.descending if key == self.sort else _natural(tab, key)
        order = None if descending == _natural(tab, key) else "desc" if descending else "asc"
        return self.params(tab, sort=key, order=order, page=None)

    def query_string(self, tab: "Tab") -> str:
        """Return the filters as a query string, as the access log keeps them."""
        return urlencode(self.params(tab, page=None))[:500]


@dataclass(frozen=True)
class AuditRow:
    """One audit as the tracker lists it."""

    reference: str
    month: Month
    kind: str
    case_id: str
    child_name: str | None
    team: str
    service: str
    key_worker: str | None
    auditor_id: str | None
    auditor: str | None
    status: str
    due_date: date
    overdue: bool
    grade: str | None
    grade_final: bool
    moderation: str | None


@dataclass(frozen=True)
class ActionRow:
    """One action as the tracker lists it."""

    reference: str
    audit: str
    month: Month
    case_id: str
    team: str
    owner_id: str
    owner: str
    status: str
    due_date: date
    working_days_overdue: int
    ladder_step: int


@dataclass(frozen=True)
class ResponseRow:
    """One Immediate Response as the tracker lists it, with its clock."""

    reference: str
    audit: str
    month: Month
    case_id: str
    child_name: str | None
    team: str
    trigger: str
    status: str
    raised_at: datetime
    deadline_at: datetime
    overdue: bool
    clock: str


@dataclass(frozen=True)
class TrackerView:
    """One tab of the tracker as the page shows it."""

    tab: Tab
    scope: Scope
    filters: Filters
    columns: tuple[Column, ...]
    rows: tuple[Any, ...]
    total: int
    pages: int
    choices: dict[str, tuple[Choice, ...]]
    problems: tuple[tuple[str, str], ...] = ()
    now: datetime | None = None

    @property
    def first(self) -> int:
        """Return the number of the first row shown, counting from 1."""
        return (self.filters.page - 1) * PAGE_SIZE + 1 if self.rows else 0

    @property
    def named_case_ids(self) -> list[str]:
        """Return the case ids of the rows shown with a child's name: what the access log records."""
        return [row.case_id for row in self.rows if getattr(row, "child_name", None)]


@dataclass(frozen=True)
class Export:
    """What the filters select, as CSV for a spreadsheet, and the case ids it holds."""

    filename: str
    text: str
    case_ids: list[str] = field(default_factory=list)
    page: str = ""
    query: str = ""


DEFAULT_STATUS = {Tab.AUDITS: ANY, Tab.ACTIONS: ANY, Tab.RESPONSES: ResponseStatus.OPEN.value}
DEFAULT_SORT = {Tab.AUDITS: ("month", True), Tab.ACTIONS: ("due", False), Tab.RESPONSES: ("due", False)}
STATUSES = {Tab.AUDITS: AuditStatus, Tab.ACTIONS: ActionStatus, Tab.RESPONSES: ResponseStatus}


def _natural(tab: Tab, sort: str) -> bool:
    """Say whether a column sorts newest or largest first unless asked otherwise: the tab's default sort may."""
    return DEFAULT_SORT[tab] == (sort, True)


def _words(slug: str | None) -> str:
    return "" if slug is None else slug.replace("_", " ").capitalize()


def _name(first: str | None, last: str | None) -> str | None:
    # Kept as held, leading spaces or tabs too: the export's cells are made safe, not tidied.
    return " ".join(part for part in (first, last) if part) or None


def _order(values: list[str], column: Any) -> Any:
    # Sorted in the framework's own order (allocated before booked; outstanding before inadequate), not by spelling.
    return case({value: n for n, value in enumerate(values)}, value=column, else_=len(values))


class FilterProblems(UserError):
    """One or more filters could not be read: each named by its field."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(message for _, message in problems))
        self.problems = problems


def _read(tab: Tab, args: Mapping[str, str], choices: dict[str, tuple[Choice, ...]],
          sortable: set[str]) -> tuple[Filters, list[tuple[str, str]]]:
    """Read the filters from the page's query, naming each field that cannot be read."""
    problems: list[tuple[str, str]] = []

    def pick(name: str, message: str, default: str = "") -> str:
        value = (args.get(name) or default).strip()
        if value and value not in {c.value for c in choices.get(name, ())}:
            problems.append((name, message))
            return default
        return value

    month = None
    if asked := (args.get("month") or "").strip():
        try:
            month = Month.parse(asked)
        except (UserError, ValueError):
            problems.append(("month", "Choose a month from the list, or enter one as YYYY-MM, like 2026-12"))
    team = pick("team", "Choose a team from the list")
    service = pick("service", "Choose a service from the list")
    status = pick("status", "Choose a status from the list", DEFAULT_STATUS[tab])
    grade = pick("grade", "Choose a grade from the list", ANY) if tab == Tab.AUDITS else ANY
    overdue = (args.get("overdue") or "").strip()
    if overdue not in ("", "yes"):
        problems.append(("overdue", "Overdue is either ticked or not"))
    sort = (args.get("sort") or DEFAULT_SORT[tab][0]).strip()
    if sort not in sortable:
        problems.append(("sort", f"Sort by one of the columns: {', '.join(sorted(sortable))}"))
        sort = DEFAULT_SORT[tab][0]
    order = (args.get("order") or ("desc" if _natural(tab, sort) else "asc")).strip()
    if order not in ("asc", "desc"):
        problems.append(("order", "The order is asc or desc"))
    page = (args.get("page") or "1").strip()
    if not page.isdigit() or int(page) < 1:
        problems.append(("page", "The page is a whole number, 1 or more"))
        page = "1"
    return Filters(month=month, team_id=int(team) if team else None, service_id=int(service) if service else None,
                   status=status or DEFAULT_STATUS[tab], grade=grade or ANY, overdue=overdue == "yes", sort=sort,
                   descending=order == "desc", page=int(page)), problems


def _overdue_cutoff(ctx: AppContext) -> date:
    """Return the latest due day of something overdue now: today once its working day has ended, else yesterday."""
    today = ctx.timescales.today(ctx.now)
    return today if ctx.timescales.is_overdue(today, ctx.now) else today - timedelta(days=1)


@dataclass(frozen=True)
class _Table:
    """How one tab is read: its query in the person's scope, its sort keys, its filters, and its rows."""

    stmt: Select
    sorts: dict[str, Any]
    columns: tuple[Column, ...]
    where: dict[str, Callable[[Filters], ColumnElement[bool] | None]]
    to_row: Callable[[Any], Any]
    tie: Any


Where = Callable[[Filters], ColumnElement[bool]]


def _where(*, status: Where, overdue: Where, grade: Where | None = None) -> dict[str, Callable]:
    """Return each filter's condition: the audit's month, team and service for every table; the table's own status,
    lateness and (audits) grade. A filter left at "any" adds none."""
    return {"month": lambda f: AuditCycle.month == str(f.month) if f.month else None,
            "team": lambda f: Audit.team_id == f.team_id if f.team_id else None,
            "service": lambda f: Audit.service_id == f.service_id if f.service_id else None,
            "status": lambda f: status(f) if f.status != ANY else None,
            "grade": lambda f: grade(f) if grade and f.grade != ANY else None,
            "overdue": lambda f: overdue(f) if f.overdue else None}


def _audits(ctx: AppContext, scope: Scope) -> _Table:
    auditor, key_worker = aliased(Staff), aliased(Staff)
    names = (Child.first_name, Child.last_name) if scope.names else ()
    stmt = (select(Audit, AuditCycle, Team.name.label("team"), Service.name.label("service"),
                   auditor.name.label("auditor"), key_worker.name.label("key_worker"), Submission.overall,
                   Moderation.status.label("moderation"), Moderation.moderated_overall, *names)
            .join(AuditCycle, Audit.cycle_id == AuditCycle.id).join(Team, Audit.team_id == Team.id)
            .join(Service, Audit.service_id == Service.id)
            .outerjoin(auditor, Audit.auditor_id == auditor.id).outerjoin(key_worker, Audit.key_worker_id == key_worker.id)
            .outerjoin(Submission, Submission.audit_id == Audit.id)
            .outerjoin(Moderation, Moderation.audit_id == Audit.id)
            .where(scope.audits()))
    if scope.names:
        stmt = stmt.join(Child, Audit.child_id == Child.id)
    today = ctx.timescales.today(ctx.now)
    grades = ctx.settings.framework.grades
    closed: dict[int, bool] = {}

    def to_row(r: Any) -> AuditRow:
        audit, cycle = r.Audit, r.AuditCycle
        if cycle.id not in closed:
            closed[cycle.id] = is_closed(ctx, cycle)
        state = moderation_state(r.moderation, submitted=r.overall is not None, closed=closed[cycle.id])
        return AuditRow(
            reference=audit.reference, month=Month.parse(str(cycle.month)), kind=_words(audit.kind),
            case_id=audit.child_id, child_name=_name(r.first_name, r.last_name) if scope.names else None,
            team=r.team, service=r.service, key_worker=r.key_worker, auditor_id=audit.auditor_id, auditor=r.auditor,
            status=_words(audit.status), due_date=audit.due_date,
            overdue=audit.status in AUDIT_OPEN and audit.due_date < today,
            grade=grades.get(r.overall, _words(r.overall)) if r.overall else None,
            grade_final=final_grade(r.overall, r.moderated_overall, state) is not None,
            moderation=_words(state) if state else None)

    return _Table(
        stmt=stmt, to_row=to_row, tie=Audit.id,
        sorts={"audit": Audit.reference, "month": AuditCycle.month, "case": Audit.child_id, "team": Team.name,
               "auditor": auditor.name, "due": Audit.due_date,
               "status": _order(list(AuditStatus), Audit.status), "grade": _order(list(grades), Submission.overall)},
        columns=(Column("Audit", "audit"), Column("Month", "month"), Column("Child", "case"), Column("Team", "team"),
                 Column("Auditor", "auditor"), Column("Status", "status"), Column("Due", "due"),
                 Column("Grade", "grade")),
        where=_where(status=lambda f: Audit.status == AuditStatus(f.status),
                     grade=lambda f: Submission.overall == f.grade,
                     overdue=lambda f: audit_overdue(today)))


def _actions(ctx: AppContext, scope: Scope) -> _Table:
    owner = aliased(Staff)
    stmt = (select(Action, Audit.reference.label("audit"), Audit.child_id, AuditCycle.month, Team.name.label("team"),
                   owner.name.label("owner"))
            .join(Audit, Action.audit_id == Audit.id).join(AuditCycle, Audit.cycle_id == AuditCycle.id)
            .join(Team, Audit.team_id == Team.id).join(owner, Action.owner_id == owner.id)
            .where(scope.actions()))
    cutoff = _overdue_cutoff(ctx)

    def to_row(r: Any) -> ActionRow:
        action = r.Action
        return ActionRow(
            reference=action.reference, audit=r.audit, month=Month.parse(str(r.month)), case_id=r.child_id,
            team=r.team, owner_id=action.owner_id, owner=r.owner, status=_words(action.status),
            due_date=action.due_date, ladder_step=action.escalation_step,
            # Completion stops the clock: only an open action counts as overdue (as the escalate phase counts it).
            working_days_overdue=working_days_overdue(ctx, due=action.due_date)
            if action.status == ActionStatus.OPEN else 0)

    return _Table(
        stmt=stmt, to_row=to_row, tie=Action.id,
        sorts={"action": Action.reference, "audit": Audit.reference, "owner": owner.name, "due": Action.due_date,
               "status": _order(list(ActionStatus), Action.status), "step": Action.escalation_step},
        columns=(Column("Action", "action"), Column("Audit", "audit"), Column("Owner", "owner"),
                 Column("Status", "status"), Column("Due", "due"), Column("Overdue"),
                 Column("Ladder step", "step")),
        where=_where(status=lambda f: Action.status == ActionStatus(f.status),
                     overdue=lambda f: (Action.status == ActionStatus.OPEN) & (Action.due_date <= cutoff)))


def clock_label(deadline: datetime, now: datetime) -> str:
    """Say how long an open Immediate Response has left, or how late it is: "3 h 20 min left"."""
    seconds = int((deadline - now).total_seconds())
    hours, minutes = divmod(abs(seconds) // 60, 60)
    span = " ".join(part for part in (f"{hours} h" if hours else "", f"{minutes} min" if minutes else "") if part) \
        or "0 min"
    return f"{span} left" if seconds > 0 else f"Overdue by {span}"


def _responses(ctx: AppContext, scope: Scope) -> _Table:
    names = (Child.first_name, Child.last_name) if scope.names else ()
    stmt = (select(ImmediateResponse, Audit.reference.label("audit"), Audit.child_id, AuditCycle.month,
                   Team.name.label("team"), *names)
            .join(Audit, ImmediateResponse.audit_id == Audit.id).join(AuditCycle, Audit.cycle_id == AuditCycle.id)
            .join(Team, Audit.team_id == Team.id)
            .where(scope.audits()))
    if scope.names:
        stmt = stmt.join(Child, Audit.child_id == Child.id)

    def to_row(r: Any) -> ResponseRow:
        ir = r.ImmediateResponse
        open_ = ir.status == ResponseStatus.OPEN
        return ResponseRow(
            reference=ir.reference, audit=r.audit, month=Month.parse(str(r.month)), case_id=r.child_id,
            child_name=_name(r.first_name, r.last_name) if scope.names else None, team=r.team,
            trigger=_words(ir.trigger), status=_words(ir.status), raised_at=ir.raised_at, deadline_at=ir.deadline_at,
            overdue=open_ and ir.deadline_at <= ctx.now,
            clock=clock_label(ir.deadline_at, ctx.now) if open_ else "Answered")

    return _Table(
        stmt=stmt, to_row=to_row, tie=ImmediateResponse.id,
        sorts={"response": ImmediateResponse.reference, "audit": Audit.reference, "case": Audit.child_id,
               "raised": ImmediateResponse.raised_at, "due": ImmediateResponse.deadline_at,
               "status": _order(list(ResponseStatus), ImmediateResponse.status)},
        columns=(Column("Response", "response"), Column("Audit", "audit"), Column("Child", "case"),
                 Column("Raised", "raised"), Column("Due", "due"), Column("Clock"), Column("Status", "status")),
        where=_where(status=lambda f: ImmediateResponse.status == ResponseStatus(f.status),
                     overdue=lambda f: (ImmediateResponse.status == ResponseStatus.OPEN)
                     & (ImmediateResponse.deadline_at <= ctx.now)))


TABLES = {Tab.AUDITS: _audits, Tab.ACTIONS: _actions, Tab.RESPONSES: _responses}
ROWS = {Tab.AUDITS: AuditRow, Tab.ACTIONS: ActionRow, Tab.RESPONSES: ResponseRow}


def _choices(session: Session, ctx: AppContext, tab: Tab, scope: Scope) -> dict[str, tuple[Choice, ...]]:
    """Return each filter's options: the months, teams and services of the audits in scope, the tab's statuses."""
    seen = select(Audit.id).where(scope.audits())
    months = session.scalars(select(AuditCycle.month).distinct().join(Audit, Audit.cycle_id == AuditCycle.id)
                             .where(Audit.id.in_(seen)).order_by(AuditCycle.month.desc()))
    teams = session.execute(select(Team.id, Team.name).where(Team.id.in_(select(Audit.team_id).where(scope.audits())))
                            .order_by(Team.name))
    services = session.execute(select(Service.id, Service.name).where(
        Service.id.in_(select(Audit.service_id).where(scope.audits()))).order_by(Service.name))
    return {
        "month": (Choice("", "Any month"), *(Choice(str(m), Month.parse(str(m)).label) for m in months)),
        "team": (Choice("", "Any team"), *(Choice(str(i), name) for i, name in teams)),
        "service": (Choice("", "Any service"), *(Choice(str(i), name) for i, name in services)),
        "status": (Choice(ANY, "Any status"), *(Choice(s.value, _words(s.value)) for s in STATUSES[tab])),
        "grade": (Choice(ANY, "Any grade"), *(Choice(slug, label) for slug, label in
                                               ctx.settings.framework.grades.items())),
    }


def _selected(table: _Table, filters: Filters) -> Select:
    stmt = table.stmt
    for condition in (where(filters) for where in table.where.values()):
        if condition is not None:
            stmt = stmt.where(condition)
    key = table.sorts[filters.sort]
    return stmt.order_by(key.desc() if filters.descending else key.asc(), table.tie)


def _prepare(session: Session, ctx: AppContext, *, staff_id: str, tab: Tab,
             args: Mapping[str, str]) -> tuple[Scope, _Table, Filters, dict, list[tuple[str, str]]]:
    scope = scope_for(session, staff_id=staff_id)
    table = TABLES[tab](ctx, scope)
    choices = _choices(session, ctx, tab, scope)
    filters, problems = _read(tab, args, choices, set(table.sorts))
    return scope, table, filters, choices, problems


def tracker_view(session: Session, ctx: AppContext, *, staff_id: str, tab: Tab,
                 args: Mapping[str, str]) -> TrackerView:
    """Return one page of one tab of the tracker for the signed-in person, in their scope, as the filters ask."""
    scope, table, filters, choices, problems = _prepare(session, ctx, staff_id=staff_id, tab=tab, args=args)
    if filters.month and str(filters.month) not in {c.value for c in choices["month"]}:
        choices["month"] = (*choices["month"], Choice(str(filters.month), filters.month.label))
    if problems:
        return TrackerView(tab=tab, scope=scope, filters=filters, columns=table.columns, rows=(), total=0, pages=0,
                           choices=choices, problems=tuple(problems), now=ctx.now)
    selected = _selected(table, filters)
    total = session.scalar(select(func.count()).select_from(selected.order_by(None).subquery())) or 0
    pages = max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    page = min(filters.page, pages)
    filters = replace(filters, page=page)
    rows = tuple(table.to_row(r) for r in session.execute(selected.offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)))
    return TrackerView(tab=tab, scope=scope, filters=filters, columns=table.columns, rows=rows, total=total,
                       pages=pages, choices=choices, now=ctx.now)


def _export_row(row: Any, ctx: AppContext, names: bool) -> dict:
    values: dict[str, Any] = {}
    for key, value in row.__dict__.items():
        if key == "child_name" and not names:
            continue
        if isinstance(value, datetime):
            value = value.astimezone(ctx.tz).isoformat(timespec="minutes")
        elif isinstance(value, date):
            value = value.isoformat()
        elif isinstance(value, bool):
            value = "yes" if value else "no"
        values[key] = value
    return values


def tracker_export(session: Session, ctx: AppContext, *, staff_id: str, tab: Tab, args: Mapping[str, str]) -> Export:
    """Return everything the filters select in the person's scope as CSV, every cell safe from formula injection."""
    scope, table, filters, _, problems = _prepare(session, ctx, staff_id=staff_id, tab=tab, args=args)
    if problems:
        raise FilterProblems(problems)
    rows = [table.to_row(r) for r in session.execute(_selected(table, filters))]
    suffix = f"-{filters.month}" if filters.month else ""
    # With nothing selected, the headings alone: a spreadsheet still shows what the columns would be.
    text = csv_text(_export_row(row, ctx, scope.names) for row in rows) or ",".join(
        f.name for f in fields(ROWS[tab]) if scope.names or f.name != "child_name") + "\r\n"
    return Export(filename=f"tracker-{tab.value}{suffix}.csv", text=text,
                  case_ids=sorted({row.case_id for row in rows}), page=f"tracker: {tab.value}",
                  query=filters.query_string(tab))
