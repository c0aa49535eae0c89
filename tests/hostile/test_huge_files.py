"""A million rows: an import takes a valid file in bounded memory, and fails fast on a wrong one.

An import reads its file whole (it checks every row before writing any), so memory is bounded by
the 64 MiB size limit rather than by streaming: 55 MB of rows peaked at about 580 MB.

Opt-in (AUDITCYCLE_RELIABILITY=1, `make hostile`): the valid file takes minutes. Each import runs
as the real `auditcycle` command in its own process, so its peak memory can be read back.
"""
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from auditcycle.storage.db import get_engine
from hostile.checks import assert_ok, fingerprint, invoke
from hostile.corpus import BASE_CHILDREN, BASE_STAFF, NOW

KIND = "Huge files (opt-in)"
ROWS = 1_000_000
CLI = [sys.executable, "-c", "from auditcycle.cli import main; main()"]


def _run(*args: str) -> tuple[subprocess.CompletedProcess, float]:
    started = time.monotonic()
    done = subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=1800)
    return done, time.monotonic() - started


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


@pytest.mark.reliability
def test_a_million_rows_import_in_bounded_memory_or_fail_fast(app_env, tmp_path: Path, tally) -> None:
    for command, content in (("staff", BASE_STAFF), ("children", BASE_CHILDREN)):
        path = tmp_path / f"base-{command}.csv"
        path.write_text(content)
        assert_ok(invoke("import", command, str(path), "--now", NOW))
    engine = get_engine()
    results = []

    def attempt(case) -> str:
        name, body, refused = case
        path = tmp_path / f"{name}.csv"
        with path.open("w") as handle:
            handle.write(body[0])
            for i in range(ROWS):
                handle.write(body[1](i))
        before = fingerprint(engine)
        done, seconds = _run("import", "availability", str(path), "--now", NOW)
        size = path.stat().st_size
        path.unlink()
        results.append(f"{name}: {size / 1e6:.0f} MB, {seconds:.0f} s, exit {done.returncode}, "
                       f"peak RSS so far {_peak_rss_mb():.0f} MB")
        assert "Traceback" not in done.stderr, done.stderr[-2000:]
        if refused:
            assert done.returncode == 1 and done.stderr.startswith("error: "), done.stderr[-2000:]
            assert len(done.stderr) < 100_000 and "more problems" in done.stderr
            assert fingerprint(engine) == before
            return "rejected"
        assert done.returncode == 0, done.stderr[-2000:]
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM busy_period")).scalar() == ROWS
        return "accepted"

    base = datetime(2027, 1, 1, tzinfo=UTC)

    def period(i: int) -> str:
        # Half-hour steps in UTC: a million distinct periods, 57 years of them, none in a clock-change gap.
        start = base + timedelta(minutes=30 * i)
        return f"S3,{start.isoformat()},{(start + timedelta(minutes=20)).isoformat()}\n"

    tally.run(KIND, [
        ("million_bad_rows", ("staff_id,start,end\n", lambda i: "S404,soon,later\n"), True),
        ("million_valid_rows", ("staff_id,start,end\n", period), False),
    ], attempt)
    print("\n".join(results))
    assert _peak_rss_mb() < 1500, results
