"""Generate the hostile inputs: each case is built in code, large ones into the test's tmp_path, never committed."""
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

NOW = "2026-11-23T09:00"
TEN_MB = 10 * 1024 * 1024
# A field of 10 MB of text, written into an otherwise valid row.
BIG_TEXT = "x" * TEN_MB
HUGE_BYTES = 100 * 1024 * 1024
HEADER_INJECTION = "Ann\r\nBcc: victim@example.com"
SCRIPT = "<script>alert('x')</script>"
FORMULAS = ("=HYPERLINK(\"http://evil.example/\",\"click\")", "+1+1", "-2+3", "@SUM(A1:A9)")

# The base the import cases run against: a service, a team, three staff and one child.
BASE_STAFF = """staff_id,name,email,role,team,service,manager_id,auditor,newly_qualified
S1,Alice Ames,alice@example.org,service_manager,,Svc,,yes,no
S2,Bob Brown,bob@example.org,team_manager,Team A,Svc,S1,yes,no
S3,Cara Cole,cara@example.org,key_worker,Team A,Svc,S2,no,no
"""
BASE_CHILDREN = """child_id,first_name,last_name,date_of_birth,cohort,team,key_worker_id,iro_id,cp_chair_id,last_supervision_date
C1,Zed,Young,2015-02-03,child_in_need,Team A,S3,,,2026-02-01
"""


@dataclass(frozen=True)
class ImportKind:
    """One import command: its columns, a valid row, and the single-line text column the cases attack."""

    command: str
    columns: tuple[str, ...]
    row: dict[str, str]
    text_column: str
    # How to find the row a valid case wrote: (table, key column, key value).
    stored: tuple[str, str, str]
    # Whether any text is accepted in text_column (a name), or only an existing id.
    free_text: bool = True

    def csv(self, row: dict[str, str] | None = None, *, columns: tuple[str, ...] | None = None,
            rows: int = 1) -> str:
        """Return a CSV file: the header and the (changed) valid row."""
        columns = columns or self.columns
        values = self.row | (row or {})
        line = ",".join(_quoted(values.get(c, "")) for c in columns)
        return ",".join(columns) + "\r\n" + (line + "\r\n") * rows


def _quoted(value: str) -> str:
    if any(c in value for c in ',"\r\n') or value != value.strip():
        return '"' + value.replace('"', '""') + '"'
    return value


STAFF = ImportKind(
    "staff", ("staff_id", "name", "email", "role", "team", "service", "manager_id", "auditor", "newly_qualified"),
    {"staff_id": "S9", "name": "Nina Noor", "email": "nina@example.org", "role": "key_worker", "team": "Team A",
     "service": "Svc", "manager_id": "S2", "auditor": "no", "newly_qualified": "no"},
    "name", ("staff", "id", "S9"))
CHILDREN = ImportKind(
    "children", ("child_id", "first_name", "last_name", "date_of_birth", "cohort", "team", "key_worker_id", "iro_id",
                 "cp_chair_id", "last_supervision_date"),
    {"child_id": "C9", "first_name": "Ann", "last_name": "Bee", "date_of_birth": "2015-02-03",
     "cohort": "child_in_need", "team": "Team A", "key_worker_id": "S3", "iro_id": "", "cp_chair_id": "",
     "last_supervision_date": "2026-02-01"},
    "first_name", ("child", "id", "C9"))
CONTACTS = ImportKind(
    "contacts", ("child_id", "relationship", "name", "phone", "language", "interpreter_needed"),
    {"child_id": "C1", "relationship": "mother", "name": "Mary Bee", "phone": "07700 900000", "language": "",
     "interpreter_needed": "no"},
    "name", ("family_contact", "child_id", "C1"))
AVAILABILITY = ImportKind(
    "availability", ("staff_id", "start", "end"),
    {"staff_id": "S3", "start": "2026-12-01T09:00", "end": "2026-12-01T10:00"},
    "staff_id", ("busy_period", "staff_id", "S3"), free_text=False)
IMPORT_KINDS = (STAFF, CHILDREN, CONTACTS, AVAILABILITY)


