"""Import the caseload: staff, children, family contacts and staff availability.

Each import reads and validates the whole file before it writes anything, so a bad file
changes nothing and its report names every problem at once. The caller's transaction
(`session_scope`) commits the writes or rolls all of them back.

Children and contacts files hold personal data: their messages name the file, row,
column and child id only, never a name, date of birth or phone number.
"""
import csv
import io
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import icalendar
from email_validator import EmailNotValidError, validate_email
from pydantic import BaseModel, ConfigDict, PlainValidator, ValidationError, ValidationInfo, field_validator
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from auditcycle.core.clock import EARLIEST_YEAR, LATEST_YEAR, ClockError, in_supported_years, localize, parse_instant
from auditcycle.core.errors import UserError, brief
from auditcycle.core.text import breaks_line
from auditcycle.models import BusyPeriod, Child, FamilyContact, Service, Staff, Team
from auditcycle.models.enums import Cohort, Role

Progress = Callable[[int], None]

# Only these roles work inside a team; everyone else may sit at service level or above.
TEAM_LEVEL_ROLES = frozenset({Role.KEY_WORKER, Role.TEAM_MANAGER})
EARLIEST_BIRTH_DATE = date(1990, 1, 1)
# Rows per INSERT/UPDATE statement: large enough to be fast, small enough for PostgreSQL's
# 65,535 bind-parameter limit with every column of a child.
WRITE_CHUNK = 2000
# Files are read whole and checked before anything is written, so their size is bounded up front:
# 64 MiB holds several times the largest authority's caseload (200,000 children is about 25 MiB).
MAX_IMPORT_BYTES = 64 * 1024 * 1024
MAX_ISSUES_SHOWN = 200
MAX_ISSUES_COLLECTED = 1000

STAFF_COLUMNS = ("staff_id", "name", "email", "role", "team", "service", "manager_id", "auditor", "newly_qualified")
STAFF_OPTIONAL = ("new_auditor",)
CHILD_COLUMNS = (
    "child_id", "first_name", "last_name", "date_of_birth", "cohort", "team",
    "key_worker_id", "iro_id", "cp_chair_id", "last_supervision_date",
)
CONTACT_COLUMNS = ("child_id", "relationship", "name", "phone", "language", "interpreter_needed")
AVAILABILITY_COLUMNS = ("staff_id", "start", "end")


@dataclass(frozen=True)
class ImportIssue:
    """One problem found in an import file, located by row (line) and column."""

    file: str
    row: int | None
    column: str | None
    message: str
    row_label: str = "row"
    column_label: str = "column"

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f" {self.row_label} {self.row}"
        if self.column is not None:
            where += f"{',' if self.row is not None else ''} {self.column_label} {self.column}"
        return f"{where}: {self.message}"


class CaseloadImportError(UserError):
    """A file that cannot be imported; lists every problem found, one per line."""

    def __init__(self, issues: Sequence[ImportIssue]):
        # Checks across rows run after the row checks; report in file order all the same.
        self.issues = sorted(issues, key=lambda issue: issue.row or 0)
        shown = [str(issue) for issue in self.issues[:MAX_ISSUES_SHOWN]]
        if len(self.issues) > MAX_ISSUES_SHOWN:
            # A wholly wrong file (every row bad) must not bury the terminal under a million lines.
            shown.append(f"… and {len(self.issues) - MAX_ISSUES_SHOWN:,} more problems; fix these and import again")
        super().__init__("\n".join(shown))


@dataclass(frozen=True)
class ImportSummary:
    """What an import wrote: rows created and updated, and which staff it touched."""

    file: str
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    staff_ids: frozenset[str] = field(default_factory=frozenset)

    def __str__(self) -> str:
        text = f"{self.file}: {self.created} created, {self.updated} updated"
        return text + (f", {self.unchanged} already present" if self.unchanged else "")


# --- field validators -------------------------------------------------------------------
# Each raises ValueError with the message shown to the user. With echo=False the message
# never repeats the value, because that value may be a child's personal data.

