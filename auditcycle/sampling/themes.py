"""The year's plan of monthly themes: read from TOML, checked whole, and taken by the month's draw.

The framework's themes "will vary ... with some being revisited". A plan names a theme for each audit
month and marks the revisits; the scheduled draw takes the month's planned theme when no other is
given, and the report compares a revisited theme with the last month that looked at it.
"""
import tomllib
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from auditcycle.core.clock import Month
from auditcycle.core.errors import UserError
from auditcycle.models import AuditCycle, PlannedTheme
from auditcycle.models.enums import CycleKind
from auditcycle.people.permissions import authorise
from auditcycle.sampling.requests import theme_problems

FIELDS = {"theme", "revisit"}


def same_theme(a: str | None, b: str | None) -> bool:
    """Say whether two themes are the same theme, whatever their case and spacing."""
    return a is not None and b is not None and " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


def _entries(path: Path) -> tuple[dict[Month, tuple[str, bool]], list[str]]:
    try:
        raw = tomllib.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise UserError(f"{path}: not a TOML file ({exc})") from None
    plan: dict[Month, tuple[str, bool]] = {}
    problems: list[str] = []
    for key, value in raw.items():
        try:
            month = Month.parse(key)
        except (UserError, ValueError):
            problems.append(f"[{key}]: not an audit month; write it as YYYY-MM, for example [2027-01]")
            continue
        if not isinstance(value, dict):
            problems.append(f"[{key}]: give the month's theme as a table, with theme = \"...\"")
            continue
        if unknown := sorted(set(value) - FIELDS):
            problems.append(f"[{key}] {', '.join(unknown)}: unknown; a month takes theme and revisit")
        theme, revisit = value.get("theme"), value.get("revisit", False)
        if not isinstance(theme, str):
            problems.append(f"[{key}] theme: required, as text")
            continue
        problems += [f"[{key}] {p.removeprefix('--')}" for p in theme_problems(theme)]
        if not isinstance(revisit, bool):
            problems.append(f"[{key}] revisit: true or false")
        plan[month] = (" ".join(theme.split()), revisit is True)
    return plan, problems


def store_plan(session: Session, *, path: Path, by: str, now: datetime) -> list[PlannedTheme]:
    """Store a TOML plan of monthly themes, whole or not at all, replacing the plan for the months it names."""
    authorise(session, command="plan-themes", staff_id=by)
    plan, problems = _entries(path)
    drawn = {c.month: c.theme for c in session.scalars(
        select(AuditCycle).where(AuditCycle.kind == CycleKind.MONTHLY, AuditCycle.month.in_([str(m) for m in plan])))}
    past = list(session.execute(select(AuditCycle.month, AuditCycle.theme).where(AuditCycle.kind == CycleKind.MONTHLY)))
    for month, (theme, revisit) in sorted(plan.items()):
        if str(month) in drawn:
            problems.append(f"[{month}]: that month is already drawn (theme {drawn[str(month)]!r}); plan a later month")
        earlier = [m for m, t in past if m < month and same_theme(t, theme)]
        earlier += [m for m, (t, _) in plan.items() if m < month and same_theme(t, theme)]
        if revisit and not earlier:
            problems.append(f"[{month}] revisit: no earlier month has the theme {theme!r} to revisit")
    if problems:
        raise UserError(f"{path.name}: the plan was not stored:\n" + "\n".join(f"  - {p}" for p in problems))
    rows = []
    for month, (theme, revisit) in sorted(plan.items()):
        row = session.get(PlannedTheme, month) or PlannedTheme(month=month)
        row.theme, row.revisit, row.planned_by_id, row.planned_at = theme, revisit, by, now
        session.add(row)
        rows.append(row)
    session.flush()
    return rows


def planned_theme(session: Session, month: Month) -> str | None:
    """Return the theme planned for a month, if any."""
    row = session.get(PlannedTheme, str(month))
    return row.theme if row else None


def last_time(session: Session, cycle: AuditCycle) -> AuditCycle | None:
    """Return the last monthly cycle before this one that looked at the same theme."""
    if not cycle.theme:
        return None
    earlier = session.scalars(select(AuditCycle).where(AuditCycle.kind == CycleKind.MONTHLY,
                                                       AuditCycle.month < cycle.month)
                              .order_by(AuditCycle.month.desc()))
    return next((c for c in earlier if same_theme(c.theme, cycle.theme)), None)
