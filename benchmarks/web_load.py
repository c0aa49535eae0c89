"""Web load: a council's staff open the page of the link in their email and submit it, within one hour.

Run as `python -m benchmarks.web_load [--db sqlite|postgres|both] [--staff 1500] [--speed 10]`.
Each staff member's link is an "action done" decision (one small form); the hour's arrivals follow the
issue's shape (40% in the first 10 minutes, the rest evenly over the 50 after), compressed `--speed`
times, so the peak is `--speed` times the real one. A load generator in another process
(`benchmarks.web_load_client`) makes each person's requests: the bare page by GET and POST, then their
link's page by GET and its form by POST. The site is gunicorn serving `benchmarks.web_site:app`.
Results go to stdout and benchmarks/results/web-latest.md.
"""
import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import select, text
from sqlalchemy.orm import sessionmaker

RESULTS = Path(__file__).parent / "results" / "web-latest.md"
POSTGRES_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
POSTGRES_BENCH = "postgresql://postgres@127.0.0.1:5432/bench_web"
SECRET = "bench-" + "k" * 40
# Staff with a manager per child in the synthetic authority is about 1 in 13: this many gives 1,500 and more.
CHILDREN_PER_STAFF = 14


def _fresh_database(db: str, folder: Path) -> str:
    from auditcycle.storage.db import make_engine, upgrade

    if db == "sqlite":
        url = f"sqlite:///{folder / 'web.db'}"
    else:
        admin = make_engine(POSTGRES_ADMIN).execution_options(isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text("DROP DATABASE IF EXISTS bench_web WITH (FORCE)"))
            conn.execute(text("CREATE DATABASE bench_web"))
        admin.dispose()
        url = POSTGRES_BENCH
    upgrade(url)
    return url