_TRUE = frozenset({"yes", "y", "true", "1"})
_FALSE = frozenset({"no", "n", "false", "0", ""})
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_UK_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
_PHONE = re.compile(r"\+?[0-9 ()\-]{6,}")


def _shown(value: str, echo: bool) -> str:
    return f"{brief(value)} " if echo else ""


def _text(max_length: int, *, required: bool = True, echo: bool = True) -> Any:
    def check(value: str | None) -> str | None:
        value = (value or "").strip()
        if not value:
            if required:
                raise ValueError("a value is required")
            return None
        if len(value) > max_length:
            raise ValueError(f"{_shown(value, echo)}is longer than {max_length} characters")
        if breaks_line(value):
            raise ValueError("contains a line break or another control character; give one line of plain text")
        return value

    return Annotated[str | None, PlainValidator(check)]


def _flag(*, echo: bool = True) -> Any:
    def check(value: str | None) -> bool:
        word = (value or "").strip().lower()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
        shown = f"{brief(value.strip())} is not" if echo else "not"
        raise ValueError(f"{shown} yes or no (use yes/no, true/false, y/n or 1/0)")

    return Annotated[bool, PlainValidator(check)]


def _choice(enum_cls: type[Role] | type[Cohort], noun: str, *, echo: bool = True) -> Any:
    allowed = ", ".join(m.value for m in enum_cls)

    def check(value: str | None) -> Any:
        word = (value or "").strip().lower()
        if not word:
            raise ValueError(f"a value is required; allowed values: {allowed}")
        try:
            return enum_cls(word)
        except ValueError:
            shown = f"{brief(value.strip())} is not a known {noun}" if echo else f"not a known {noun}"
            raise ValueError(f"{shown}; allowed values: {allowed}") from None

    return Annotated[enum_cls, PlainValidator(check)]


def _check_email(value: str | None) -> str:
    value = (value or "").strip()
    if not value:
        raise ValueError("a value is required")
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise ValueError(f"{brief(value)} is not a valid email address ({exc})") from None


def _phone(value: str | None) -> str | None:
    value = (value or "").strip()
    if not value:
        return None
    if len(value) > 40 or not _PHONE.fullmatch(value):
        raise ValueError("not a phone number (use digits, spaces, '+', '-' and brackets)")
    return value


def parse_date(value: str) -> date:
    """Parse YYYY-MM-DD or DD/MM/YYYY; the ValueError never repeats the value."""
    value = value.strip()
    try:
        if _ISO_DATE.fullmatch(value):
            return date.fromisoformat(value)
        uk = _UK_DATE.fullmatch(value)
        if uk:
            return date(int(uk[3]), int(uk[2]), int(uk[1]))
    except ValueError:
        pass
    raise ValueError("not a date (expected YYYY-MM-DD or DD/MM/YYYY)")


def _date_no_later_than_today(value: str | None, info: ValidationInfo, *, required: bool) -> date | None:
    if not (value or "").strip():
        if required:
            raise ValueError("a value is required")
        return None
    day = parse_date(value)
    today: date = info.context["today"]
    if day > today:
        raise ValueError(f"is in the future (after {today.isoformat()})")
    return day


# --- row models ---------------------------------------------------------------------------


