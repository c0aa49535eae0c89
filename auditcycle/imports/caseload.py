"""Import the caseload: staff, children, family contacts and staff availability.

Each import reads and validates the whole file before it writes anything, so a bad file
changes nothing and its report names every problem at once. The caller's transaction
(`session_scope`) commits the writes or rolls all of them back.

Children and contacts files hold personal data: their messages name the file, row,
column and child id only, never a name, date of birth or phone number.
"""
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from auditcycle.core.context import AppContext, context_at
from auditcycle.core.errors import brief
from auditcycle.imports.files import checked_chunks, is_duplicate, open_table, tick, validate_rows, write_rows
from auditcycle.imports.ics import ics_periods
from auditcycle.imports.rows import (
    AVAILABILITY_COLUMNS,
    CASE_ROLES,
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
    TeamMove,
    listed,
)
from auditcycle.links.handover import CHANGED_ROLE, LEFT, HandOver, hand_over
from auditcycle.models import BusyPeriod, Child, FamilyContact, Service, Staff, Team
from auditcycle.models.enums import Role

# --- staff --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Held:
    """What the database holds of a member of staff, for the checks across the whole organisation."""

    manager_id: str | None
    email: str
    team_id: int | None
    active: bool
    role: Role


def import_staff(
    *, session: Session, path: Path, now: datetime, progress: Progress | None = None, move_teams: bool = False,
    complete: bool = False, ctx: AppContext | None = None,
) -> ImportSummary:
    """Create or update staff, and the teams and services they belong to, from a staff CSV.

    A team the file places in another service moves only when every member the database holds of it is
    in the file, or `move_teams` is given (then the members not in the file move with it).

    With `complete` the file lists every member of staff: those it lists are active, and those the database
    holds and it does not have left, and are deactivated. Whoever leaves or changes role has the acts still
    waiting on them handed over (links.handover), in this transaction; `ctx` gives the settings and clock for
    that (by default the configured settings at `now`).
    """
    table = open_table(path, STAFF_COLUMNS, STAFF_OPTIONAL)
    has_new_auditor = "new_auditor" in table.columns
    has_location = "meeting_location" in table.columns
    held = {
        staff_id: _Held(manager_id, email, team_id, active, role)
        for staff_id, manager_id, email, team_id, active, role in session.execute(
            select(Staff.id, Staff.manager_id, Staff.email, Staff.team_id, Staff.active, Staff.role))
    }
    teams = {t.name: t for t in session.scalars(select(Team))}
    services = {s.name: s for s in session.scalars(select(Service))}
    service_names = {s.id: s.name for s in services.values()}

    rows: list[StaffRow] = []
    first_seen: dict[str, int] = {}
    team_service: dict[str, tuple[str, int]] = {}
    team_location: dict[str, tuple[str, int]] = {}
    managers: list[tuple[int, str | None, str]] = []
    emails: list[tuple[int, str, str]] = []
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
        if team and (place := ok.get("team_meeting_location")):
            earlier = team_location.setdefault(team, (place, line))
            if earlier[0] != place:
                table.issues.append(ImportIssue(
                    table.name, line, "team_meeting_location",
                    f"team {team!r} meets at {earlier[0]!r} on row {earlier[1]}; a team has one meeting location"))
        elif ok.get("team_meeting_location") and not team:
            table.issues.append(ImportIssue(table.name, line, "team_meeting_location",
                                            "a team meeting location needs the row's team"))
        role = (ok.get("role") or "").lower()
        if role in TEAM_LEVEL_ROLES and "team" in ok and not team:
            table.issues.append(ImportIssue(table.name, line, "team", f"required for the role {role!r}"))
        if ok.get("manager_id"):
            managers.append((line, staff_id, ok["manager_id"]))
        if staff_id and ok.get("email"):
            emails.append((line, staff_id, ok["email"]))
        if row is not None:
            rows.append(row)
    for line, staff_id, manager_id in managers:
        if manager_id == staff_id:
            table.issues.append(ImportIssue(table.name, line, "manager_id", "a member of staff cannot manage themselves"))
        elif manager_id not in first_seen and manager_id not in held:
            table.issues.append(ImportIssue(
                table.name, line, "manager_id", f"no staff member with id {manager_id!r} in this file or the database"
            ))
        elif complete and manager_id not in first_seen:
            table.issues.append(ImportIssue(
                table.name, line, "manager_id", f"{manager_id!r} is not in this file, so leaves with --complete and "
                "cannot manage anyone; give them a row, or name the person's new manager"))
    table.issues.extend(_manager_loops(table.name, held, first_seen, managers))
    # With a complete file, everyone it does not list leaves: their addresses and teams no longer count.
    staying = {s: h for s, h in held.items() if s in first_seen} if complete else held
    table.issues.extend(_shared_emails(table.name, staying, first_seen, emails))
    moves, issues = _team_moves(table.name, staying, first_seen, team_service, teams, service_names, move_teams)
    table.issues.extend(issues)
    if table.issues:
        raise CaseloadImportError(table.issues)

    for service_name in {r.service for r in rows if r.service} - services.keys():
        services[service_name] = Service(name=service_name)
        session.add(services[service_name])
    session.flush()
    for team_name, (service_name, _) in team_service.items():
        if team_name not in teams:
            teams[team_name] = Team(name=team_name, service_id=services[service_name].id)
            session.add(teams[team_name])
    for team_name, (place, _) in team_location.items():
        teams[team_name].meeting_location = place
    for move in moves:
        team, service_id = teams[move.team], services[move.new_service].id
        team.service_id = service_id
        if move.carried:
            session.execute(update(Staff).where(Staff.id.in_(move.carried)).values(service_id=service_id))
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
        if has_location:
            record["meeting_location"] = row.meeting_location
        if complete:
            record["active"] = True
        records.append(record)
    new = [r | {"manager_id": None} for r in records if r["id"] not in held]
    existing = [r for r in records if r["id"] in held]
    # New staff go in without managers first: a manager may appear later in the file, and
    # the self-referencing foreign key is checked row by row.
    write_rows(session, Staff, new, [], progress)
    write_rows(session, Staff, [], existing + [r for r in records if r["id"] not in held and r["manager_id"]], None)
    tick(progress, len(existing))
    left = sorted(s for s, h in held.items() if complete and h.active and s not in first_seen)
    returned = sorted(s for s, h in held.items() if complete and not h.active and s in first_seen)
    if left:
        session.execute(update(Staff).where(Staff.id.in_(left)).values(active=False))
    changed = sorted(r.staff_id for r in rows if r.staff_id in held and held[r.staff_id].role != r.role)
    session.flush()
    handed = _hand_over(session, ctx, now, [(s, LEFT) for s in left] + [(s, CHANGED_ROLE) for s in changed])
    return ImportSummary(file=table.name, created=len(new), updated=len(existing), staff_ids=frozenset(first_seen),
                         moved_teams=tuple(moves), left=tuple(left), returned=tuple(returned),
                         changed_role=tuple(changed), handed_over=len(handed))


