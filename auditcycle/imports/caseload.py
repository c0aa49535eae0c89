"""Import the caseload: staff, children, family contacts and staff availability.

Each import reads and validates the whole file before it writes anything, so a bad file
changes nothing and its report names every problem at once. The caller's transaction
(`session_scope`) commits the writes or rolls all of them back.

Children and contacts files hold personal data: their messages name the file, row,
column and child id only, never a name, date of birth or phone number.
"""
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from auditcycle.imports.files import is_duplicate, open_table, tick, validate_rows, write_rows
from auditcycle.imports.ics import ics_periods
from auditcycle.imports.rows import (
    AVAILABILITY_COLUMNS,
    CHILD_COLUMNS,
    CONTACT_COLUMNS,
    STAFF_COLUMNS,
    STAFF_OPTIONAL,
    TEAM_LEVEL_ROLES,
    BusyRow,
    CaseloadImportError,
    ChildRow,
    ContactRow,
    ImportIssue,
    ImportSummary,
    Progress,
    StaffRow,
)
from auditcycle.models import BusyPeriod, Child, FamilyContact, Service, Staff, Team

# --- staff --------------------------------------------------------------------------------


def import_staff(*, session: Session, path: Path, now: datetime, progress: Progress | None = None) -> ImportSummary:
    """Create or update staff, and the teams and services they belong to, from a staff CSV."""
    table = open_table(path, STAFF_COLUMNS, STAFF_OPTIONAL)
    has_new_auditor = "new_auditor" in table.columns
    known_staff = set(session.scalars(select(Staff.id)))
    teams = {t.name: t for t in session.scalars(select(Team))}
    services = {s.name: s for s in session.scalars(select(Service))}
    service_names = {s.id: s.name for s in services.values()}

    rows: list[StaffRow] = []
    first_seen: dict[str, int] = {}
    team_service: dict[str, tuple[str, int]] = {}
    managers: list[tuple[int, str | None, str]] = []
    for line, values in table.rows():
        row, ok = validate_rows(StaffRow, table, line, values)
        tick(progress, 1)
        staff_id, team, service = ok.get("staff_id"), ok.get("team"), ok.get("service")
        if staff_id and is_duplicate(table, line, "staff_id", staff_id, first_seen, f"staff id {staff_id!r}"):
            continue
        if team and "service" in ok and not service:
            table.issues.append(ImportIssue(table.name, line, "service", f"required because team {team!r} is given"))
        elif team and service:
            earlier = team_service.setdefault(team, (service, line))
            if earlier[0] != service:
                table.issues.append(ImportIssue(
                    table.name, line, "service",
                    f"team {team!r} is in service {earlier[0]!r} on row {earlier[1]}, not {service!r}; "
                    "a team belongs to one service",
                ))
        role = (ok.get("role") or "").lower()
        if role in TEAM_LEVEL_ROLES and "team" in ok and not team:
            table.issues.append(ImportIssue(table.name, line, "team", f"required for the role {role!r}"))
        if ok.get("manager_id"):
            managers.append((line, staff_id, ok["manager_id"]))
        if row is not None:
            rows.append(row)
    for line, staff_id, manager_id in managers:
        if manager_id == staff_id:
            table.issues.append(ImportIssue(table.name, line, "manager_id", "a member of staff cannot manage themselves"))
        elif manager_id not in first_seen and manager_id not in known_staff:
            table.issues.append(ImportIssue(
                table.name, line, "manager_id", f"no staff member with id {manager_id!r} in this file or the database"
            ))
    if table.issues:
        raise CaseloadImportError(table.issues)

    for service_name in {r.service for r in rows if r.service} - services.keys():
        services[service_name] = Service(name=service_name)
        session.add(services[service_name])
    session.flush()
    for team_name, (service_name, _) in team_service.items():
        team = teams.get(team_name)
        if team is None:
            teams[team_name] = Team(name=team_name, service_id=services[service_name].id)
            session.add(teams[team_name])
        elif service_names.get(team.service_id) != service_name:
            # The staff file is the current structure chart: a team it places elsewhere has moved.
            team.service_id = services[service_name].id
    session.flush()

    records = []
    for row in rows:
        record = {
            "id": row.staff_id, "name": row.name, "email": row.email, "role": row.role,
            "team_id": teams[row.team].id if row.team else None,
            "service_id": services[row.service].id if row.service else None,
            "manager_id": row.manager_id, "auditor": row.auditor, "newly_qualified": row.newly_qualified,
        }
        if has_new_auditor:
            record["new_auditor"] = row.new_auditor
        records.append(record)
    new = [r | {"manager_id": None} for r in records if r["id"] not in known_staff]
    existing = [r for r in records if r["id"] in known_staff]
    # New staff go in without managers first: a manager may appear later in the file, and
    # the self-referencing foreign key is checked row by row.
    write_rows(session, Staff, new, [], progress)
    write_rows(session, Staff, [], existing + [r for r in records if r["id"] not in known_staff and r["manager_id"]], None)
    tick(progress, len(existing))
    session.flush()
    return ImportSummary(file=table.name, created=len(new), updated=len(existing), staff_ids=frozenset(first_seen))


