"""What each phase is measured by: wall time, SQL statements and their time, rows inserted, renders, peak RSS."""
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy import Engine, event


def rss_mb() -> float:
    """Return the process's resident set size now, in MB (Linux /proc)."""
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    import os
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


@dataclass
class Counts:
    """Counters the engine listener and the render wrapper add to."""

    statements: int = 0
    sql_seconds: float = 0.0
    rows_inserted: int = 0
    renders: list = field(default_factory=list)   # (template, context) of every message rendered


class Meter:
    """Count every statement an engine issues, and time it."""

    def __init__(self) -> None:
        self.counts = Counts()
        self._started: dict[int, float] = {}

    def attach(self, engine: Engine) -> None:
        """Listen to an engine's cursor executions."""
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, conn, cursor, statement, parameters, context, executemany) -> None:
        self.counts.statements += 1
        self._started[id(cursor)] = time.perf_counter()
        if statement.lstrip().upper().startswith("INSERT"):
            # A real executemany passes a list of rows; SQLAlchemy's per-row RETURNING loop passes one row.
            if executemany and isinstance(parameters, list):
                self.counts.rows_inserted += len(parameters)
            else:  # one row, or several VALUES groups in one statement ("insertmanyvalues")
                self.counts.rows_inserted += statement.count("), (") + 1

    def _after(self, conn, cursor, statement, parameters, context, executemany) -> None:
        started = self._started.pop(id(cursor), None)
        if started is not None:
            self.counts.sql_seconds += time.perf_counter() - started

    def reset(self) -> Counts:
        """Return the counts so far and start again."""
        counts, self.counts = self.counts, Counts()
        return counts


class PeakRss:
    """Sample RSS every 5 ms in a thread, so each phase has its own peak."""

    def __init__(self) -> None:
        self.peak = rss_mb()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, rss_mb())

    def reset(self) -> float:
        """Return the peak since the last reset and start again from now."""
        peak, self.peak = max(self.peak, rss_mb()), rss_mb()
        return peak

    def stop(self) -> None:
        """Stop sampling."""
        self._stop.set()


@dataclass
class PhaseResult:
    """One phase's measurements."""

    phase: str
    seconds: float
    statements: int
    sql_seconds: float
    rows_inserted: int
    renders: int
    messages: int
    peak_rss_mb: float
    raw_seconds: float | None = None
    raw_detail: str = ""
    detail: str = ""


@contextmanager
def measure(meter: Meter, rss: PeakRss, phase: str, results: list, **extra):
    """Measure the body as one phase and append its result."""
    meter.reset()
    rss.reset()
    box: dict = {}
    started = time.perf_counter()
    yield box
    seconds = time.perf_counter() - started
    counts = meter.reset()
    results.append((PhaseResult(phase=phase, seconds=seconds, statements=counts.statements,
                                sql_seconds=counts.sql_seconds, rows_inserted=counts.rows_inserted,
                                renders=len(counts.renders), messages=box.get("messages", 0),
                                peak_rss_mb=rss.reset(), detail=box.get("detail", "")), counts))
