"""Fault points pass straight through unless a crash test names them, and then freeze the run where named."""
import os
import subprocess
import sys
import time
from pathlib import Path

from auditcycle.core import faults

SCRIPT = """
import sys
from auditcycle.core.faults import checkpoint
for i in range(1, 4):
    checkpoint("mid-batch")
    print(i, flush=True)
"""


def _run(tmp_path: Path, **env: str) -> tuple[subprocess.Popen, Path]:
    marker = tmp_path / "reached"
    clean = {k: v for k, v in os.environ.items() if not k.startswith("AUDITCYCLE_FAULT_")}
    process = subprocess.Popen([sys.executable, "-c", SCRIPT], env={**clean, **env}, stdout=subprocess.PIPE,
                               text=True)
    return process, marker


def test_checkpoint_passes_through_when_no_point_is_named(monkeypatch) -> None:
    monkeypatch.delenv(faults.POINT_ENV, raising=False)
    monkeypatch.setenv(faults.MARKER_ENV, "/nonexistent/marker")

    for point in faults.POINTS:
        faults.checkpoint(point)  # returns at once; were it to block, the test would hang


def test_checkpoint_passes_through_without_a_marker_or_at_another_point(tmp_path: Path) -> None:
    no_marker, _ = _run(tmp_path, AUDITCYCLE_FAULT_POINT="mid-batch")
    other, marker = _run(tmp_path, AUDITCYCLE_FAULT_POINT="after-accept",
                         AUDITCYCLE_FAULT_MARKER=str(tmp_path / "reached"))

    assert no_marker.communicate(timeout=30)[0].split() == ["1", "2", "3"]
    assert other.communicate(timeout=30)[0].split() == ["1", "2", "3"]
    assert not marker.exists()


def test_checkpoint_freezes_at_the_named_pass_and_says_so(tmp_path: Path) -> None:
    process, marker = _run(tmp_path, AUDITCYCLE_FAULT_POINT="mid-batch", AUDITCYCLE_FAULT_HIT="2",
                           AUDITCYCLE_FAULT_MARKER=str(tmp_path / "reached"))
    deadline = time.monotonic() + 30
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    still_running = process.poll() is None
    process.kill()
    output = process.communicate()[0]

    assert still_running
    assert output.split() == ["1"]  # frozen on the second pass, before anything after it ran
    assert marker.read_text() == f"mid-batch 2 {process.pid}\n"
