"""The rows of the caseload files: their columns, the checks on each field, and the import's report.

Children and contacts files hold personal data: their messages name the file, row, column and child id
only, never a name, date of birth or phone number.
"""
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Annotated, Any

from email_validator import EmailNotValidError, validate_email
from pydantic import BaseModel, ConfigDict, PlainValidator, ValidationInfo, field_validator

from auditcycle.core.clock import ClockError, iso_day, not_a_day, parse_instant
from auditcycle.core.errors import UserError, brief
from auditcycle.core.text import text_problem
from auditcycle.models.enums import Cohort, Role

Progress = Callable[[int], None]


# Only these roles work inside a team; everyone else may sit at service level or above.
TEAM_LEVEL_ROLES = frozenset({Role.KEY_WORKER, Role.TEAM_MANAGER})
# Who may be named in each staff column of a children file. A team manager may hold a case (covering a
# vacancy, say): the conflict rule already keeps an auditor off their own caseload. Nobody above the team
# holds one, and only an IRO reviews as the IRO, a CP chair chairs as the CP chair.
CASE_ROLES = {
    "key_worker_id": ("a key worker", (Role.KEY_WORKER, Role.TEAM_MANAGER)),
    "iro_id": ("an IRO", (Role.IRO,)),
    "cp_chair_id": ("a CP chair", (Role.CP_CHAIR,)),
}
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
STAFF_OPTIONAL = ("new_auditor", "meeting_location", "team_meeting_location")
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
class TeamMove:
    """A team a staff file placed in another service than the database held."""

    team: str
    old_service: str
    new_service: str
    # Members in the database but not in the file, moved with the team because --move-teams was given.
    carried: tuple[str, ...] = ()

    def __str__(self) -> str:
        how = (f"--move-teams; {len(self.carried)} member{'s' if len(self.carried) != 1 else ''} not in the file "
               f"moved with it: {listed(self.carried)}" if self.carried else "every member of it is in the file")
        return f"team {self.team!r} moved from service {self.old_service!r} to {self.new_service!r} ({how})"


def listed(ids: Sequence[str], limit: int = 5) -> str:
    """Return ids for a message: the first few, and how many more."""
    shown = ", ".join(ids[:limit])
    return shown + (f" and {len(ids) - limit} more" if len(ids) > limit else "")


@dataclass(frozen=True)
class ImportSummary:
    """What an import wrote: rows created and updated, which staff it touched, and the teams it moved."""

    file: str
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    staff_ids: frozenset[str] = field(default_factory=frozenset)
    moved_teams: tuple[TeamMove, ...] = ()
    # Staff who left (deactivated by a complete file) or changed role, and the acts handed over from them.
    left: tuple[str, ...] = ()
    returned: tuple[str, ...] = ()  # inactive staff a complete file lists again, so active once more
    changed_role: tuple[str, ...] = ()
    handed_over: int = 0

    def __str__(self) -> str:
        text = f"{self.file}: {self.created} created, {self.updated} updated"
        text += f", {self.unchanged} already present" if self.unchanged else ""
        lines = [text, *(f"\n  {move}" for move in self.moved_teams)]
        if self.left:
            lines.append(f"\n  left (not in the file, so deactivated): {listed(self.left)}")
        if self.returned:
            lines.append(f"\n  returned (in the file again, so active): {listed(self.returned)}")
        if self.changed_role:
            lines.append(f"\n  changed role: {listed(self.changed_role)}")
        if self.handed_over:
            lines.append(f"\n  {self.handed_over} act{'' if self.handed_over == 1 else 's'} waiting on them handed "
                         "over, with fresh links, to their line manager or else the QA managers")
        return "".join(lines)


# --- field validators -------------------------------------------------------------------
# Each raises ValueError with the message shown to the user. With echo=False the message
# never repeats the value, because that value may be a child's personal data.

