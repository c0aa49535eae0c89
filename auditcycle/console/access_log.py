"""The access log: every console page shown with a child's name, and every export, kept with who, when and
which records (by case id), so the council can answer a subject access request or an audit of who looked at a
child's record. The QA team searches it by member of staff, case id and day.
"""
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from auditcycle.core.clock import localize, wall_clock
from auditcycle.core.context import AppContext
from auditcycle.imports.rows import parse_date
from auditcycle.models import AccessLogEntry, AccessLogRecord, Staff
from auditcycle.people.permissions import authorise

ACCESS_LOG = "access-log"
PAGE_SIZE = 50
VIEW, EXPORT = "view", "export"


def record_access(session: Session, ctx: AppContext, *, staff_id: str, kind: str, page: str, query: str,
                  case_ids: Iterable[str]) -> AccessLogEntry:
    """Write one access to the log, in the caller's transaction: who, when, what page or export, which cases."""
    if kind not in (VIEW, EXPORT):
        raise ValueError(f"an access is a {VIEW} or an {EXPORT}, not {kind!r}")
    entry = AccessLogEntry(staff_id=staff_id, at=ctx.now, recorded_at=wall_clock(), kind=kind, page=page[:80],
                           query=query[:500])
    entry.records = [AccessLogRecord(case_id=case_id) for case_id in dict.fromkeys(case_ids)]
    session.add(entry)
    session.flush()
    return entry


@dataclass(frozen=True)
class AccessRow:
    """One access as the QA team reads it in the log."""

    at: datetime
    staff_id: str
    staff_name: str
    kind: str
    page: str
    query: str
    case_ids: tuple[str, ...]


@dataclass(frozen=True)
class AccessSearch:
    """What the log holds for a search, newest first, one page of it."""

    rows: tuple[AccessRow, ...]
    total: int
    page: int
    pages: int
    problems: tuple[tuple[str, str], ...] = ()


def _day(args: Mapping[str, str], name: str, label: str, problems: list[tuple[str, str]]) -> date | None:
    value = (args.get(name) or "").strip()
    if not value:
        return None
    try:
        return parse_date(value)
    except ValueError:
        problems.append((name, f"{label} must be a real date, like 01/12/2026"))
        return None


def search_access_log(session: Session, ctx: AppContext, *, by: str, args: Mapping[str, str]) -> AccessSearch:
    """Find the accesses by a member of staff (id or name), to a case id, between two days; the QA team only."""
    authorise(session, command=ACCESS_LOG, staff_id=by)
    problems: list[tuple[str, str]] = []
    staff = (args.get("staff") or "").strip()[:200]
    case_id = (args.get("case") or "").strip()[:64]
    since, until = _day(args, "from", "From", problems), _day(args, "to", "To", problems)
    if since and until and until < since:
        problems.append(("to", "To must be the same day as From or after it"))
    page = (args.get("page") or "1").strip()
    if not page.isdigit() or int(page) < 1:
        problems.append(("page", "The page is a whole number, 1 or more"))
    if problems:
        return AccessSearch(rows=(), total=0, page=1, pages=0, problems=tuple(problems))
    stmt = select(AccessLogEntry).join(Staff, AccessLogEntry.staff_id == Staff.id)
    if staff:
        stmt = stmt.where(or_(func.lower(Staff.id) == staff.lower(), func.lower(Staff.name).contains(staff.lower())))
    if case_id:
        stmt = stmt.where(AccessLogEntry.id.in_(select(AccessLogRecord.entry_id)
                                                .where(func.lower(AccessLogRecord.case_id) == case_id.lower())))
    # The days are the council's: from the start of From to the end of To, local time.
    if since:
        stmt = stmt.where(AccessLogEntry.at >= localize(datetime.combine(since, time()), ctx.tz))
    if until:
        stmt = stmt.where(AccessLogEntry.at < localize(datetime.combine(until + timedelta(days=1), time()), ctx.tz))
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    pages = max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    number = min(int(page), pages)
    entries = session.scalars(stmt.options(selectinload(AccessLogEntry.records), selectinload(AccessLogEntry.staff))
                              .order_by(AccessLogEntry.at.desc(), AccessLogEntry.id.desc())
                              .offset((number - 1) * PAGE_SIZE).limit(PAGE_SIZE))
    rows = tuple(AccessRow(at=e.at, staff_id=e.staff_id, staff_name=e.staff.name, kind=e.kind, page=e.page,
                           query=e.query, case_ids=tuple(r.case_id for r in e.records)) for e in entries)
    return AccessSearch(rows=rows, total=total, page=number, pages=pages)