class _Row(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


# Field types. Those with echo=False belong to the children and contacts files.
Id = _text(64)
OptionalId = _text(64, required=False)
TeamName = _text(120)
OptionalTeamName = _text(120, required=False)
StaffName = _text(200)
RoleValue = _choice(Role, "role")
Flag = _flag()
ChildName = _text(100, echo=False)
CohortValue = _choice(Cohort, "cohort", echo=False)
Relationship = _text(60, echo=False)
ContactName = _text(200, echo=False)
Language = _text(60, required=False, echo=False)
PrivateFlag = _flag(echo=False)
Email = Annotated[str, PlainValidator(_check_email)]
Phone = Annotated[str | None, PlainValidator(_phone)]


class StaffRow(_Row):
    """One validated row of a staff file."""

    staff_id: Id
    name: StaffName
    email: Email
    role: RoleValue
    team: OptionalTeamName
    service: OptionalTeamName
    manager_id: OptionalId
    auditor: Flag
    newly_qualified: Flag
    new_auditor: Flag = False


class ChildRow(_Row):
    """One validated row of a children file; needs context {"today": date}."""

    child_id: Id
    first_name: ChildName
    last_name: ChildName
    date_of_birth: date
    cohort: CohortValue
    team: TeamName
    key_worker_id: OptionalId
    iro_id: OptionalId
    cp_chair_id: OptionalId
    last_supervision_date: date | None

    @field_validator("date_of_birth", mode="plain")
    @classmethod
    def _birth(cls, value: str | None, info: ValidationInfo) -> date:
        day = _date_no_later_than_today(value, info, required=True)
        if day < EARLIEST_BIRTH_DATE:
            raise ValueError(f"is before {EARLIEST_BIRTH_DATE.isoformat()}")
        return day

    @field_validator("last_supervision_date", mode="plain")
    @classmethod
    def _supervision(cls, value: str | None, info: ValidationInfo) -> date | None:
        return _date_no_later_than_today(value, info, required=False)


class ContactRow(_Row):
    """One validated row of a family contacts file."""

    child_id: Id
    relationship: Relationship
    name: ContactName
    phone: Phone
    language: Language
    interpreter_needed: PrivateFlag


class BusyRow(_Row):
    """One validated row of an availability CSV; needs context {"tz": ZoneInfo}."""

    staff_id: Id
    start: datetime
    end: datetime

    @field_validator("start", "end", mode="plain")
    @classmethod
    def _instant(cls, value: str | None, info: ValidationInfo) -> datetime:
        if not (value or "").strip():
            raise ValueError("a value is required")
        try:
            return parse_instant(value, info.context["tz"]).astimezone(UTC)
        except ClockError as exc:
            raise ValueError(str(exc)) from None


# --- reading files ------------------------------------------------------------------------


def _read_text(path: Path, *, save_hint: str, row_label: str = "row") -> str:
    """Return the file's text, refusing a missing, empty or non-UTF-8 file."""
    name = path.name
    if not path.is_file():
        raise CaseloadImportError([ImportIssue(name, None, None, f"no such file: {path}")])
    size = path.stat().st_size
    if size > MAX_IMPORT_BYTES:
        raise CaseloadImportError([ImportIssue(
            name, None, None,
            f"the file is {size:,} bytes; an import file is at most {MAX_IMPORT_BYTES:,} bytes, so split it in parts",
        )])
    data = path.read_bytes()
    try:
        # utf-8-sig drops the byte-order mark Excel writes at the start of "CSV UTF-8".
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        bad = _non_utf8_lines(data)
        others = bad[1:]
        also = ""
        if others:
            listed = ", ".join(map(str, others[:5])) + (f" and {len(others) - 5} more" if len(others) > 5 else "")
            also = f" (also {row_label}{'s' if len(others) > 1 else ''} {listed})"
        raise CaseloadImportError([
            ImportIssue(name, bad[0], None, f"the file is not UTF-8{also}; {save_hint}", row_label=row_label)
        ]) from None
    if not text.strip():
        raise CaseloadImportError([ImportIssue(name, None, None, "the file is empty")])
    return text


def _non_utf8_lines(data: bytes) -> list[int]:
    bad = []
    for number, line in enumerate(data.split(b"\n"), start=1):
        try:
            line.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError:
            bad.append(number)
    return bad


_CSV_HINT = 'save it as "CSV UTF-8" (in Excel: File > Save As > CSV UTF-8 (Comma delimited))'


@dataclass
class _Table:
    """A CSV file's rows as (line number, {column: value}), read lazily."""

    name: str
    text: str
    columns: tuple[str, ...]
    issues: list[ImportIssue]

    def rows(self) -> Iterator[tuple[int, dict[str, str]]]:
        reader = csv.reader(io.StringIO(self.text, newline=""))
        next(reader)
        width = len(self.columns)
        last_line = reader.line_num
        for values in reader:
            line, last_line = last_line + 1, reader.line_num
            if len(self.issues) >= MAX_ISSUES_COLLECTED:
                # A file wrong on every row fails fast, without holding a problem for each of a million rows.
                self.issues.append(ImportIssue(
                    self.name, line, None, f"checking stopped here after {MAX_ISSUES_COLLECTED:,} problems"))
                return
            if not any(v.strip() for v in values):
                continue  # Excel leaves rows of bare commas below the data.
            if len(values) != width:
                self.issues.append(ImportIssue(
                    self.name, line, None, f"has {len(values)} values but the header has {width} columns"
                ))
                continue
            yield line, dict(zip(self.columns, values, strict=True))


def _open_table(path: Path, required: Sequence[str], optional: Sequence[str] = ()) -> _Table:
    """Read a CSV file's header, refusing unknown, missing and repeated columns and a file with no rows."""
    text = _read_text(path, save_hint=_CSV_HINT)
    name = path.name
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip().lower() for h in next(reader)]
        # Reading every row once here also finds what the csv module cannot parse, before any row is used.
        has_rows = any(any(v.strip() for v in values) for values in reader)
    except csv.Error as exc:
        raise CaseloadImportError([ImportIssue(name, reader.line_num, None, _csv_problem(exc))]) from None
    issues: list[ImportIssue] = []
    known = (*required, *optional)
    expected = ", ".join(required) + (f" (optional: {', '.join(optional)})" if optional else "")
    seen: set[str] = set()
    for column in header:
        if column in seen:
            issues.append(ImportIssue(name, 1, column or "(blank)", "this column appears more than once"))
        elif column not in known:
            shown = repr(column) if column else "a blank column name"
            issues.append(ImportIssue(name, 1, column or "(blank)", f"unknown column {shown}; expected columns: {expected}"))
        seen.add(column)
    for column in required:
        if column not in seen:
            issues.append(ImportIssue(name, 1, column, f"required column is missing; expected columns: {expected}"))
    if not has_rows:
        issues.append(ImportIssue(name, None, None, "the file has a header but no rows to import"))
    if issues:
        raise CaseloadImportError(issues)
    return _Table(name=name, text=text, columns=tuple(header), issues=issues)