def _hand_over(session: Session, ctx: AppContext | None, now: datetime, people: list[tuple[str, str]]) -> list[HandOver]:
    """Hand over what each person who left or changed role still had to do, read afresh after the import's writes."""
    if not people:
        return []
    ctx = ctx or context_at(now)
    # The bulk writes above bypass the loaded objects: read each person and their manager as they now are.
    staff = {s.id: s for s in session.scalars(
        select(Staff).where(Staff.id.in_([staff_id for staff_id, _ in people])).execution_options(populate_existing=True))}
    return hand_over(session, ctx, [(staff[staff_id], reason) for staff_id, reason in people])


def _manager_loops(
    name: str, held: dict[str, _Held], first_seen: dict[str, int], managers: list[tuple[int, str | None, str]]
) -> list[ImportIssue]:
    """Find the lines of managers the import would close into a loop (A manages B manages A, or longer).

    The file's managers replace the database's for the staff it lists, so a loop may run through staff
    the file does not list. Each loop is reported once, on its first row in the file; a member of staff
    managing themselves is reported on its own.
    """
    manager_of = {staff_id: h.manager_id for staff_id, h in held.items()}
    manager_of.update({staff_id: None for staff_id in first_seen})
    manager_of.update({staff_id: manager_id for _, staff_id, manager_id in managers if staff_id})
    done: set[str] = set()
    issues = []
    for start in first_seen:
        path: dict[str, int] = {}  # in order climbed, with each one's place
        at: str | None = start
        while at is not None and at not in done and at not in path:
            path[at] = len(path)
            at = manager_of.get(at)
        done.update(path)
        if at is None or at not in path:
            continue
        loop = list(path)[path[at]:]
        if len(loop) < 2 or not any(s in first_seen for s in loop):
            continue  # themselves (reported above), or a loop the database held before this file
        # Start the loop at its first row in the file, and follow it upwards from there.
        first = min((s for s in loop if s in first_seen), key=first_seen.__getitem__)
        loop = loop[loop.index(first):] + loop[:loop.index(first)]
        in_file = sorted(first_seen[s] for s in loop if s in first_seen)
        held_only = [s for s in loop if s not in first_seen]
        where = f"row{'s' if len(in_file) > 1 else ''} {', '.join(map(str, in_file))}"
        if held_only:
            where += f"; {', '.join(held_only)} as the database holds {'them' if len(held_only) > 1 else 'it'}"
        issues.append(ImportIssue(
            name, first_seen[first], "manager_id",
            f"the managers go round in a loop: {' → '.join([*loop, first])} (each is managed by the next; {where}); "
            "the line of managers above someone must end with a person who has no manager",
        ))
    return issues


