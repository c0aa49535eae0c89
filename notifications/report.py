"""Compose the covering emails of the monthly report: the broadcast report and the restricted annex.

Pure functions: given the summary, return the composed message with its PDF attachment named; who receives
it, and the edition, are decided in `auditcycle/report/render.py`.
"""
from dataclasses import dataclass, replace

from auditcycle.core.clock import Month
from auditcycle.notifications.message import Composed
from auditcycle.notifications.render import render


@dataclass(frozen=True)
class HeadlineFigure:
    """One headline figure as the report and its email state it: label, value and change from last month."""

    label: str
    value: str
    arrow: str
    change: str
    verdict: str = ""  # "better" or "worse" when the change is good or bad news; "" when neither or no change


@dataclass(frozen=True)
class ReportSummary:
    """What a covering email says about one edition of a month's report."""

    month: Month
    month_label: str
    edition: int
    reissue: bool
    provisional: bool
    empty: bool
    figures: tuple[HeadlineFigure, ...]
    flags: int
    min_cell: int


def _attached(composed: Composed, attachment_path: str, attachment_name: str) -> Composed:
    return replace(composed, attachment_path=attachment_path, attachment_name=attachment_name)


def compose_report(summary: ReportSummary, *, recipient_name: str, attachment_path: str,
                   attachment_name: str) -> Composed:
    """Compose the email that carries the month's report as a PDF, with the headline figures in the body."""
    composed = render("report_broadcast", recipient_name=recipient_name, **summary.__dict__)
    return _attached(composed, attachment_path, attachment_name)


def compose_report_restricted(summary: ReportSummary, *, recipient_name: str, attachment_path: str,
                              attachment_name: str) -> Composed:
    """Compose the separate email that carries the restricted scrutiny annex to senior managers."""
    composed = render("report_restricted", recipient_name=recipient_name, **summary.__dict__)
    return _attached(composed, attachment_path, attachment_name)
