"""Reading an import file a row at a time and checking every row before anything is written."""
import csv
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from pydantic import ValidationError
from sqlalchemy import insert, update
from sqlalchemy.orm import Session

from auditcycle.imports.rows import (
    MAX_IMPORT_BYTES,
    MAX_ISSUES_COLLECTED,
    WRITE_CHUNK,
    CaseloadImportError,
    ImportIssue,
    Progress,
    Row,
)

# --- reading files ------------------------------------------------------------------------


def _checked_file(path: Path, *, save_hint: str, row_label: str = "row") -> None:
    """Refuse a missing, over-large, empty or non-UTF-8 file, reading it in pieces, never whole."""
    name = path.name
    if not path.is_file():
        raise CaseloadImportError([ImportIssue(name, None, None, f"no such file: {path}")])
    size = path.stat().st_size
    if size > MAX_IMPORT_BYTES:
        raise CaseloadImportError([ImportIssue(
            name, None, None,
            f"the file is {size:,} bytes; an import file is at most {MAX_IMPORT_BYTES:,} bytes, so split it in parts",
        )])
    bad = _non_utf8_lines(path)
    if bad:
        others = bad[1:]
        also = ""
        if others:
            listed = ", ".join(map(str, others[:5])) + (f" and {len(others) - 5} more" if len(others) > 5 else "")
            also = f" (also {row_label}{'s' if len(others) > 1 else ''} {listed})"
        raise CaseloadImportError([
            ImportIssue(name, bad[0], None, f"the file is not UTF-8{also}; {save_hint}", row_label=row_label)
        ])
    with _open(path) as handle:
        if not any(line.strip() for line in handle):
            raise CaseloadImportError([ImportIssue(name, None, None, "the file is empty")])


def _open(path: Path) -> TextIO:
    # utf-8-sig drops the byte-order mark Excel writes at the start of "CSV UTF-8".
    return path.open(encoding="utf-8-sig", newline="")


def read_text(path: Path, *, save_hint: str, row_label: str = "row") -> str:
    """Return the file's text, refusing a missing, empty or non-UTF-8 file."""
    _checked_file(path, save_hint=save_hint, row_label=row_label)
    with _open(path) as handle:
        return handle.read()


def _non_utf8_lines(path: Path) -> list[int]:
    bad = []
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            try:
                line.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError:
                bad.append(number)
    return bad


CSV_HINT = 'save it as "CSV UTF-8" (in Excel: File > Save As > CSV UTF-8 (Comma delimited))'


@dataclass
class Table:
    """A CSV file's rows as (line number, {column: value}), read from the file each time, a row at a time."""

    name: str
    path: Path
    columns: tuple[str, ...]
    issues: list[ImportIssue]

    def rows(self) -> Iterator[tuple[int, dict[str, str]]]:
        """Yield each row that has values, with its line number; a row of the wrong width is an issue instead."""
        with _open(self.path) as handle:
            reader = csv.reader(handle)
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


def open_table(path: Path, required: Sequence[str], optional: Sequence[str] = ()) -> Table:
    """Read a CSV file's header, refusing unknown, missing and repeated columns and a file with no rows."""
    _checked_file(path, save_hint=CSV_HINT)
    name = path.name
    with _open(path) as handle:
        reader = csv.reader(handle)
        try:
            header = [h.strip().lower() for h in next(reader)]
            # Reading every row once here also finds what the csv module cannot parse, before any row is used.
            has_rows = False
            for values in reader:
                has_rows = has_rows or any(v.strip() for v in values)
        except csv.Error as exc:
            raise CaseloadImportError([ImportIssue(name, reader.line_num, None, csv_problem(exc))]) from None
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
    return Table(name=name, path=path, columns=tuple(header), issues=issues)


def csv_problem(exc: csv.Error) -> str:
    if "field larger than field limit" in str(exc):
        return (f"a value is longer than the {csv.field_size_limit():,} characters a CSV field may hold "
                "(or a quotation mark is never closed)")
    return f"not readable as CSV ({exc})"


def validate_rows(
    model: type[Row], table: Table, line: int, values: dict[str, str], context: dict | None = None
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


def checked_chunks(table: Table, model: type[Row], context: dict | None = None) -> Iterator[list[Any]]:
    """Read a file already checked whole again, yielding its rows, validated, a chunk at a time."""
    chunk: list[Any] = []
    for line, values in table.rows():
        row, _ = validate_rows(model, table, line, values, context)
        assert row is not None, f"{table.name} row {line} changed while it was imported"
        chunk.append(row)
        if len(chunk) == WRITE_CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def tick(progress: Progress | None, done: int) -> None:
    if progress is not None and done:
        progress(done)


def write_rows(
    session: Session, entity: type, new: list[dict], existing: list[dict], progress: Progress | None
) -> None:
    """Insert new rows and update existing ones by primary key, in chunks."""
    for rows, statement in ((new, insert(entity)), (existing, update(entity))):
        for start in range(0, len(rows), WRITE_CHUNK):
            chunk = rows[start : start + WRITE_CHUNK]
            session.execute(statement, chunk)
            tick(progress, len(chunk))


def is_duplicate(table: Table, line: int, column: str, key: Any, first_seen: dict, what: str) -> bool:
    """Record a repeated key as an issue; return True when the key was seen before."""
    if key in first_seen:
        table.issues.append(ImportIssue(table.name, line, column, f"{what} appears again (first on row {first_seen[key]})"))
        return True
    first_seen[key] = line
    return False