def _csv_problem(exc: csv.Error) -> str:
    if "field larger than field limit" in str(exc):
        return (f"a value is longer than the {csv.field_size_limit():,} characters a CSV field may hold "
                "(or a quotation mark is never closed)")
    return f"not readable as CSV ({exc})"


def _validate(
    model: type[_Row], table: _Table, line: int, values: dict[str, str], context: dict | None = None
) -> tuple[Any, dict[str, str | None]]:
    """Validate one row, adding an issue per bad column.

    Return the row (None if invalid) and the stripped text of every column that passed, so
    that checks across rows still run on a row with a bad value in some other column.
    """
    try:
        row = model.model_validate(values, context=context)
    except ValidationError as exc:
        row, bad = None, set()
        for error in exc.errors(include_input=False, include_url=False):
            column = str(error["loc"][0]) if error["loc"] else None
            cause = error.get("ctx", {}).get("error")
            table.issues.append(ImportIssue(table.name, line, column, str(cause) if cause else error["msg"]))
            bad.add(column)
    else:
        bad = set()
    return row, {c: (v.strip() or None) for c, v in values.items() if c not in bad}


def _tick(progress: Progress | None, done: int) -> None:
    if progress is not None and done:
        progress(done)


def _write(
    session: Session, entity: type, new: list[dict], existing: list[dict], progress: Progress | None
) -> None:
    """Insert new rows and update existing ones by primary key, in chunks."""
    for rows, statement in ((new, insert(entity)), (existing, update(entity))):
        for start in range(0, len(rows), WRITE_CHUNK):
            chunk = rows[start : start + WRITE_CHUNK]
            session.execute(statement, chunk)
            _tick(progress, len(chunk))


def _duplicate(table: _Table, line: int, column: str, key: Any, first_seen: dict, what: str) -> bool:
    """Record a repeated key as an issue; return True when the key was seen before."""
    if key in first_seen:
        table.issues.append(ImportIssue(table.name, line, column, f"{what} appears again (first on row {first_seen[key]})"))
        return True
    first_seen[key] = line
    return False