def prepare(db: str, staff_count: int, folder: Path, audits: int) -> tuple[str, dict]:
    """Seed an authority, give each of staff_count people one open action and draw `audits` audits; return the
    database URL, each person's "action done" link and each auditor's audit-form link."""
    from auditcycle.core.clock import Month
    from auditcycle.core.context import build_context
    from auditcycle.core.settings import Settings
    from auditcycle.demo.seed import seed_authority
    from auditcycle.links.tokens import issue_link
    from auditcycle.models import Action, Audit, Staff
    from auditcycle.models.enums import ActionStatus
    from auditcycle.sampling.cycle import draw
    from auditcycle.storage.db import make_engine

    url = _fresh_database(db, folder)
    settings = Settings(database_url=url, base_url="http://127.0.0.1:1")
    engine = make_engine(url)
    ctx = build_context(None, settings)
    with sessionmaker(bind=engine).begin() as s:
        seed_authority(session=s, children=staff_count * CHILDREN_PER_STAFF, seed=7, now=ctx.now,
                       timescales=ctx.timescales)
    month = Month(ctx.now.year + (ctx.now.month == 12), ctx.now.month % 12 + 1)
    with sessionmaker(bind=engine).begin() as s:
        draw(s, ctx, month=month, size=audits, seed=3)
    links: list[tuple[str, str]] = []
    forms: dict[str, str] = {}
    with sessionmaker(bind=engine).begin() as s:
        drawn = list(s.scalars(select(Audit).order_by(Audit.id)))
        audit = drawn[0]
        # One form per auditor: the first audit each is allocated.
        for each in drawn:
            if each.auditor_id and each.auditor_id not in forms:
                forms[each.auditor_id] = issue_link(s, ctx, purpose="audit-form", subject_ref=each.reference,
                                                    staff=each.auditor).split("/act/", 1)[1]
        people = list(s.scalars(select(Staff).where(Staff.active, Staff.manager_id.is_not(None))
                                .order_by(Staff.id).limit(staff_count)))
        if len(people) < staff_count:
            raise SystemExit(f"the synthetic authority has {len(people)} staff with a manager, not {staff_count}")
        due = ctx.timescales.add_working_days(date.today(), 10)
        created = ctx.now - timedelta(days=1)
        for n, person in enumerate(people, 1):
            action = Action(reference=f"{audit.reference}-ACT{n}", audit_id=audit.id, description="Update the plan",
                            owner_id=person.id, due_date=due, status=ActionStatus.OPEN, created_at=created,
                            recorded_at=created)
            s.add(action)
            s.flush()
            links.append((person.id, issue_link(s, ctx, purpose="action-done", subject_ref=action.reference,
                                                staff=person, deadline=due).split("/act/", 1)[1]))
    engine.dispose()
    return url, {"decisions": links, "forms": forms}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for(port: int, proc: subprocess.Popen, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"gunicorn exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("gunicorn did not start")


def run(db: str, staff_count: int, speed: float, workers: int, audits: int) -> dict:
    """Prepare a database, serve the site, run the load generator against it, and return its measurements."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        url, links = prepare(db, staff_count, folder, audits)
        prepared = time.perf_counter() - started
        port = _free_port()
        env = {**os.environ, "AUDITCYCLE_DATABASE_URL": url, "AUDITCYCLE_WEB_SECRET_KEY": SECRET,
               "AUDITCYCLE_BASE_URL": f"http://127.0.0.1:{port}", "AUDITCYCLE_WEB_COOKIE_SECURE": "false",
               "AUDITCYCLE_OUTBOX_DIR": str(folder / "outbox")}
        site = subprocess.Popen([sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers",
                                 str(workers), "--log-level", "warning", "benchmarks.web_site:app"], env=env,
                                cwd=Path(__file__).parent.parent)
        try:
            _wait_for(port, site)
            plan = folder / "links.json"
            plan.write_text(json.dumps(links))
            out = folder / "out.json"
            subprocess.run([sys.executable, "-m", "benchmarks.web_load_client", "--base", f"http://127.0.0.1:{port}",
                            "--links", str(plan), "--speed", str(speed), "--out", str(out)], check=True)
            result = json.loads(out.read_text())
        finally:
            site.terminate()
            site.wait(10)
        from auditcycle.models import Action
        from auditcycle.models.enums import ActionStatus
        from auditcycle.storage.db import make_engine

        engine = make_engine(url)
        with sessionmaker(bind=engine)() as s:
            done = s.scalar(select(text("count(*)")).select_from(Action).where(Action.status == ActionStatus.DONE))
        engine.dispose()
    return {**result, "db": db, "staff": staff_count, "speed": speed, "workers": workers,
            "prepare_seconds": prepared, "actions_done": done}


def table(results: list[dict]) -> str:
    """Return the measurements as a Markdown table: the link's page and the bare page, GET and POST."""
    lines = ["| database | request | n | p50 ms | p95 ms | p99 ms | p95 ÷ bare p95 | errors |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        for method in ("GET", "POST"):
            bare = r["timings"][f"bare {method}"]
            for kind in (f"audit form {method}", f"action done {method}", f"bare {method}"):
                if kind not in r["timings"]:
                    continue
                t = r["timings"][kind]
                ratio = f"{t['p95'] / bare['p95']:.2f}×" if not kind.startswith("bare") else "1.00×"
                lines.append(f"| {r['db']} | {kind} | {t['n']} | {t['p50']:.1f} | {t['p95']:.1f} | {t['p99']:.1f} "
                             f"| {ratio} | {t['errors']} |")
    notes = [f"- {r['db']}: {r['staff']:,} staff in {r['wall_seconds']:.0f} s (the hour at {r['speed']:g}× speed; "
             f"peak {r['peak_per_second']:.1f} people a second), {r['workers']} gunicorn workers; "
             f"{r['actions_done']:,} actions recorded done" for r in results]
    return "\n".join(lines + [""] + notes) + "\n"


def main() -> None:
    """Run the web load benchmark on each database asked for and print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="sqlite")
    parser.add_argument("--staff", type=int, default=1500)
    parser.add_argument("--speed", type=float, default=10.0, help="how many times faster than the real hour")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--audits", type=int, default=150, help="audits drawn; each auditor opens and saves one form")
    args = parser.parse_args()
    dbs = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    results = [run(db, args.staff, args.speed, args.workers, args.audits) for db in dbs]
    out = table(results)
    print(out)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(out)


if __name__ == "__main__":
    main()
