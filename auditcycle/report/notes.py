"""The QA manager's notes for a month's report: the theme's findings and the activity planned, in Markdown."""
from pathlib import Path

from sqlalchemy.orm import Session

from auditcycle.core.clock import Month
from auditcycle.core.errors import UserError
from auditcycle.core.text import text_problem
from auditcycle.sampling.cycle import monthly_cycle

MAX_CHARACTERS = 100_000


def read_notes(path: Path) -> str:
    """Read a notes file as UTF-8 text, or say what to fix: too large, not UTF-8, or holding characters it may not."""
    if not path.is_file():
        raise UserError(f"{path}: no such file")
    # Checked before reading: four bytes a character at most, so a larger file cannot be within the limit.
    if path.stat().st_size > 4 * MAX_CHARACTERS:
        raise UserError(f"{path.name}: {path.stat().st_size:,} bytes; the notes are at most {MAX_CHARACTERS:,} characters")
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UserError(f"{path.name}: not UTF-8 text (byte {exc.start}); save the notes as UTF-8") from None
    return check_notes(text, source=path.name)


def check_notes(text: str, *, source: str) -> str:
    """Return the notes if they are within the limit and hold only what free text may, else say what to fix."""
    if len(text) > MAX_CHARACTERS:
        raise UserError(f"{source}: {len(text):,} characters; the notes are at most {MAX_CHARACTERS:,}")
    if text_problem(text, multiline=True):
        # PostgreSQL refuses NUL, no editor writes control characters into prose on purpose, and a
        # bidirectional control would show the report's readers text in another order than it holds.
        line, problem = next((n, p) for n, row in enumerate(text.split("\n"), 1)
                             if (p := text_problem(row, multiline=True)))
        raise UserError(f"{source} line {line}: {problem}")
    return text


def store_notes(session: Session, *, month: Month, text: str) -> None:
    """Store checked notes on the month's cycle, replacing any earlier notes."""
    cycle = monthly_cycle(session, month)
    if cycle is None:
        raise UserError(f"no sample has been drawn for {month}: there is no report to add notes to")
    cycle.report_notes = text
