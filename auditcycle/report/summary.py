"""The report's executive summary: drafted from the month's figures by a template, unless the QA manager wrote one."""
from markupsafe import Markup

from auditcycle.core.clock import Month
from auditcycle.notifications.notices import month_label
from auditcycle.notifications.render import environment
from auditcycle.report.data import ReportData


def count(n: int, noun: str) -> str:
    """Say '1 audit' or '3 audits'."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _pct(value: float | None) -> str:
    from auditcycle.report.render import pct  # imported here: render imports this module

    return pct(value)


def movement(now: float | None, then: float | None, what: str) -> str:
    """Say how a share moved from last month, in percentage points: 'good or better up 4.5 points'."""
    if now is None or then is None:
        return f"{what}: no comparison"
    diff = round(round(now, 1) - round(then, 1), 1)
    if diff == 0:
        return f"{what} unchanged"
    points = f"{abs(diff):.1f}".removesuffix(".0")
    return f"{what} {'up' if diff > 0 else 'down'} {points} {'point' if abs(diff) == 1 else 'points'}"


def drafted_summary(data: ReportData) -> str:
    """Draft the executive summary from the month's figures: three to six plain-English sentences, no outside service."""
    if data.empty:
        return f"No audits were drawn for {data.month_label}."
    text = environment().get_template("reports/summary.md").render(
        data=data, before=data.previous, previous_label=month_label(str(Month.parse(data.month).previous())),
        overdue=sum(data.actions.overdue_by_band.values()), count=count, pct=_pct, movement=movement)
    return " ".join(text.split())


def summary_text(data: ReportData) -> str:
    """Return the summary the report shows: the QA manager's if they wrote one, else the drafted one."""
    written = data.summary_markdown
    return written if written and written.strip() else drafted_summary(data)


def summary_credit(data: ReportData) -> Markup:
    """Say where the summary came from: who wrote it, or that it was drafted from the figures."""
    if data.summary_markdown and data.summary_markdown.strip():
        return Markup("Written by {} for this report.").format(data.summary_by or "the Quality Assurance Manager")
    return Markup("Drafted from this month's figures.")