_TRUE = frozenset({"yes", "y", "true", "1"})
_FALSE = frozenset({"no", "n", "false", "0", ""})
# ASCII digits only: `\d` would also take Arabic-Indic and other digits.
_UK_DATE = re.compile(r"([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})")
# A local date and time, as the README documents: 2026-12-01T09:00 (or a space for the T), seconds and
# an offset optional. Not a bare date (is an end of 2026-12-01 the start or the end of that day?), nor the
# compact and week forms `datetime.fromisoformat` also reads.
_ISO_INSTANT = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?(Z|[+-][0-9]{2}:[0-9]{2})?"
)
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
    """Parse YYYY-MM-DD or DD/MM/YYYY and nothing else; the ValueError never repeats the value."""
    value = value.strip()
    day = iso_day(value)
    uk = _UK_DATE.fullmatch(value)
    if day is None and uk:
        try:
            day = date(int(uk[3]), int(uk[2]), int(uk[1]))
        except ValueError:
            pass
    if day is None:
        raise ValueError(f"{not_a_day(value)} (expected YYYY-MM-DD or DD/MM/YYYY)")
    return day


def _day(*, required: bool, earliest: date | None = None) -> Any:
    """A date no later than today (the validation context's "today"), and no earlier than `earliest`."""
    def check(value: str | None, info: ValidationInfo) -> date | None:
        if not (value or "").strip():
            if required:
                raise ValueError("a value is required")
            return None
        day = parse_date(value)
        today: date = info.context["today"]
        if day > today:
            raise ValueError(f"is in the future (after {today.isoformat()})")
        if earliest is not None and day < earliest:
            raise ValueError(f"is before {earliest.isoformat()}")
        return day

    return Annotated[date | None, PlainValidator(check)]


def _instant(value: str | None, info: ValidationInfo) -> datetime:
    value = (value or "").strip()
    if not value:
        raise ValueError("a value is required")
    if not _ISO_INSTANT.fullmatch(value):
        raise ValueError(f"{brief(value)} is not an ISO date-time such as 2026-12-01T09:00")
    try:
        return parse_instant(value, info.context["tz"]).astimezone(UTC)
    except ClockError as exc:
        raise ValueError(str(exc)) from None


# --- row models ---------------------------------------------------------------------------


class Row(BaseModel):
    """A validated row. Every column is one line of text before it is anything else."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    @field_validator("*", mode="before")
    @classmethod
    def _characters(cls, value: Any) -> Any:
        # Runs before each column's own check. Surrounding whitespace (a tab or CR Excel leaves) is
        # trimmed by those checks, so only what is kept is judged. A field type must be an Annotated
        # PlainValidator: a `mode="plain"` field_validator in a subclass would skip this check.
        if isinstance(value, str) and (problem := text_problem(value.strip(), multiline=False)):
            raise ValueError(problem)
        return value


# Field types. Those with echo=False belong to the children and contacts files.
Id = _text(64)
OptionalId = _text(64, required=False)
TeamName = _text(120)
OptionalTeamName = _text(120, required=False)
StaffName = _text(200)
OptionalLocation = _text(500, required=False)
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
BirthDate = _day(required=True, earliest=EARLIEST_BIRTH_DATE)
OptionalPastDate = _day(required=False)
Instant = Annotated[datetime, PlainValidator(_instant)]


class StaffRow(Row):
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
    # A room or an online-meeting link, the person's own and their team's, for the invites they organise.
    meeting_location: OptionalLocation = None
    team_meeting_location: OptionalLocation = None


class ChildRow(Row):
    """One validated row of a children file; needs context {"today": date}."""

    child_id: Id
    first_name: ChildName
    last_name: ChildName
    date_of_birth: BirthDate
    cohort: CohortValue
    team: TeamName
    key_worker_id: OptionalId
    iro_id: OptionalId
    cp_chair_id: OptionalId
    last_supervision_date: OptionalPastDate


class ContactRow(Row):
    """One validated row of a family contacts file."""

    child_id: Id
    relationship: Relationship
    name: ContactName
    phone: Phone
    language: Language
    interpreter_needed: PrivateFlag


class BusyRow(Row):
    """One validated row of an availability CSV; needs context {"tz": ZoneInfo}."""

    staff_id: Id
    start: Instant
    end: Instant
