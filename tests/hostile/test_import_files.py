"""Hostile CSV and calendar files through `auditcycle import`: refused cleanly, or accepted and stored as data.

Each test runs every case of one file kind against one database: a refused case must leave it
unchanged (checked by checksum), so the cases cannot disturb each other.
"""
import tracemalloc
from pathlib import Path

import pytest
from sqlalchemy import text

from auditcycle.storage.db import get_engine
from hostile.checks import assert_ok, assert_refused, fingerprint, invoke
from hostile.corpus import (
    BASE_CHILDREN,
    BASE_STAFF,
    IMPORT_KINDS,
    NOW,
    Case,
    ImportKind,
    ics_cases,
    import_cases,
)

CSV_KIND = "CSV imports"
ICS_KIND = "ICS availability"


@pytest.fixture
def base(app_env, tmp_path: Path):
    """A database holding three staff and one child, imported through the CLI."""
    for command, content in (("staff", BASE_STAFF), ("children", BASE_CHILDREN)):
        path = tmp_path / f"base-{command}.csv"
        path.write_text(content)
        assert_ok(invoke("import", command, str(path), "--now", NOW))
    return get_engine()


def _stored_rows(engine, kind: ImportKind, case: Case) -> int:
    table, key, value = kind.stored
    with engine.connect() as conn:
        return conn.execute(
            text(f"SELECT count(*) FROM {table} WHERE {key} = :key AND {kind.text_column} = :stored"),
            {"key": case.extra.get("key", value), "stored": case.stored}).scalar()


@pytest.mark.parametrize("kind", IMPORT_KINDS, ids=[k.command for k in IMPORT_KINDS])
def test_hostile_csv_import_is_refused_cleanly_or_stored_as_data(base, tmp_path, tally, kind) -> None:
    def attempt(case: Case) -> str:
        path = tmp_path / f"{case.name}.csv"
        case.write(path)
        before = fingerprint(base)
        huge = case.name.startswith("huge")
        if huge:
            tracemalloc.start()
        result = invoke("import", kind.command, str(path), "--now", NOW)
        if huge:
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            assert peak < 20 * 1024 * 1024, f"a 100 MB file was read into memory ({peak:,} bytes) before refusal"
        path.unlink()
        if case.reject:
            assert_refused(result, base, before, (path.name, *case.says))
            return "rejected"
        assert_ok(result)
        assert _stored_rows(base, kind, case) == 1, f"{case.stored!r} not stored as given"
        return "accepted"

    tally.run(CSV_KIND, import_cases(kind), attempt)


def test_hostile_calendar_import_is_refused_cleanly_or_keeps_only_busy_time(base, tmp_path, tally) -> None:
    def attempt(case: Case) -> str:
        path = tmp_path / f"{case.name}.ics"
        case.write(path)
        staff = case.extra.get("staff", "S3")
        before = fingerprint(base)
        result = invoke("import", "availability", str(path), *(["--staff", staff] if staff else []), "--now", NOW)
        path.unlink()
        if case.reject:
            assert_refused(result, base, before, (path.name, *case.says))
            return "rejected"
        assert_ok(result)
        with base.connect() as conn:
            rows = conn.execute(text("SELECT staff_id, starts_at, ends_at FROM busy_period")).all()
        # Only the busy time is kept, whatever text the event carried; a re-import adds nothing.
        assert [r[0] for r in rows] == ["S3"], rows
        return "accepted"

    tally.run(ICS_KIND, ics_cases(), attempt)
