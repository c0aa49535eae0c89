"""The QA manager's words in a month's report: the findings and activity planned, and the executive summary.

Both are Markdown, checked whole before anything is stored, and set by a member of the QA team (the trail says who).
The notes may be long; the summary replaces the one drafted from the figures (report/summary.py), so it is kept
short, and the report credits it to the person who set it.
"""
from pathlib import Path

from sqlalchemy.orm import Session

from auditcycle.core.clock import Month
from auditcycle.core.errors import UserError
from auditcycle.core.text import text_problem
from auditcycle.models import AuditCycle
from auditcycle.people.permissions import authorise
from auditcycle.sampling.cycle import monthly_cycle


class ReportTextRefused(UserError):
    """A piece of the report's text that cannot be kept, named by the field it came from."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message)
        self.field_name = field_name


MAX_CHARACTERS = 100_000
# A Director reads the summary first: a paragraph or two, not a second report.
MAX_SUMMARY_CHARACTERS = 3_000


def read_notes(path: Path, *, limit: int = MAX_CHARACTERS, what: str = "the notes are") -> str:
    """Read a notes file as UTF-8 text, or say what to fix: too large, not UTF-8, or holding characters it may not."""
    if not path.is_file():
        raise UserError(f"{path}: no such file")
    # Checked before reading: four bytes a character at most, so a larger file cannot be within the limit.
    if path.stat().st_size > 4 * limit:
        raise UserError(f"{path.name}: {path.stat().st_size:,} bytes; {what} at most {limit:,} characters")
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UserError(f"{path.name}: not UTF-8 text (byte {exc.start}); save the notes as UTF-8") from None
    return check_notes(text, source=path.name, limit=limit, what=what)


def check_notes(text: str, *, source: str, limit: int = MAX_CHARACTERS, what: str = "the notes are") -> str:
    """Return the notes if they are within the limit and hold only what free text may, else say what to fix."""
    if len(text) > limit:
        raise UserError(f"{source}: {len(text):,} characters; {what} at most {limit:,}")
    if text_problem(text, multiline=True):
        # PostgreSQL refuses NUL, no editor writes control characters into prose on purpose, and a
        # bidirectional control would show the report's readers text in another order than it holds.
        line, problem = next((n, p) for n, row in enumerate(text.split("\n"), 1)
                             if (p := text_problem(row, multiline=True)))
        raise UserError(f"{source} line {line}: {problem}")
    return text


def _drawn_cycle(session: Session, month: Month, what: str) -> AuditCycle:
    cycle = monthly_cycle(session, month)
    if cycle is None:
        raise UserError(f"no sample has been drawn for {month}: there is no report to add {what} to")
    return cycle


def store_notes(session: Session, *, month: Month, text: str | None, by: str) -> None:
    """Store checked notes on the month's cycle, replacing any earlier notes (None clears them), as the QA team."""
    authorise(session, command="report-notes", staff_id=by)
    _drawn_cycle(session, month, "notes").report_notes = text


def store_summary(session: Session, *, month: Month, text: str | None, by: str) -> None:
    """Store the QA manager's checked summary on the month's cycle, credited to them; None returns to the draft."""
    authorise(session, command="report-summary", staff_id=by)
    cycle = _drawn_cycle(session, month, "a summary")
    if text is not None and not text.strip():
        raise UserError("the summary is empty: write one, or use --drafted to go back to the one drafted from the "
                        "figures")
    cycle.report_summary = text
    cycle.report_summary_by = by if text is not None else None
