"""A phase run's summary as a person reads it: each figure named, the mail's figures adding up to what was due.

`run`, `deep-dive` and `dip-sample` print this; with `--json` they print the flow's summary dict as it is.
"""
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from auditcycle.cli import console, err_console

JsonOption = Annotated[bool, typer.Option(
    "--json", help="Print the run's summary as JSON, exactly as the flow returned it, instead of named figures.")]
# What each figure of a summary counts, by its key; a phase whose key means something else says so below.
LABELS = {
    "cycle": "cycle",
    "kind": "kind",
    "month": "audit month",
    "due": "due",
    "seed": "seed (to reproduce the draw)",
    "created": "drawn by this run",
    "eligible": "children eligible",
    "audits": "audits drawn",
    "good_practice": "of them good-practice examples",
    "teams": "audits by team",
    "supervision_gaps": "supervision gaps for the auditor to check",
    "queued": "notices queued",
    "booked": "meetings booked",
    "unbooked": "meetings not booked",
    "messages": "invitations queued",
}
PHASE_LABELS = {
    "chase": {"audits": "open audits with a reminder due", "reminders": "reminders to auditors",
              "qa_copies": "copies to the QA manager", "conversation_reminders": "learning-conversation reminders"},
    "escalate": {"open_actions": "open actions", "reminders": "action reminders", "steps": "ladder steps reached",
                 "escalations": "escalation messages"},
    "moderate": {"selected": "audits selected for moderation", "assigned": "moderators assigned",
                 "meeting_booked": "panel meeting booked", "meeting_unbooked": "panel meeting not booked",
                 "closed": "moderation closed", "finalised": "grades made final", "messages": "messages queued",
                 "summaries": "Make a Difference drafts", "questionnaires": "questionnaires queued",
                 "trend_flags": "trend flags", "learning_invites": "learning-session invitations"},
    "observe": {"assigned": "observations assigned", "asye": "of them newly qualified (ASYE)",
                "auditors_without": "auditors without an observer",
                "newly_qualified_without": "newly qualified without an observer", "due": "observations due",
                "messages": "messages queued", "reminders": "observation reminders"},
    "responses": {"open": "open Immediate Responses", "reminded": "reminders to service managers",
                  "escalated": "escalated to the assistant director",
                  "gaps_raised": "supervision gaps raised automatically"},
    "report": {"folder": "report folder", "provisional": "provisional edition", "empty": "no audits to report",
               "queued": "report emails queued"},
    "retention": {"cutoff": "erasing records last audited before", "children": "children erased",
                  "contacts": "family contacts erased", "texts_redacted": "texts redacted", "dry_run": "dry run"},
}
# The outcomes of one drain of the outbox; together they are every message that was due.
MAIL_FIGURES = (("sent", "sent"), ("retrying", "to retry"), ("held", "held"), ("failed", "failed"))
LISTED = 5  # references shown after a count; more are summed up


@contextmanager
def working(what: str) -> Iterator[None]:
    """Show a moving bar with the time taken while a phase runs, on a terminal only, gone once it ends."""
    with Progress(SpinnerColumn(), TextColumn(escape(what)), BarColumn(), TimeElapsedColumn(),
                  console=err_console, transient=True, disable=not err_console.is_terminal) as bar:
        bar.add_task(what, total=None)
        yield


def run_and_show(phase: str, title: str, run: Callable[[], dict], *, as_json: bool) -> dict:
    """Run a phase under a progress bar, then print its summary: readable, or exactly as a dict with `as_json`."""
    with working(f"{title}: running"):
        summary = run()
    if as_json:
        console.print_json(data=summary)
    else:
        show_summary(phase, title, summary)
    return summary


def show_summary(phase: str, title: str, summary: dict) -> None:
    """Print a phase's summary as aligned, named figures, with the mail last."""
    if "skipped" in summary:
        console.print(f"{escape(title)}: skipped, {escape(str(summary['skipped']))}", highlight=False)
        return
    labels = {**LABELS, **PHASE_LABELS.get(phase, {})}
    rows = [(labels.get(key, key.replace("_", " ")), _value(value)) for key, value in summary.items()
            if key != "delivery"]
    if isinstance(summary.get("delivery"), dict):
        rows.append(("mail", mail_line(summary["delivery"])))
    width = max((len(label) for label, _ in rows), default=0)
    console.print(escape(title), style="bold", highlight=False)
    for label, value in rows:
        console.print(f"  {escape(label.ljust(width))}  {escape(value)}", highlight=False, soft_wrap=True)


def mail_line(delivery: dict) -> str:
    """Say what one drain did with every message due: sent, to retry, held and failed add up to the whole."""
    figures = [(label, int(delivery.get(key, 0))) for key, label in MAIL_FIGURES]
    if delivery.get("held_back"):  # shown only when the mailbox's limits held some back, so it is news
        figures.append(("waiting for the mailbox's limits", int(delivery["held_back"])))
    due = sum(count for _, count in figures)
    line = f"{due} due: " + ", ".join(f"{label} {count}" for label, count in figures)
    if failed := delivery.get("failed_ids"):
        line += f" (failed: {_listed([f'M{i:06d}' for i in failed])}; the QA manager is told)"
    return line


def _value(value: Any) -> str:
    """Return one figure as text: yes/no, a count with its first references, or a breakdown."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None:
        return "-"
    if isinstance(value, list):
        return f"{len(value)}" + (f" ({_listed([str(v) for v in value])})" if value else "")
    if isinstance(value, dict):
        parts = [f"{k} {len(v) if isinstance(v, list) else v}" for k, v in value.items()]
        return ", ".join(parts) if parts else "none"
    return str(value)


def _listed(items: list[str]) -> str:
    shown = ", ".join(items[:LISTED])
    return shown + (f" and {len(items) - LISTED} more" if len(items) > LISTED else "")