@dataclass(frozen=True)
class Case:
    """One hostile input: how to write it, whether it must be refused, and what the error must name."""

    name: str
    write: Callable[[Path], None]
    reject: bool
    # Fragments the error must contain (the file name is always checked as well).
    says: tuple[str, ...] = ()
    # For an accepted case: the value the attacked column must be stored as.
    stored: str | None = None
    extra: dict = field(default_factory=dict)


def _text(content: str, encoding: str = "utf-8") -> Callable[[Path], None]:
    return lambda path: path.write_bytes(content.encode(encoding))


def _bytes(content: bytes) -> Callable[[Path], None]:
    return lambda path: path.write_bytes(content)


def sparse(header: str, size: int = HUGE_BYTES) -> Callable[[Path], None]:
    """Write a file of `size` bytes without spending the time or disk: a header, then a hole."""
    def write(path: Path) -> None:
        with path.open("wb") as handle:
            handle.write(header.encode())
            handle.truncate(size)
    return write


def import_cases(kind: ImportKind) -> list[Case]:
    """Return every hostile case for one CSV import."""
    col = kind.text_column
    valid = kind.csv()
    header = ",".join(kind.columns) + "\r\n"
    row2 = ("row 2",)
    at = ("row 2", f"column {col}")
    text_ok = kind.free_text
    not_found = ("row 2", f"column {col}", "no staff member")
    cases = [
        Case("valid", _text(valid), False, stored=kind.row[col]),
        Case("utf8_bom", _text("\ufeff" + valid), False, stored=kind.row[col]),
        Case("crlf_and_excel_blank_rows", _text(valid + ",,,\r\n,,,\r\n"), False, stored=kind.row[col]),
        Case("utf16_bom", _text(valid, "utf-16"), True, ("not UTF-8", "CSV UTF-8")),
        Case("latin1", _text(kind.csv({col: "Zoë"}), "latin-1"), True, (*row2, "not UTF-8")),
        Case("cp1252_smart_quote", _text(kind.csv({col: "O’Neil"}), "cp1252"), True, (*row2, "not UTF-8")),
        Case("invalid_utf8", _bytes(kind.csv({col: "AB"}).encode().replace(b"AB", b"A\xc3\x28B")), True,
             (*row2, "not UTF-8")),
        Case("nul_byte", _text(kind.csv({col: "An\x00n"})), True, (*at, "control character")),
        Case("escape_sequence", _text(kind.csv({col: "An\x1b[31mn"})), True, (*at, "control character")),
        Case("header_injection_crlf", _text(kind.csv({col: HEADER_INJECTION})), True, (*at, "line break")),
        Case("unicode_line_separator", _text(kind.csv({col: "Ann\u2028Bcc: v@example.com"})), True,
             (*at, "line break")),
        # "Trojan Source": text shown in another order than it is stored; and values that look alike but differ.
        Case("bidi_override", _text(kind.csv({col: kind.row[col] + "\u202e9S"})), True,
             (*at, "bidirectional control character (U+202E")),
        Case("bidi_isolate", _text(kind.csv({col: "\u2067" + kind.row[col] + "\u2069"})), True,
             (*at, "bidirectional control character (U+2067")),
        Case("zero_width_space", _text(kind.csv({col: kind.row[col][:1] + "\u200b" + kind.row[col][1:]})), True,
             (*at, "invisible character (U+200B")),
        Case("bom_inside_value", _text(kind.csv({col: kind.row[col] + "\ufeff"})), True,
             (*at, "invisible character (U+FEFF")),
        Case("c1_control_nel", _text(kind.csv({col: kind.row[col][:1] + "\x85" + kind.row[col][1:]})), True,
             (*at, "control character")),
        Case("empty", _text(""), True, ("the file is empty",)),
        Case("whitespace_only", _text(" \r\n\r\n"), True, ("the file is empty",)),
        Case("header_only", _text(header), True, ("header but no rows",)),
        Case("missing_column", _text(kind.csv(columns=kind.columns[:-1])), True,
             (f"column {kind.columns[-1]}", "required column is missing")),
        Case("unknown_column", _text(kind.csv(columns=(*kind.columns, "colour"))), True,
             ("column colour", "unknown column")),
        Case("duplicated_column", _text(kind.csv(columns=(*kind.columns, col))), True,
             (f"column {col}", "more than once")),
        Case("short_row", _text(header + "a,b\r\n"), True, (*row2, "has 2 values")),
        Case("unclosed_quote", _text(header + '"abc,' + ",".join(kind.row.values()) + "\r\n"), True,
             (*row2, "has 1 values")),
        Case("long_field_5000", _text(kind.csv({col: "y" * 5000})), True, (*at, "longer than")),
        Case("ten_mb_field", _text(kind.csv({col: BIG_TEXT})), True, (*row2, "a CSV field may hold")),
        Case("huge_file_100mb", sparse(header), True, ("an import file is at most",)),
        Case("script_in_text", _text(kind.csv({col: SCRIPT})), not text_ok,
             not_found if not text_ok else (), stored=SCRIPT),
        # A leading tab or CR is trimmed as whitespace; what is left is stored as data.
        Case("formula_after_tab", _text(kind.csv({col: "\t=1+1"})), not text_ok,
             not_found if not text_ok else (), stored="=1+1"),
        Case("formula_after_cr", _text(kind.csv({col: "\r=1+1"})), not text_ok,
             not_found if not text_ok else (), stored="=1+1"),
    ]
    for index, formula in enumerate(FORMULAS):
        cases.append(Case(f"formula_{index}", _text(kind.csv({col: formula})), not text_ok,
                          not_found if not text_ok else (), stored=formula))
    cases += _specific_cases(kind)
    return cases


