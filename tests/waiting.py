"""Wait in a test for something a real process does, showing that process's log when it never happens."""
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest


def wait_for(what: str, check: Callable[[], Any], timeout: float, log: Path, *, every: float = 0.1) -> Any:
    """Return check()'s first true result within the timeout, else fail with the end of the log."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(every)
    pytest.fail(f"timed out waiting for {what}; its output:\n{log.read_text(errors='replace')[-4000:]}")
