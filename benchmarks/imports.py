"""Import memory and time: a children file of N rows, checked whole and written in one transaction.

`python -m benchmarks.imports --rows 500000 [--db sqlite|postgres]` seeds a small authority for its staff and
teams, writes a children CSV of N rows naming them, then imports it in a fresh process, printing the wall time
and the process's peak resident memory (ru_maxrss), so the figure is the import's alone.
"""
import argparse
import csv
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.orm import sessionmaker

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def _prepare(url: str, folder: Path, rows: int) -> Path:
    """Seed the staff and teams, and write a children file of `rows` rows that names them."""
    from sqlalchemy import select

    from auditcycle.core.context import build_context
    from auditcycle.demo.seed import seed_authority
    from auditcycle.models import Child
    from auditcycle.storage.db import engine_for, upgrade

    upgrade(url)
    ctx = build_context(NOW.isoformat())
    with sessionmaker(bind=engine_for(url)).begin() as s:
        seed_authority(session=s, children=200, seed=1, now=ctx.now, timescales=ctx.timescales)
    with sessionmaker(bind=engine_for(url))() as s:
        seeds = [(c.cohort.value, c.team.name, c.key_worker_id or "", c.iro_id or "", c.cp_chair_id or "")
                 for c in s.scalars(select(Child).order_by(Child.id))]
    path = folder / "children.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["child_id", "first_name", "last_name", "date_of_birth", "cohort", "team", "key_worker_id",
                      "iro_id", "cp_chair_id", "last_supervision_date"])
        for n in range(rows):
            cohort, team, key_worker, iro, cp_chair = seeds[n % len(seeds)]
            out.writerow([f"B{n:07d}", f"First{n % 997}", f"Last{n % 1009}", f"{2010 + n % 15}-0{1 + n % 9}-1{n % 9}",
                          cohort, team, key_worker, iro, cp_chair, "2026-10-01"])
    return path


def _import(url: str, path: Path) -> dict:
    """Import the file in this process and return its time and this process's peak memory."""
    from auditcycle.imports.caseload import import_children
    from auditcycle.storage.db import engine_for

    started = time.perf_counter()
    with sessionmaker(bind=engine_for(url)).begin() as s:
        summary = import_children(session=s, path=path, now=NOW)
    return {"seconds": round(time.perf_counter() - started, 1), "created": summary.created,
            "updated": summary.updated, "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}


def main() -> None:
    """Prepare a database and a file, then import the file twice (creating, then updating) in fresh processes."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=500_000)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)  # url, path: the measured process
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_import(args.child[0], Path(args.child[1]))))
        return
    from benchmarks.workload import fresh_database

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        url = fresh_database(args.db, folder)
        path = _prepare(url, folder, args.rows)
        size = path.stat().st_size
        for run in ("create", "update"):
            done = subprocess.run([sys.executable, "-m", "benchmarks.imports", "--child", url, str(path)],
                                  capture_output=True, text=True, check=True)
            result = json.loads(done.stdout.strip().splitlines()[-1])
            print(f"{args.db} {args.rows:,} rows ({size / 2**20:.0f} MB file), {run}: {result['seconds']} s, "
                  f"peak {result['peak_mb']} MB (created {result['created']:,}, updated {result['updated']:,})")


if __name__ == "__main__":
    main()