def _shared_emails(
    name: str, held: dict[str, _Held], first_seen: dict[str, int], emails: list[tuple[int, str, str]]
) -> list[ImportIssue]:
    """Refuse an email address given to two people, in the file or beside an active member it does not list.

    Addresses are compared ignoring case: Alice@Example.org and alice@example.org reach the same person.
    """
    issues = []
    seen: dict[str, tuple[int, str]] = {}
    others = {h.email.casefold(): staff_id for staff_id, h in held.items() if h.active and staff_id not in first_seen}
    for line, staff_id, email in emails:
        key = email.casefold()
        if key in seen:
            first_line, first_id = seen[key]
            issues.append(ImportIssue(
                name, line, "email", f"{brief(email)} is also the email address of {first_id!r} on row {first_line} "
                "(compared ignoring case); each member of staff needs their own"))
        elif key in others:
            issues.append(ImportIssue(
                name, line, "email", f"{brief(email)} is already the email address of {others[key]!r} in the "
                "database, who is not in this file (compared ignoring case); each member of staff needs their own"))
        seen.setdefault(key, (line, staff_id))
    return issues


def _team_moves(
    name: str, held: dict[str, _Held], first_seen: dict[str, int], team_service: dict[str, tuple[str, int]],
    teams: dict[str, Team], service_names: dict[int, str], move_teams: bool,
) -> tuple[list[TeamMove], list[ImportIssue]]:
    """Find the teams the file moves to another service, refusing a move the file does not make for every member.

    A partial file that happens to name a team's new service for one member would otherwise move the
    whole team, and its other members with it, without anyone saying so.
    """
    moves, issues = [], []
    for team_name, (service_name, line) in team_service.items():
        team = teams.get(team_name)
        if team is None or service_names.get(team.service_id) == service_name:
            continue
        old = service_names.get(team.service_id, "")
        absent = sorted(s for s, h in held.items() if h.team_id == team.id and s not in first_seen)
        if absent and not move_teams:
            issues.append(ImportIssue(
                name, line, "service",
                f"moves team {team_name!r} from service {old!r} to {service_name!r}, but {len(absent)} of its "
                f"members in the database {'is' if len(absent) == 1 else 'are'} not in this file ({listed(absent)}); "
                "give each of them a row with the new service, or import with --move-teams to move the whole team",
            ))
            continue
        moves.append(TeamMove(team=team_name, old_service=old, new_service=service_name, carried=tuple(absent)))
    return moves, issues


# --- children -----------------------------------------------------------------------------