# --- children -----------------------------------------------------------------------------


def import_children(*, session: Session, path: Path, now: datetime, progress: Progress | None = None) -> ImportSummary:
    """Create or update children on the caseload from a children CSV."""
    table = open_table(path, CHILD_COLUMNS)
    team_ids = {name: team_id for name, team_id in session.execute(select(Team.name, Team.id))}
    staff_ids = set(session.scalars(select(Staff.id)))
    known_children = set(session.scalars(select(Child.id)))
    context = {"today": now.date()}

    new: list[dict] = []
    existing: list[dict] = []
    first_seen: dict[str, int] = {}
    for line, values in table.rows():
        row, ok = validate_rows(ChildRow, table, line, values, context)
        tick(progress, 1)
        child_id, team = ok.get("child_id"), ok.get("team")
        if child_id and is_duplicate(table, line, "child_id", child_id, first_seen, f"child id {child_id!r}"):
            continue
        if team and team not in team_ids:
            table.issues.append(ImportIssue(
                table.name, line, "team", f"no team named {team!r}; import the staff file first, which creates teams"
            ))
        for column in ("key_worker_id", "iro_id", "cp_chair_id"):
            staff_id = ok.get(column)
            if staff_id is not None and staff_id not in staff_ids:
                table.issues.append(ImportIssue(table.name, line, column, f"no staff member with id {staff_id!r}"))
        if row is None or table.issues:
            continue  # Nothing will be written, so stop collecting records.
        record = {
            "id": row.child_id, "first_name": row.first_name, "last_name": row.last_name,
            "date_of_birth": row.date_of_birth, "cohort": row.cohort, "team_id": team_ids[row.team],
            "key_worker_id": row.key_worker_id, "iro_id": row.iro_id, "cp_chair_id": row.cp_chair_id,
            "last_supervision_date": row.last_supervision_date,
        }
        (existing if row.child_id in known_children else new).append(record)
    if table.issues:
        raise CaseloadImportError(table.issues)

    write_rows(session, Child, new, existing, progress)
    session.flush()
    return ImportSummary(file=table.name, created=len(new), updated=len(existing))


# --- family contacts ----------------------------------------------------------------------