# --- staff --------------------------------------------------------------------------------


def import_staff(*, session: Session, path: Path, now: datetime, progress: Progress | None = None) -> ImportSummary:
    """Create or update staff, and the teams and services they belong to, from a staff CSV."""
    table = _open_table(path, STAFF_COLUMNS, STAFF_OPTIONAL)
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
        row, ok = _validate(StaffRow, table, line, values)
        _tick(progress, 1)
        staff_id, team, service = ok.get("staff_id"), ok.get("team"), ok.get("service")
        if staff_id and _duplicate(table, line, "staff_id", staff_id, first_seen, f"staff id {staff_id!r}"):
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
    _write(session, Staff, new, [], progress)
    _write(session, Staff, [], existing + [r for r in records if r["id"] not in known_staff and r["manager_id"]], None)
    _tick(progress, len(existing))
    session.flush()
    return ImportSummary(file=table.name, created=len(new), updated=len(existing), staff_ids=frozenset(first_seen))


# --- children -----------------------------------------------------------------------------


def import_children(*, session: Session, path: Path, now: datetime, progress: Progress | None = None) -> ImportSummary:
    """Create or update children on the caseload from a children CSV."""
    table = _open_table(path, CHILD_COLUMNS)
    team_ids = {name: team_id for name, team_id in session.execute(select(Team.name, Team.id))}
    staff_ids = set(session.scalars(select(Staff.id)))
    known_children = set(session.scalars(select(Child.id)))
    context = {"today": now.date()}

    new: list[dict] = []
    existing: list[dict] = []
    first_seen: dict[str, int] = {}
    for line, values in table.rows():
        row, ok = _validate(ChildRow, table, line, values, context)
        _tick(progress, 1)
        child_id, team = ok.get("child_id"), ok.get("team")
        if child_id and _duplicate(table, line, "child_id", child_id, first_seen, f"child id {child_id!r}"):
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

    _write(session, Child, new, existing, progress)
    session.flush()
    return ImportSummary(file=table.name, created=len(new), updated=len(existing))


# --- family contacts ----------------------------------------------------------------------


