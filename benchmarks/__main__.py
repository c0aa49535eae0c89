"""Run the benchmark suite: `python -m benchmarks [--children 2000,20000,200000] [--audits 100,1000] [--db sqlite|postgres|both] [--quick]`.

Each workload runs in its own process (so each has its own memory peak); the results are printed and
written to benchmarks/results/latest.md.
"""
import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results" / "latest.md"


def _ints(text: str) -> list[int]:
    return [int(x.replace("_", "")) for x in text.split(",") if x.strip()]


def run_workload(children: int, audits: int, db: str, history: int = 0) -> dict:
    """Run one workload in a child process and return its measurements."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        out = f.name
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "benchmarks.workload", "--children", str(children),
                           "--audits", str(audits), "--db", db, "--history", str(history), "--out", out], cwd=Path(__file__).parent.parent)
    if done.returncode != 0:
        return {"children": children, "audits": audits, "db": db, "error": f"exit {done.returncode}", "phases": []}
    result = json.loads(Path(out).read_text())
    result["process_seconds"] = time.perf_counter() - started
    return result


def _ratio(a: float | None, b: float | None) -> str:
    if not a or not b:
        return "–"
    return f"{a / b:.1f}×"


def tables(results: list[dict]) -> str:
    """Return the results as Markdown tables: one per workload, then the growth with caseload."""
    lines = []
    for r in results:
        head = f"### {r['db']}: {r['children']:,} children, {r['audits']:,} audits"
        if r.get("error"):
            lines += [head, "", f"failed: {r['error']}", ""]
            continue
        lines += [head, "",
                  f"staff {r['staff']:,} ({r['auditors']} auditors); seeding took {r['seed_seconds']:.1f} s "
                  + (f"; {r['history_months']} months of history ({r['history_forms']:,} forms) took "
                     f"{r['history_seconds']:.1f} s" if r.get("history_months") else "")
                  + " (not counted below)", "",
                  "| phase | wall s | SQL stmts | SQL s | rows ins. | renders | msgs | peak RSS MB | raw s | × raw | raw limit | notes |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|"]
        total, raw_total, peak = 0.0, 0.0, 0.0
        for p in r["phases"]:
            total += p["seconds"]
            raw_total += p["raw_seconds"] or 0
            peak = max(peak, p["peak_rss_mb"])
            lines.append(f"| {p['phase']} | {p['seconds']:.3f} | {p['statements']:,} | {p['sql_seconds']:.3f} | "
                         f"{p['rows_inserted']:,} | {p['renders']:,} | {p['messages']:,} | {p['peak_rss_mb']:.0f} | "
                         f"{(p['raw_seconds'] or 0):.3f} | {_ratio(p['seconds'], p['raw_seconds'])} | "
                         f"{p['raw_detail']} | {p['detail']} |")
        report = [p for p in r["phases"] if p["phase"].startswith("report")]
        month = [p for p in r["phases"] if not p["phase"].startswith("report")]
        lines.append(f"| **month, end to end (draw…deliver)** | {sum(p['seconds'] for p in month):.3f} | "
                     f"{sum(p['statements'] for p in month):,} | | | | | {max(p['peak_rss_mb'] for p in month):.0f} | "
                     f"{sum(p['raw_seconds'] or 0 for p in month):.3f} | "
                     f"{_ratio(sum(p['seconds'] for p in month), sum(p['raw_seconds'] or 0 for p in month))} | target ≤ 3× | |")
        if report:
            rs = sum(p["seconds"] for p in report)
            lines.append(f"| **report (data+write)** | {rs:.3f} | {sum(p['statements'] for p in report):,} | | | | | "
                         f"{max(p['peak_rss_mb'] for p in report):.0f} | {sum(p['raw_seconds'] or 0 for p in report):.3f} | "
                         f"{_ratio(rs, sum(p['raw_seconds'] or 0 for p in report))} | target ≤ 2× (queries + rendering) | |")
        lines.append("")
    lines += growth(results)
    return "\n".join(lines)


def growth(results: list[dict]) -> list[str]:
    """Compare each phase between the smallest and the largest caseload of the same db and audits."""
    out = []
    groups: dict[tuple, list[dict]] = {}
    for r in results:
        if not r.get("error"):
            groups.setdefault((r["db"], r["audits"]), []).append(r)
    for (db, audits), rs in sorted(groups.items()):
        rs = sorted(rs, key=lambda r: r["children"])
        if len(rs) < 2:
            continue
        small, large = (rs[-2], rs[-1])
        out += [f"### Growth with caseload: {db}, {audits:,} audits, {small['children']:,} → {large['children']:,} children",
                "", "| phase | wall s | wall × | SQL stmts | stmts × | peak RSS MB |", "|---|---:|---:|---:|---:|---:|"]
        by_phase = {p["phase"]: p for p in small["phases"]}
        for p in large["phases"]:
            q = by_phase.get(p["phase"])
            if q is None:
                continue
            out.append(f"| {p['phase']} | {q['seconds']:.3f} → {p['seconds']:.3f} | {_ratio(p['seconds'], q['seconds'])} | "
                       f"{q['statements']:,} → {p['statements']:,} | {_ratio(p['statements'], q['statements'])} | "
                       f"{q['peak_rss_mb']:.0f} → {p['peak_rss_mb']:.0f} |")
        out.append("")
    return out


def main() -> None:
    """Parse the options, run every workload and write the results."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--children", default="2000,20000,200000")
    parser.add_argument("--audits", default="100,1000")
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="sqlite")
    parser.add_argument("--quick", action="store_true", help="2,000 and 20,000 children, 100 audits, SQLite")
    parser.add_argument("--history", type=int, default=0,
                        help="months of history drawn, submitted and closed before the benchmark month (11 makes "
                             "the report cover 12 months); not timed")
    parser.add_argument("--out", type=Path, default=RESULTS, help="the Markdown results file")
    args = parser.parse_args()
    if args.quick:
        args.children, args.audits, args.db = "2000,20000", "100", "sqlite"
    dbs = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    results = []
    for db in dbs:
        for audits in _ints(args.audits):
            for children in _ints(args.children):
                print(f"--- {db}: {children:,} children, {audits:,} audits", flush=True)
                results.append(run_workload(children, audits, db, args.history))
    text = (f"# auditcycle benchmark\n\n{time.strftime('%Y-%m-%d %H:%M')} on {platform.node()} "
            f"({platform.processor() or platform.machine()}, Python {platform.python_version()}); "
            f"`python -m benchmarks {' '.join(sys.argv[1:])}`\n\n"
            "Phases run through the domain functions (not Prefect), each in its own transaction; mail goes to a "
            "local aiosmtpd server. *raw* is the same work done directly in the same run: the same messages over "
            "one smtplib connection, the same number of rows bulk-inserted (one executemany), the same templates "
            "rendered through Jinja; for the report, its own queries plus matplotlib, Jinja and WeasyPrint called directly on the same documents. Peak RSS is sampled every 5 ms within each phase (process total).\n\n"
            + tables(results))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text + "\n")
    args.out.with_suffix(".json").write_text(json.dumps(results, indent=1))
    print(text)
    print(f"\nwritten to {args.out}")


if __name__ == "__main__":
    main()