def import_children(*, session: Session, path: Path, now: datetime, progress: Progress | None = None) -> ImportSummary:
    """Create or update children on the caseload from a children CSV: every row checked, then written in chunks.

    The file is read twice, a row at a time: once to check it whole, once to write it, so a large file is never
    held in memory (a 500,000-row file stays well under 300 MB; `python -m benchmarks.imports`).
    """
    table = open_table(path, CHILD_COLUMNS)
    team_ids = {name: team_id for name, team_id in session.execute(select(Team.name, Team.id))}
    roles = {staff_id: role for staff_id, role in session.execute(select(Staff.id, Staff.role))}
    context = {"today": now.date()}

    first_seen: dict[str, int] = {}
    for line, values in table.rows():
        _, ok = validate_rows(ChildRow, table, line, values, context)
        tick(progress, 1)
        child_id, team = ok.get("child_id"), ok.get("team")
        if child_id and is_duplicate(table, line, "child_id", child_id, first_seen, f"child id {child_id!r}"):
            continue
        if team and team not in team_ids:
            table.issues.append(ImportIssue(
                table.name, line, "team", f"no team named {team!r}; import the staff file first, which creates teams"
            ))
        for column, (noun, allowed) in CASE_ROLES.items():
            staff_id = ok.get(column)
            if staff_id is None:
                continue
            if staff_id not in roles:
                table.issues.append(ImportIssue(table.name, line, column, f"no staff member with id {staff_id!r}"))
            elif roles[staff_id] not in allowed:
                table.issues.append(ImportIssue(
                    table.name, line, column,
                    f"staff member {staff_id!r} has the role {roles[staff_id].value!r}; {noun} must have the role "
                    f"{' or '.join(repr(r.value) for r in allowed)}",
                ))
    if table.issues:
        raise CaseloadImportError(table.issues)
    del first_seen

    def record(row: ChildRow) -> dict:
        return {
            "id": row.child_id, "first_name": row.first_name, "last_name": row.last_name,
            "date_of_birth": row.date_of_birth, "cohort": row.cohort, "team_id": team_ids[row.team],
            "key_worker_id": row.key_worker_id, "iro_id": row.iro_id, "cp_chair_id": row.cp_chair_id,
            "last_supervision_date": row.last_supervision_date,
        }

    created = updated = 0
    for chunk in checked_chunks(table, ChildRow, context):
        records = [record(row) for row in chunk]
        known = set(session.scalars(select(Child.id).where(Child.id.in_([r["id"] for r in records]))))
        new = [r for r in records if r["id"] not in known]
        write_rows(session, Child, new, [r for r in records if r["id"] in known], progress)
        created, updated = created + len(new), updated + len(records) - len(new)
    session.flush()
    return ImportSummary(file=table.name, created=created, updated=updated)


# --- family contacts ----------------------------------------------------------------------


def import_contacts(*, session: Session, path: Path, now: datetime, progress: Progress | None = None) -> ImportSummary:
    """Create or update children's family contacts, matched on child, relationship and name: checked whole, then
    written in chunks, the file read a row at a time."""
    table = open_table(path, CONTACT_COLUMNS)
    known_children = set(session.scalars(select(Child.id)))

    first_seen: dict[tuple[str, str, str], int] = {}
    for line, values in table.rows():
        _, ok = validate_rows(ContactRow, table, line, values)
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
    if table.issues:
        raise CaseloadImportError(table.issues)
    del first_seen, known_children

    created = updated = 0
    for chunk in checked_chunks(table, ContactRow):
        contact_ids = {
            (child_id, relation, name): contact_id
            for contact_id, child_id, relation, name in session.execute(
                select(FamilyContact.id, FamilyContact.child_id, FamilyContact.relation, FamilyContact.name)
                .where(FamilyContact.child_id.in_({row.child_id for row in chunk})))
        }
        new, existing = [], []
        for row in chunk:
            record = {
                "child_id": row.child_id, "relation": row.relationship, "name": row.name, "phone": row.phone,
                "language": row.language, "interpreter_needed": row.interpreter_needed,
            }
            if (found := contact_ids.get((row.child_id, row.relationship, row.name))) is not None:
                existing.append(record | {"id": found})
            else:
                new.append(record)
        write_rows(session, FamilyContact, new, existing, progress)
        created, updated = created + len(new), updated + len(existing)
    session.flush()
    return ImportSummary(file=table.name, created=created, updated=updated)


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
