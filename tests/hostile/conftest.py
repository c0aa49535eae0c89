"""The corpus tally: every case tried is counted, and counted as handled only once its checks pass."""
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest

# Cases too slow for `make test` (a 1,000,000-row file) run with AUDITCYCLE_RELIABILITY=1 (make hostile).
RELIABILITY = os.environ.get("AUDITCYCLE_RELIABILITY") == "1"


@dataclass
class Tally:
    """Cases tried and handled per input kind, and how each handled case ended."""

    tried: Counter = field(default_factory=Counter)
    rejected: Counter = field(default_factory=Counter)
    accepted: Counter = field(default_factory=Counter)

    def start(self, kind: str) -> None:
        """Count a case as tried."""
        self.tried[kind] += 1

    def handled(self, kind: str, outcome: str) -> None:
        """Count a case as handled: 'rejected' cleanly or 'accepted' safely."""
        assert outcome in ("rejected", "accepted"), outcome
        (self.rejected if outcome == "rejected" else self.accepted)[kind] += 1

    def run(self, kind: str, cases, attempt) -> None:
        """Try every case, count each, and fail once at the end naming every case that was mishandled."""
        mishandled = []
        for case in cases:
            self.start(kind)
            try:
                self.handled(kind, attempt(case))
            except AssertionError as exc:
                name = case[0] if isinstance(case, tuple) else getattr(case, "name", case)
                mishandled.append(f"{name}: {str(exc)[:600]}")
        assert not mishandled, f"{len(mishandled)} mishandled:\n" + "\n".join(mishandled)

    def table(self) -> list[str]:
        """Return the summary table, one line per input kind and a total."""
        lines = ["| input | tried | handled | rejected cleanly | accepted safely |", "|---|---:|---:|---:|---:|"]
        for kind in sorted(self.tried):
            handled = self.rejected[kind] + self.accepted[kind]
            lines.append(f"| {kind} | {self.tried[kind]} | {handled} | {self.rejected[kind]} | {self.accepted[kind]} |")
        total = sum(self.tried.values())
        rejected, accepted = sum(self.rejected.values()), sum(self.accepted.values())
        lines.append(f"| **total** | {total} | {rejected + accepted} | {rejected} | {accepted} |")
        return lines


TALLY = Tally()


@pytest.fixture
def tally() -> Tally:
    """Return the session's corpus tally."""
    return TALLY


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "reliability: slow sweeps kept out of make test (AUDITCYCLE_RELIABILITY=1)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Deselected rather than skipped: a default run reports only what it ran.
    if RELIABILITY:
        return
    here = Path(__file__).parent
    slow = [item for item in items if item.get_closest_marker("reliability") and item.path.is_relative_to(here)]
    if slow:
        config.hook.pytest_deselected(items=slow)
        items[:] = [item for item in items if item not in slow]


def pytest_terminal_summary(terminalreporter) -> None:
    if not TALLY.tried:
        return
    terminalreporter.section("hostile-input corpus")
    for line in TALLY.table():
        terminalreporter.write_line(line)
