"""The console's report page: a month's words (the findings and planned activity, and the executive summary) set by
the signed-in person, the report as it would be issued now, in HTML and PDF, and the editions mailed so far.

Issuing and reissuing are `auditcycle.report.issue.issue_edition`, which the report phase shares."""
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session

from auditcycle.core.clock import Month
from auditcycle.core.context import AppContext
from auditcycle.core.errors import UserError
from auditcycle.core.text import Redacted
from auditcycle.people.permissions import authorise
from auditcycle.privacy.redaction import Redactor
from auditcycle.report.data import ReportData, build_report_data
from auditcycle.report.issue import editions, issued_by, issuer
from auditcycle.report.notes import (
    MAX_CHARACTERS,
    MAX_SUMMARY_CHARACTERS,
    ReportTextRefused,
    check_notes,
    store_notes,
    store_summary,
)
from auditcycle.report.render import edition_files, pdf_bytes, render_html
from auditcycle.report.summary import drafted_summary
from auditcycle.sampling.cycle import monthly_cycle

NOTES, SUMMARY = "notes", "summary"


@dataclass(frozen=True)
class EditionRow:
    """One mailed edition of the month's report, as the console lists it."""

    number: int
    reissue: bool
    provisional: bool
    issued_at: datetime
    issuer: str
    issued: str                # "by NAME at TIME"
    reason: Redacted | None
    kept: bool                 # its files are still in the reports folder


@dataclass(frozen=True)
class ReportPage:
    """A month's report as its page shows it: the words to edit and the editions mailed."""

    month: Month
    drawn: bool
    provisional: bool
    notes: str
    summary: str               # what the summary's box starts with: the one written, else the one drafted
    summary_by: str | None     # who wrote it, when one was written
    editions: tuple[EditionRow, ...]

    @property
    def latest(self) -> int:
        """Return the number of the latest edition mailed, 0 before the first."""
        return self.editions[-1].number if self.editions else 0


def _folder(ctx: AppContext, month: Month) -> Path:
    return ctx.settings.reports_dir / str(month)


def _written(data: ReportData) -> bool:
    return bool(data.summary_markdown and data.summary_markdown.strip())


def report_page(session: Session, ctx: AppContext, month: Month) -> ReportPage:
    """Return a month's report page: its findings, its summary (the drafted one if none is written), its editions."""
    data = build_report_data(session, ctx, month=month)
    redact = Redactor.for_caseload(session)
    rows = tuple(EditionRow(number=e.edition, reissue=e.reissue, provisional=e.provisional, issued_at=e.issued_at,
                            issuer=issuer(session, e), issued=issued_by(session, ctx, e), reason=redact.optional(e.reason),
                            kept=edition_files(_folder(ctx, month), e.edition).pdf.is_file())
                 for e in editions(session, month))
    written = _written(data)
    return ReportPage(month=month, drawn=monthly_cycle(session, month) is not None, provisional=data.provisional,
                      notes=data.notes_markdown or "",
                      summary=data.summary_markdown if written else drafted_summary(data),
                      summary_by=data.summary_by if written else None, editions=rows)


def _checked(text: str, field_name: str, **limits) -> str:
    # A browser sends a text box's line breaks as CRLF: kept as the CLI's files keep them, so an unchanged box
    # changes nothing.
    text = text.replace("\r\n", "\n")
    try:
        return check_notes(text, **limits)
    except UserError as refused:
        raise ReportTextRefused(field_name, str(refused)) from None


def save_report_words(session: Session, ctx: AppContext, *, month: Month, by: str, notes: str,
                      summary: str) -> None:
    """Store the month's findings and planned activity and its executive summary as a member of the QA team.

    A summary left as drafted from the figures stays the drafted one, so it follows the figures until issue.
    """
    notes = _checked(notes, NOTES, source="The findings and planned activity", limit=MAX_CHARACTERS)
    summary = _checked(summary, SUMMARY, source="The executive summary", limit=MAX_SUMMARY_CHARACTERS,
                       what="the summary is")
    if not summary.strip():
        raise ReportTextRefused(SUMMARY, "Enter the executive summary, or go back to the one drafted from the figures")
    store_notes(session, month=month, text=notes if notes.strip() else None, by=by)
    data = build_report_data(session, ctx, month=month)
    as_drafted = " ".join(summary.split()) == " ".join(drafted_summary(data).split())
    store_summary(session, month=month, text=None if as_drafted and not _written(data) else summary, by=by)


def use_drafted_summary(session: Session, *, month: Month, by: str) -> None:
    """Go back to the executive summary drafted from the figures, as a member of the QA team."""
    store_summary(session, month=month, text=None, by=by)


def preview_html(session: Session, ctx: AppContext, month: Month, *, viewer: str) -> str:
    """Render the month's report as it would be issued now, with the edition mark it would carry, for the QA team."""
    authorise(session, command="console", staff_id=viewer)
    latest = editions(session, month)
    return render_html(build_report_data(session, ctx, month=month),
                       reissue_of=latest[-1].edition + 1 if latest else None,
                       min_cell=ctx.settings.framework.report_min_cell)


def preview_pdf(session: Session, ctx: AppContext, month: Month, *, viewer: str) -> bytes:
    """Print the month's report as it would be issued now to the tagged PDF the recipients are sent."""
    return pdf_bytes(preview_html(session, ctx, month, viewer=viewer))


def edition_file(session: Session, ctx: AppContext, month: Month, number: int, *, pdf: bool,
                 viewer: str) -> Path | None:
    """Return the kept PDF (or HTML) of one mailed edition of the month's report for the QA team, or None."""
    authorise(session, command="console", staff_id=viewer)
    if number not in {e.edition for e in editions(session, month)}:
        return None
    files = edition_files(_folder(ctx, month), number)
    path = files.pdf if pdf else files.html
    return path if path.is_file() else None