def import_contacts(*, session: Session, path: Path, now: datetime, progress: Progress | None = None) -> ImportSummary:
    """Create or update children's family contacts, matched on child, relationship and name."""
    table = open_table(path, CONTACT_COLUMNS)
    known_children = set(session.scalars(select(Child.id)))
    contact_ids = {
        (child_id, relation, name): contact_id
        for contact_id, child_id, relation, name in session.execute(
            select(FamilyContact.id, FamilyContact.child_id, FamilyContact.relation, FamilyContact.name)
        )
    }

    new: list[dict] = []
    existing: list[dict] = []
    first_seen: dict[tuple[str, str, str], int] = {}
    for line, values in table.rows():
        row, ok = validate_rows(ContactRow, table, line, values)
        tick(progress, 1)
        child_id = ok.get("child_id")
        key = (child_id, ok.get("relationship"), ok.get("name"))
        if all(key) and is_duplicate(
            table, line, "name", key, first_seen, f"the same child ({child_id!r}), relationship and name"
        ):
            continue
        if child_id and child_id not in known_children:
            table.issues.append(ImportIssue(
                table.name, line, "child_id", f"no child with id {child_id!r}; import the children file first"
            ))
        if row is None or table.issues:
            continue
        record = {
            "child_id": row.child_id, "relation": row.relationship, "name": row.name, "phone": row.phone,
            "language": row.language, "interpreter_needed": row.interpreter_needed,
        }
        if key in contact_ids:
            existing.append(record | {"id": contact_ids[key]})
        else:
            new.append(record)
    if table.issues:
        raise CaseloadImportError(table.issues)

    write_rows(session, FamilyContact, new, existing, progress)
    session.flush()
    return ImportSummary(file=table.name, created=len(new), updated=len(existing))


# --- availability -------------------------------------------------------------------------


def import_availability(
    *,
    session: Session,
    path: Path,
    now: datetime,
    tz: ZoneInfo,
    staff_id: str | None = None,
    progress: Progress | None = None,
) -> ImportSummary:
    """Record staff busy periods from a CSV (staff_id,start,end) or one person's .ics calendar.

    The summary's staff_ids are the staff who gained a busy period, whose booked meetings
    may now clash.
    """
    suffix = path.suffix.lower()
    if suffix == ".ics":
        periods = ics_periods(path=path, tz=tz, staff_id=staff_id, session=session, progress=progress)
    elif suffix == ".csv":
        if staff_id is not None:
            raise CaseloadImportError([ImportIssue(
                path.name, None, None, "--staff is for .ics files; a CSV names the staff in its staff_id column"
            )])
        periods = _csv_periods(path=path, tz=tz, session=session, progress=progress)
    else:
        raise CaseloadImportError([ImportIssue(path.name, None, None, "expected a .csv or .ics file")])

    wanted = {p[0] for p in periods}
    stored = {
        tuple(row)
        for row in session.execute(
            select(BusyPeriod.staff_id, BusyPeriod.starts_at, BusyPeriod.ends_at).where(BusyPeriod.staff_id.in_(wanted))
        )
    } if wanted else set()
    fresh = sorted(set(periods) - stored)
    write_rows(session, BusyPeriod, [{"staff_id": s, "starts_at": a, "ends_at": b} for s, a, b in fresh], [], None)
    session.flush()
    return ImportSummary(
        file=path.name,
        created=len(fresh),
        unchanged=len(set(periods)) - len(fresh),
        staff_ids=frozenset(s for s, _, _ in fresh),
    )


def _csv_periods(*, path: Path, tz: ZoneInfo, session: Session, progress: Progress | None) -> list[tuple[str, datetime, datetime]]:
    table = open_table(path, AVAILABILITY_COLUMNS)
    staff_ids = set(session.scalars(select(Staff.id)))
    context = {"tz": tz}
    periods = []
    for line, values in table.rows():
        row, ok = validate_rows(BusyRow, table, line, values, context)
        tick(progress, 1)
        if ok.get("staff_id") and ok["staff_id"] not in staff_ids:
            table.issues.append(ImportIssue(table.name, line, "staff_id", f"no staff member with id {ok['staff_id']!r}"))
        if row is None:
            continue
        if row.end <= row.start:
            table.issues.append(ImportIssue(table.name, line, "end", "must be after start"))
        periods.append((row.staff_id, row.start, row.end))
    if table.issues:
        raise CaseloadImportError(table.issues)
    return periods
