"""Fault points: named places where a crash test can freeze a run so that it can be killed there.

A fault point does nothing unless both AUDITCYCLE_FAULT_POINT names it and AUDITCYCLE_FAULT_MARKER names
a file. Then, on its AUDITCYCLE_FAULT_HIT-th pass (default the first), it writes the marker file and
waits for ever, so that the crash harness can send SIGKILL at exactly that point. Production never sets
these variables, and the check is one dictionary look-up.
"""
import os
import time
from collections import Counter
from pathlib import Path

POINT_ENV = "AUDITCYCLE_FAULT_POINT"
HIT_ENV = "AUDITCYCLE_FAULT_HIT"
MARKER_ENV = "AUDITCYCLE_FAULT_MARKER"
# After the phase's state and outbox rows committed, before delivery starts.
BEFORE_DELIVERY = "before-delivery"
# In the gateway, after a message has been marked sent, with the rest of the batch still claimed.
MID_BATCH = "mid-batch"
# In the gateway, after the SMTP server's 250 and before the message is marked sent.
AFTER_ACCEPT = "after-accept"
POINTS = (BEFORE_DELIVERY, MID_BATCH, AFTER_ACCEPT)
# In the replies phase, after a mailbox message's effect, before its transaction commits (not a notify point).
REPLY_READ = "reply-read"

_passes: Counter[str] = Counter()


def checkpoint(name: str) -> None:
    """Pass straight through, unless a crash test has asked to freeze the run at this point."""
    if os.environ.get(POINT_ENV) != name or not os.environ.get(MARKER_ENV):
        return
    _passes[name] += 1
    if _passes[name] < int(os.environ.get(HIT_ENV) or 1):
        return
    marker = Path(os.environ[MARKER_ENV])
    partial = marker.with_name(marker.name + ".part")
    partial.write_text(f"{name} {_passes[name]} {os.getpid()}\n")
    os.replace(partial, marker)
    while True:  # the harness kills us here; nothing after this point may run
        time.sleep(60)