def import_contacts(*, session: Session, path: Path, now: datetime, progress: Progress | None = None) -> ImportSummary:
    """Create or update children's family contacts, matched on child, relationship and name."""
    table = _open_table(path, CONTACT_COLUMNS)
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
        row, ok = _validate(ContactRow, table, line, values)
        _tick(progress, 1)
        child_id = ok.get("child_id")
        key = (child_id, ok.get("relationship"), ok.get("name"))
        if all(key) and _duplicate(
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

    _write(session, FamilyContact, new, existing, progress)
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
        periods = _ics_periods(path=path, tz=tz, staff_id=staff_id, session=session, progress=progress)
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
    _write(session, BusyPeriod, [{"staff_id": s, "starts_at": a, "ends_at": b} for s, a, b in fresh], [], None)
    session.flush()
    return ImportSummary(
        file=path.name,
        created=len(fresh),
        unchanged=len(set(periods)) - len(fresh),
        staff_ids=frozenset(s for s, _, _ in fresh),
    )


def _csv_periods(*, path: Path, tz: ZoneInfo, session: Session, progress: Progress | None) -> list[tuple[str, datetime, datetime]]:
    table = _open_table(path, AVAILABILITY_COLUMNS)
    staff_ids = set(session.scalars(select(Staff.id)))
    context = {"tz": tz}
    periods = []
    for line, values in table.rows():
        row, ok = _validate(BusyRow, table, line, values, context)
        _tick(progress, 1)
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


def _ics_periods(
    *, path: Path, tz: ZoneInfo, staff_id: str | None, session: Session, progress: Progress | None
) -> list[tuple[str, datetime, datetime]]:
    name = path.name
    if staff_id is None:
        raise CaseloadImportError([ImportIssue(name, None, None, "--staff is required for an .ics file: whose calendar is it?")])
    if session.get(Staff, staff_id) is None:
        raise CaseloadImportError([ImportIssue(name, None, None, f"--staff {staff_id!r}: no staff member with that id")])
    text = _read_text(path, save_hint="export the calendar again as UTF-8", row_label="line")
    try:
        calendar = icalendar.Calendar.from_ical(text)
    except (ValueError, KeyError, IndexError, TypeError, RecursionError) as exc:
        raise CaseloadImportError([ImportIssue(name, None, None, f"not an iCalendar file ({exc})")]) from None
    # icalendar keeps no line numbers; the n-th VEVENT is the n-th BEGIN:VEVENT line.
    starts = [n for n, line in enumerate(text.split("\n"), start=1) if line.strip().upper() == "BEGIN:VEVENT"]
    issues: list[ImportIssue] = []
    periods = []
    for index, event in enumerate(calendar.walk("VEVENT")):
        line = starts[index] if index < len(starts) else None
        _tick(progress, 1)

        def problem(prop: str | None, message: str, line: int | None = line) -> None:
            issues.append(ImportIssue(name, line, prop, message, row_label="line", column_label="property"))

        if str(event.get("TRANSP", "")).upper() == "TRANSPARENT" or str(event.get("STATUS", "")).upper() == "CANCELLED":
            continue
        if "RRULE" in event or "RDATE" in event:
            problem("RRULE", "repeating events are not supported; export the calendar with each occurrence listed")
            continue
        try:
            period = _event_period(event, tz)
        except _EventError as exc:
            problem(exc.prop, str(exc))
            continue
        if period is not None:
            periods.append((staff_id, *period))
    if issues:
        raise CaseloadImportError(issues)
    return periods


class _EventError(ValueError):
    def __init__(self, prop: str, message: str):
        super().__init__(message)
        self.prop = prop


def _event_period(event: icalendar.Event, tz: ZoneInfo) -> tuple[datetime, datetime] | None:
    """Return an event's busy time in UTC, or None for an event of no length."""
    if "DTSTART" not in event:
        raise _EventError("DTSTART", "missing")
    start = _event_value(event, "DTSTART")
    if "DTEND" in event:
        end = _event_value(event, "DTEND")
    elif "DURATION" in event:
        try:
            end = start + event.decoded("DURATION")
        except (TypeError, ValueError, OverflowError):
            raise _EventError("DURATION", "not a duration such as PT1H") from None
        if not in_supported_years(end):
            raise _EventError("DURATION", f"ends outside the years {EARLIEST_YEAR} to {LATEST_YEAR}")
    else:
        # RFC 5545: an all-day event without an end lasts one day; a timed one has no length.
        end = start + timedelta(days=1) if not isinstance(start, datetime) else start
    all_day = not isinstance(start, datetime)
    if all_day != (not isinstance(end, datetime)):
        raise _EventError("DTEND", "mixes an all-day date with a date-time")
    if all_day:
        # An all-day event blocks whole local days, whatever zone the calendar was in.
        start, end = (_local(datetime.combine(d, time()), tz, "DTSTART") for d in (start, end))
    else:
        start, end = _local(start, tz, "DTSTART"), _local(end, tz, "DTEND")
    if end < start:
        raise _EventError("DTEND", "is before DTSTART")
    if end == start:
        return None
    return start, end


def _event_value(event: icalendar.Event, prop: str) -> date | datetime:
    try:
        value = event.decoded(prop)
    except (TypeError, ValueError, KeyError):
        raise _EventError(prop, "not a date or date-time") from None
    if not isinstance(value, date):
        # icalendar hands back the raw text of a value it cannot read, such as month 13.
        raise _EventError(prop, "not a date or date-time")
    tzid = event[prop].params.get("TZID")
    if isinstance(value, datetime) and value.tzinfo is None and tzid:
        raise _EventError(prop, f"unknown time zone {brief(str(tzid))}")
    if not in_supported_years(value):
        raise _EventError(prop, f"is outside the years {EARLIEST_YEAR} to {LATEST_YEAR}")
    return value


def _local(value: datetime, tz: ZoneInfo, prop: str) -> datetime:
    try:
        # A floating time (no zone) is the council's local time.
        return localize(value, tz).astimezone(UTC)
    except ClockError as exc:
        raise _EventError(prop, str(exc)) from None