def _specific_cases(kind: ImportKind) -> list[Case]:
    """Cases that only make sense for one file: its dates, enums and flags."""
    def bad(name: str, column: str, value: str, *says: str) -> Case:
        return Case(name, _text(kind.csv({column: value})), True, ("row 2", f"column {column}", *says))

    if kind is STAFF:
        return [
            bad("unknown_role", "role", "wizard", "not a known role"),
            bad("flag_not_yes_no", "auditor", "perhaps", "not yes or no"),
            bad("email_header_injection", "email", "nina@example.org\r\nBcc: victim@example.com", "line break"),
            bad("email_two_addresses", "email", "nina@example.org, victim@example.com", "not a valid email address"),
            bad("team_header_injection", "team", "Team A\r\nBcc: victim@example.com", "line break"),
            bad("team_bidi_override", "team", "Team \u202eA", "bidirectional control character"),
            bad("email_zero_width", "email", "nina\u200b@example.org", "invisible character"),
            bad("manager_zero_width", "manager_id", "S\u200d2", "invisible character"),
            bad("manager_unknown", "manager_id", "S404", "no staff member"),
            bad("manager_self", "manager_id", "S9", "cannot manage themselves"),
            Case("duplicate_id", _text(STAFF.csv(rows=2)), True, ("row 3", "column staff_id")),
            # The organisation must stay whole: a loop of managers, one address for two people, a team moved
            # by a file that leaves its other members behind.
            Case("manager_loop_through_database", _text(STAFF.csv({
                "staff_id": "S1", "name": "Alice Ames", "email": "alice@example.org", "role": "service_manager",
                "team": "", "manager_id": "S3"})), True, ("row 2", "column manager_id", "S1 → S3 → S2 → S1")),
            bad("email_of_someone_else", "email", "ALICE@example.org", "already the email address of 'S1'"),
            bad("team_moved_without_its_members", "service", "Elsewhere", "--move-teams"),
        ]
    if kind is CHILDREN:
        return [
            bad("dob_year_0", "date_of_birth", "0000-01-01", "not a date"),
            bad("dob_year_9999", "date_of_birth", "9999-12-31", "in the future"),
            bad("dob_31_february", "date_of_birth", "31/02/2015", "not a date"),
            bad("dob_far_past", "date_of_birth", "1850-01-01", "is before"),
            bad("dob_5000_digit_year", "date_of_birth", "9" * 5000 + "-01-01", "not a date"),
            bad("supervision_in_future", "last_supervision_date", "2030-01-01", "in the future"),
            bad("supervision_00_00_0000", "last_supervision_date", "00/00/0000", "not a date"),
            bad("dob_date_time", "date_of_birth", "2015-02-03T00:00", "a date and time, not a date"),
            bad("dob_uk_date_time", "date_of_birth", "03/02/2015 00:00", "a date and time, not a date"),
            bad("dob_excel_serial", "date_of_birth", "42038", "a number, not a date"),
            bad("dob_week_form", "date_of_birth", "2015-W05-2", "not a date"),
            bad("dob_arabic_indic_digits", "date_of_birth", "٠٣/٠٢/٢٠١٥", "not a date"),
            bad("dob_bidi_override", "date_of_birth", "\u202e2015-02-03", "bidirectional control character"),
            bad("key_worker_zero_width", "key_worker_id", "S\u200b3", "invisible character"),
            bad("unknown_cohort", "cohort", "martian", "not a known cohort"),
            bad("unknown_team", "team", "Team Z", "no team named"),
            bad("child_id_header_injection", "child_id", "C9\r\nBcc: victim@example.com", "line break"),
            # A case id that is a path is stored as data; the case-note export makes its own file name.
            Case("child_id_path", _text(CHILDREN.csv({"child_id": "../../etc/C9"})), False,
                 stored="Ann", extra={"key": "../../etc/C9"}),
            Case("duplicate_id", _text(CHILDREN.csv(rows=2)), True, ("row 3", "column child_id")),
            bad("key_worker_is_a_service_manager", "key_worker_id", "S1", "a key worker must have the role"),
            bad("iro_is_a_key_worker", "iro_id", "S3", "an IRO must have the role 'iro'"),
            bad("cp_chair_is_a_team_manager", "cp_chair_id", "S2", "a CP chair must have the role 'cp_chair'"),
        ]
    if kind is CONTACTS:
        return [
            bad("phone_letters", "phone", "call me maybe", "not a phone number"),
            bad("phone_header_injection", "phone", "07700\r\n900000", "line break"),
            bad("flag_not_yes_no", "interpreter_needed", "maybe", "not yes or no"),
            bad("unknown_child", "child_id", "C404", "no child with id"),
            bad("relationship_too_long", "relationship", "m" * 61, "longer than 60"),
            bad("language_bidi_embedding", "language", "\u202bUrdu\u202c", "bidirectional control character"),
            bad("phone_zero_width", "phone", "07700\u2060900000", "invisible character"),
        ]
    return [
        bad("start_year_1999", "start", "1999-12-31T09:00", "outside the years 2000 to 2100"),
        bad("start_year_9999", "start", "9999-12-31T23:00", "outside the years 2000 to 2100"),
        bad("start_year_0", "start", "0000-01-01T09:00", "not an ISO date-time"),
        bad("start_30_february", "start", "2026-02-30T09:00", "not an ISO date-time"),
        bad("start_garbage", "start", "soon", "not an ISO date-time"),
        bad("start_in_spring_gap", "start", "2026-03-29T01:30", "does not exist in Europe/London"),
        bad("end_before_start", "end", "2026-12-01T08:00", "must be after start"),
        bad("end_ten_kb", "end", "9" * 10_000, "not an ISO date-time"),
        bad("start_bare_date", "start", "2026-12-01", "not an ISO date-time"),
        bad("start_compact_form", "start", "20261201T0900", "not an ISO date-time"),
        bad("start_week_form", "start", "2026-W49-2T09:00", "not an ISO date-time"),
        bad("end_bidi_isolate", "end", "\u20662026-12-01T10:00\u2069", "bidirectional control character"),
    ]


