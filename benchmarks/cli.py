"""The CLI's start-up: a phase with nothing to do against `auditcycle --help`, measured side by side.

`python -m benchmarks.cli [--rounds 10]` makes a throwaway database (a small synthetic authority, no Prefect
server configured), then runs `auditcycle --help` and `auditcycle run chase` (on a day with nothing to chase)
alternately, ROUNDS times each, so both see the same load, and prints the medians and their ratio (the goal:
the phase within 2x of --help). With --output it also writes the figures as JSON.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

AUDITCYCLE = str(Path(sys.executable).parent / "auditcycle")
NOW = "2026-12-08T09:00"


def _timed(command: list[str], env: dict[str, str], cwd: Path) -> float:
    """Run a command to its end and return its wall time in seconds; a failure stops the benchmark."""
    started = time.perf_counter()
    done = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    took = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command[1:])} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return took


def _prepare(folder: Path) -> tuple[dict[str, str], str]:
    """Create and seed the throwaway database; return the commands' environment and a QA manager's staff id."""
    from sqlalchemy import select
    from sqlalchemy.orm import sessionmaker

    from auditcycle.models import Staff
    from auditcycle.models.enums import Role
    from auditcycle.storage.db import make_engine

    url = f"sqlite:///{folder / 'cli.db'}"
    env = {**os.environ, "AUDITCYCLE_DATABASE_URL": url, "AUDITCYCLE_SIMULATION": "1",
           "PREFECT_HOME": str(folder / "prefect")}
    for name in ("PREFECT_API_URL", "AUDITCYCLE_CONFIG"):
        env.pop(name, None)
    _timed([AUDITCYCLE, "init"], env, folder)
    _timed([AUDITCYCLE, "seed-demo", "--children", "200", "--now", NOW], env, folder)
    with sessionmaker(bind=make_engine(url))() as s:
        qa = s.scalar(select(Staff.id).where(Staff.role == Role.QA_MANAGER).order_by(Staff.id).limit(1))
    return env, qa


def measure(rounds: int) -> dict:
    """Time --help and a no-op chase alternately and return the medians, the ratio and every sample."""
    with tempfile.TemporaryDirectory(prefix="auditcycle-cli-bench-") as tmp:
        folder = Path(tmp)
        env, qa = _prepare(folder)
        run = [AUDITCYCLE, "run", "chase", "--by", qa, "--now", NOW]
        _timed(run, env, folder)  # the first run of a day queues what is due; the measured ones find nothing
        helps, runs = [], []
        for _ in range(rounds):
            helps.append(_timed([AUDITCYCLE, "--help"], env, folder))
            runs.append(_timed(run, env, folder))
    help_median, run_median = statistics.median(helps), statistics.median(runs)
    return {"measured_at": datetime.now(UTC).isoformat(timespec="seconds"), "rounds": rounds,
            "cpus": os.cpu_count(), "load_average": os.getloadavg()[0],
            "help_seconds": round(help_median, 2), "noop_run_seconds": round(run_median, 2),
            "ratio": round(run_median / help_median, 2),
            "help_samples": [round(t, 2) for t in helps], "run_samples": [round(t, 2) for t in runs]}


def main() -> None:
    """Parse the options, measure, print the figures and write them when asked."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10, help="runs of each command (default 10)")
    parser.add_argument("--output", type=Path, help="write the figures to this JSON file as well")
    args = parser.parse_args()
    figures = measure(args.rounds)
    print(f"auditcycle --help            median {figures['help_seconds']:.2f} s")
    print(f"auditcycle run chase (no-op) median {figures['noop_run_seconds']:.2f} s")
    print(f"ratio                        {figures['ratio']:.2f}x (goal: within 2x)")
    if args.output:
        args.output.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