ICS_HEAD = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//hostile//EN\r\n"
ICS_TAIL = "END:VCALENDAR\r\n"


def ics(*events: str) -> str:
    """Return a calendar holding the given VEVENT bodies."""
    return ICS_HEAD + "".join(f"BEGIN:VEVENT\r\nUID:e{i}\r\n{e}END:VEVENT\r\n" for i, e in enumerate(events)) + ICS_TAIL


def timed(start: str = "20261201T090000Z", end: str = "20261201T100000Z", extra: str = "") -> str:
    """Return a VEVENT body with a start and end."""
    return f"DTSTART:{start}\r\nDTEND:{end}\r\n{extra}"


def ics_cases() -> list[Case]:
    """Return every hostile case for a calendar (.ics) import, run with --staff S3."""
    good = ics(timed())
    line4 = ("line 4",)

    def bad(name: str, body: str, prop: str, *says: str) -> Case:
        return Case(name, _text(ics(body)), True, (*line4, f"property {prop}", *says))

    return [
        Case("valid", _text(good), False),
        Case("utf8_bom", _text("\ufeff" + good), False),
        Case("utf16_bom", _text(good, "utf-16"), True, ("not UTF-8",)),
        Case("latin1_summary", _text(ics(timed(extra="SUMMARY:Zoë\r\n")), "latin-1"), True, ("not UTF-8",)),
        Case("invalid_utf8", _bytes(ics(timed(extra="SUMMARY:AB\r\n")).encode().replace(b"AB", b"\xff\xfe")),
             True, ("not UTF-8",)),
        Case("empty", _text(""), True, ("the file is empty",)),
        Case("not_a_calendar", _text("hello, world\r\n"), True, ("not an iCalendar file",)),
        Case("two_calendars", _text(good + good), True, ("not an iCalendar file",)),
        Case("no_staff_option", _text(good), True, ("--staff is required",), extra={"staff": None}),
        Case("unknown_staff", _text(good), True, ("no staff member with that id",), extra={"staff": "S404"}),
        Case("staff_header_injection", _text(good), True, ("no staff member with that id",),
             extra={"staff": "S3\r\nBcc: victim@example.com"}),
        bad("year_0001", timed("00010101T090000", "00010101T100000"), "DTSTART", "outside the years"),
        bad("year_9999", timed("99991231T220000", "99991231T230000"), "DTSTART", "outside the years"),
        bad("all_day_9999_12_31", "DTSTART;VALUE=DATE:99991231\r\n", "DTSTART", "outside the years"),
        bad("month_13", timed("20261301T090000Z"), "DTSTART", "not a date"),
        bad("31_february", timed("20270231T090000Z", "20270231T100000Z"), "DTSTART", "not a date"),
        bad("end_before_start", timed("20261201T100000Z", "20261201T090000Z"), "DTEND", "before DTSTART"),
        bad("duration_past_2100", "DTSTART:20261201T090000Z\r\nDURATION:P9999W\r\n", "DURATION", "outside the years"),
        bad("duration_garbage", "DTSTART:20261201T090000Z\r\nDURATION:soon\r\n", "DURATION", "not a duration"),
        bad("spring_gap", timed("20260329T013000", "20260329T030000"), "DTSTART", "does not exist"),
        bad("unknown_tzid", "DTSTART;TZID=Mars/Olympus:20261201T090000\r\n"
            "DTEND;TZID=Mars/Olympus:20261201T100000\r\n", "DTSTART", "unknown time zone"),
        bad("rrule", timed(extra="RRULE:FREQ=DAILY\r\n"), "RRULE", "repeating events"),
        bad("missing_dtstart", "SUMMARY:nothing\r\n", "DTSTART", "missing"),
        Case("nested_2000_events", _text(ICS_HEAD + "BEGIN:VEVENT\r\n" * 2000 + "END:VEVENT\r\n" * 2000
                                           + ICS_TAIL), True, ("line 4", "DTSTART")),
        # Text the import never stores: accepted, and only the busy time is kept.
        Case("summary_header_injection", _text(ics(timed(extra="SUMMARY:x\\r\\nBcc: victim@example.com\r\n"))),
             False),
        Case("summary_script", _text(ics(timed(extra=f"SUMMARY:{SCRIPT}\r\n"))), False),
        Case("description_ten_mb", _text(ics(timed(extra=f"DESCRIPTION:{BIG_TEXT}\r\n"))), False),
        Case("huge_file_100mb", sparse(ICS_HEAD), True, ("an import file is at most",)),
    ]
