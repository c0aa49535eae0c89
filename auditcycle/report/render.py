"""The monthly Quality Assurance report: render it (HTML, PDF, CSV, restricted annex) and mail it by edition.

The figures come from `report_data.build_report_data`; this module only presents and distributes them.
The broadcast report goes to the whole distribution list; the restricted scrutiny annex (trend flags and
exact team figures) goes, separately, only to the restricted roles. Each mailed edition is recorded, so a
re-run mails nobody and a correction goes out once as a numbered reissue.
"""
import csv
import io
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from markdown_it import MarkdownIt
from markupsafe import Markup
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from auditcycle.core.clock import Month, wall_clock
from auditcycle.core.context import AppContext
from auditcycle.core.files import write_atomically
from auditcycle.core.settings import get_settings
from auditcycle.models import ReportEdition, Staff
from auditcycle.models.enums import Role
from auditcycle.notifications.notices import day_label, month_label
from auditcycle.notifications.outbox import MessageKey, enqueue
from auditcycle.notifications.render import environment
from auditcycle.notifications.report import (
    HeadlineFigure,
    ReportSummary,
    compose_report,
    compose_report_restricted,
)
from auditcycle.people.directory import distinct
from auditcycle.report.data import TREND_MONTHS, ReportData
from auditcycle.report.summary import summary_credit, summary_text
from auditcycle.report.suppression import suppressed_cells

PHASE = "report"
# Report files are for the owner's group (the QA team's share) to read as well as the owner.
REPORT_FILE_MODE = 0o640
# OWASP CSV injection: a spreadsheet treats a cell starting with any of these as a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
FLAG_KINDS = {
    "practitioner_inadequate": "Practitioner with consecutive audits graded Inadequate",
    "team_inadequate_share": "Team with a high share of audits graded Inadequate",
    "cared_for_review_unit_inadequate":
        "Cared for child: Safeguarding and Independent Review Unit domain graded Inadequate",
}
# One colour per grade, best first: colour-blind safe, and still distinct when printed in grey.
GRADE_COLOURS = ["#1a6b3c", "#74b88a", "#f0a35e", "#b2182b", "#6d6d6d", "#3b5ba5"]
GOOD_COLOUR, INADEQUATE_COLOUR = "#1a6b3c", "#b2182b"
# The Government Statistical Service's mark for a figure withheld so that no one can be identified.
SUPPRESSED = "[c]"
BETTER, WORSE = "better", "worse"
# Presentation attributes of SVG, which matplotlib writes as inline styles: WeasyPrint's HTML parser does not
# know them as CSS and warns for each, though its SVG renderer draws them. Only these warnings are silenced.
SVG_PROPERTIES = frozenset({
    "fill", "fill-opacity", "fill-rule", "stroke", "stroke-width", "stroke-linejoin", "stroke-linecap",
    "stroke-dasharray", "stroke-dashoffset", "stroke-miterlimit", "stroke-opacity", "text-anchor", "clip-path",
    "clip-rule", "marker", "marker-start", "marker-mid", "marker-end", "stop-color", "stop-opacity",
    "paint-order", "dominant-baseline", "alignment-baseline", "shape-rendering", "vector-effect", "mask",
})


@dataclass(frozen=True)
class ReportFiles:
    """Where one rendering of a month's report was written."""

    folder: Path
    html: Path
    pdf: Path
    restricted_html: Path
    restricted_pdf: Path
    grades_csv: Path
    actions_csv: Path

    @classmethod
    def under(cls, folder: Path) -> "ReportFiles":
        """Name the six files of a report in a folder."""
        return cls(folder=folder, html=folder / "report.html", pdf=folder / "report.pdf",
                   restricted_html=folder / "report-restricted.html",
                   restricted_pdf=folder / "report-restricted.pdf",
                   grades_csv=folder / "grades.csv", actions_csv=folder / "actions.csv")

    def paths(self) -> list[Path]:
        """List the six files."""
        return [self.html, self.pdf, self.restricted_html, self.restricted_pdf, self.grades_csv, self.actions_csv]


# -- CSV ------------------------------------------------------------------------------------------------

def csv_safe(value) -> str:
    """Return a cell as text, quoted with a leading apostrophe if a spreadsheet would read it as a formula."""
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(FORMULA_PREFIXES) else text


def csv_text(rows: Iterable[dict]) -> str:
    """Return rows as CSV text, the columns in order of first appearance and every cell made safe."""
    rows = list(rows)
    fields: dict[str, None] = {}
    for row in rows:
        fields.update(dict.fromkeys(row))
    buffer = io.StringIO()
    if fields:
        writer = csv.DictWriter(buffer, fieldnames=[csv_safe(f) for f in fields], lineterminator="\r\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({csv_safe(k): csv_safe(row.get(k)) for k in fields})
    return buffer.getvalue()


# -- charts ---------------------------------------------------------------------------------------------

def _svg(name: str, title: str, draw: Callable) -> str:
    """Draw one figure and return it as inline SVG, byte-identical for the same data."""
    # Imported here: matplotlib and WeasyPrint take a second to load and only the report needs them.
    # Figure, not pyplot: no global figure state and no GUI backend, so it is safe inside a worker.
    import matplotlib
    from matplotlib.figure import Figure

    style = {"svg.hashsalt": f"auditcycle-{name}", "svg.fonttype": "none", "font.family": "DejaVu Sans",
             "font.size": 9, "axes.spines.top": False, "axes.spines.right": False}
    with matplotlib.rc_context(style):
        fig = draw(Figure)
        buffer = io.StringIO()
        fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None}, bbox_inches="tight")
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg"):]
    svg = re.sub(r"\s*<metadata>.*?</metadata>", "", svg, flags=re.DOTALL)
    # Several charts share one page: give every id (and every reference to one) the chart's own prefix.
    svg = svg.replace('id="', f'id="{name}-').replace('href="#', f'href="#{name}-').replace("url(#", f"url(#{name}-")
    opening = re.match(r"<svg[^>]*>", svg).group(0)
    tag = opening[:-1] + f' class="chart" role="img" aria-labelledby="{name}-title">'
    return svg.replace(opening, f'{tag}\n <title id="{name}-title">{Markup.escape(title)}</title>', 1)


def _short_month(month: Month) -> Markup:
    """Format YYYY-MM as 'Nov<br>2026' for a narrow column."""
    return Markup("{}<br>{}").format(month_label(month)[:3], month[:4])


def _pct_or_dash(value: float | None) -> str:
    return "–" if value is None else pct(value)


def _trend_figure(data: ReportData):
    points = data.trend
    labels = [f"{month_label(p.month)[:3]}\n{p.month[:4]}" for p in points]
    nan = float("nan")
    good = [nan if p.headline.good_or_better_pct is None else p.headline.good_or_better_pct for p in points]
    bad = [nan if p.headline.inadequate_pct is None else p.headline.inadequate_pct for p in points]

    def draw(figure):
        fig = figure(figsize=(7.2, 2.6))
        ax = fig.subplots()
        x = list(range(len(points)))
        ax.plot(x, good, marker="o", color=GOOD_COLOUR, linewidth=2, label="Good or better (%)")
        ax.plot(x, bad, marker="s", color=INADEQUATE_COLOUR, linewidth=2, linestyle="--", label="Inadequate (%)")
        ax.set_xticks(x, labels)
        ax.set_ylim(0, 100)
        ax.set_ylabel("% of completed audits")
        ax.grid(axis="y", color="#dddddd", linewidth=0.6)
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
        return fig

    return draw


def _domains_figure(data: ReportData):
    domains = [d for d in data.domains if sum(data.domain_distribution.get(d, {}).values())]

    def draw(figure):
        fig = figure(figsize=(7.2, 0.45 * len(domains) + 1.2))
        ax = fig.subplots()
        y = list(range(len(domains)))[::-1]
        left = [0] * len(domains)
        for index, grade in enumerate(data.grade_labels):
            counts = [data.domain_distribution[d].get(grade, 0) for d in domains]
            colour = GRADE_COLOURS[index % len(GRADE_COLOURS)]
            ax.barh(y, counts, left=left, color=colour, edgecolor="white", height=0.65, label=grade)
            for row, (start, count) in enumerate(zip(left, counts, strict=True)):
                if count:
                    ax.text(start + count / 2, y[row], str(count), ha="center", va="center", fontsize=8,
                            color="white" if index in (0, len(data.grade_labels) - 1) else "black")
            left = [a + b for a, b in zip(left, counts, strict=True)]
        ax.set_yticks(y, [_wrap(d, 34) for d in domains])
        ax.set_xlabel("Number of audits")
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12 - 0.6 / max(len(domains), 1)),
                  ncol=min(len(data.grade_labels), 4), frameon=False)
        return fig

    return draw, bool(domains)


def _wrap(text: str, width: int) -> str:
    lines, line = [], ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return "\n".join([*lines, line])


def charts(data: ReportData) -> dict[str, str]:
    """Draw the direction-of-travel line chart and the grades-by-domain stacked bar as inline SVG."""
    if data.empty:
        return {}
    result: dict[str, str] = {}
    if any(p.headline.good_or_better_pct is not None or p.headline.inadequate_pct is not None
           for p in data.trend):
        span = "over 12 months" if len(data.trend) == TREND_MONTHS else f"since {month_label(data.trend[0].month)}"
        result["trend"] = _svg(
            "trend", f"Direction of travel {span}: the share of completed audits graded good or better, "
                     "and the share graded inadequate", _trend_figure(data))
    draw, any_grades = _domains_figure(data)
    if any_grades:
        result["domains"] = _svg("domains", f"Grades given in each audit domain, {data.month_label}", draw)
    return result


# -- HTML -----------------------------------------------------------------------------------------------

def _markdown() -> MarkdownIt:
    # Raw HTML off, so a <script> in the notes is shown as text; images off, so nothing is fetched.
    return MarkdownIt("commonmark", {"html": False}).enable("table").disable("image")


def notes_html(notes: str | None) -> Markup | None:
    """Render the QA manager's notes from Markdown, with any raw HTML escaped."""
    if not notes or not notes.strip():
        return None
    return Markup(_markdown().render(notes))


def moment_label(moment: datetime) -> str:
    """Format a local moment as '22 Dec 2026, 18:00'."""
    return f"{moment.day} {moment:%b %Y}, {moment:%H:%M}"


def pct(value: float | None) -> str:
    """Format a percentage as '50%' or '33.3%', or say there is no figure."""
    if value is None:
        return "no figure"
    rounded = round(value, 1)
    return f"{rounded:.1f}".removesuffix(".0") + "%"


def _change(current, previous, *, percent: bool, previous_label: str, up_is: str | None) -> tuple[str, str, str]:
    """Return an arrow, the plain-English change from the previous month, and whether it is better or worse."""
    if previous is None:
        return "", f"no figure for {previous_label}", ""
    if current is None:
        return "", f"{pct(previous) if percent else previous} in {previous_label}", ""
    shown_now, shown_then = (round(current, 1), round(previous, 1)) if percent else (current, previous)
    diff = round(shown_now - shown_then, 1)
    then = pct(previous) if percent else str(previous)
    if diff == 0:
        return "=", f"no change from {then} in {previous_label}", ""
    amount = (f"{abs(diff):.1f}".removesuffix(".0") + (" percentage point" if abs(diff) == 1 else
                                                        " percentage points")) if percent else str(abs(diff))
    verdict = "" if up_is is None else up_is if diff > 0 else ({BETTER: WORSE, WORSE: BETTER}[up_is])
    return ("▲", f"up {amount} from {then} in {previous_label}", verdict) if diff > 0 else \
        ("▼", f"down {amount} from {then} in {previous_label}", verdict)


def headline_figures(data: ReportData) -> list[HeadlineFigure]:
    """List the five headline figures, each with its change from the previous month."""
    previous_label = month_label(str(Month.parse(data.month).previous()))
    now, before = data.headline, data.previous
    # Whether a rise is good news: more audits drawn is neither (the sample follows the caseload).
    rows = [
        ("Audits allocated", now.allocated, before and before.allocated, False, None),
        ("Audits completed", now.completed, before and before.completed, False, BETTER),
        ("Audits completed on time", now.completed_on_time, before and before.completed_on_time, False, BETTER),
        ("Completed audits graded good or better", now.good_or_better_pct,
         before and before.good_or_better_pct, True, BETTER),
        ("Completed audits graded inadequate", now.inadequate_pct, before and before.inadequate_pct, True, WORSE),
    ]
    figures = []
    for label, value, then, percent, up_is in rows:
        arrow, change, verdict = _change(value, then if before is not None else None, percent=percent,
                                         previous_label=previous_label, up_is=up_is)
        figures.append(HeadlineFigure(label=label, value=pct(value) if percent else str(value), arrow=arrow,
                                      change=change, verdict=verdict))
    return figures


def repeated_once(lines: Iterable[str]) -> list[tuple[str, int]]:
    """Group lines that say the same (case and spacing aside), each once with how often it was said, most often first."""
    counts: dict[str, int] = {}
    shown: dict[str, str] = {}
    for line in lines:
        tidy = " ".join(line.split())
        key = tidy.casefold()
        shown.setdefault(key, tidy)
        counts[key] = counts.get(key, 0) + 1
    # Stable: lines said equally often keep the order they were first said in.
    return sorted(((shown[key], n) for key, n in counts.items()), key=lambda item: -item[1])


def css_string(text: str) -> Markup:
    """Quote text as a CSS string, escaping anything that could end the string or the style element."""
    escaped = "".join(c if c.isalnum() or c in " .,:;()·—–-'" else f"\\{ord(c):x} " for c in str(text))
    return Markup(f'"{escaped}"')


def flag_kind(kind: str) -> str:
    """Name a trend flag's kind in plain English, whether given as a slug or already as a label."""
    if kind in FLAG_KINDS:
        return FLAG_KINDS[kind]
    return kind.replace("_", " ").capitalize() if "_" in kind else kind


def _share_shown(data: ReportData, hidden_labels: set[str], labels: Iterable[str]) -> bool:
    """Say whether a team's share may be shown: only when none of the cells it is worked out from is hidden."""
    wanted = set(labels)
    # Without the framework's labels (a hand-built report) any hidden cell hides both shares.
    return not (hidden_labels & wanted) if wanted else not hidden_labels


def team_table(data: ReportData, *, min_cell: int, exact: bool) -> dict:
    """Return the teams' overall grades with their totals, cells under min_cell suppressed unless exact."""
    counts = [[team.grades.get(g, 0) for g in data.grade_labels] for team in data.teams]
    hidden = frozenset() if exact else suppressed_cells(counts, threshold=min_cell)
    rows = []
    for r, team in enumerate(data.teams):
        hidden_labels = {data.grade_labels[c] for row, c in hidden if row == r}
        good_labels = data.good_or_better_labels
        worst = (data.worst_label,) if data.worst_label else ()
        rows.append({
            "service": team.service, "team": team.team, "audits": team.audits,
            "grades": [SUPPRESSED if (r, c) in hidden else str(n) for c, n in enumerate(counts[r])],
            "good_or_better": pct(team.good_or_better_pct)
            if _share_shown(data, hidden_labels, good_labels) else SUPPRESSED,
            "inadequate": pct(team.inadequate_pct) if _share_shown(data, hidden_labels, worst) else SUPPRESSED,
        })
    totals = [sum(column) for column in zip(*counts, strict=True)] if counts else []
    return {"rows": rows, "suppressed": bool(hidden),
            "total": {"audits": sum(t.audits for t in data.teams), "grades": [str(n) for n in totals],
                      "good_or_better": pct(data.headline.good_or_better_pct),
                      "inadequate": pct(data.headline.inadequate_pct)}}


def _context(data: ReportData, *, restricted: bool, reissue_of: int | None, min_cell: int) -> dict:
    if restricted:
        page_title = f"Scrutiny annex: Quality Assurance report {data.month_label}"
        marking = ["RESTRICTED"]
    else:
        page_title = f"Quality Assurance report: {data.month_label}"
        marking = []
    marking += ["PROVISIONAL"] * data.provisional + [f"Corrected edition {reissue_of}"] * bool(reissue_of)
    return {
        "data": data,
        "page_title": page_title,
        "page_marking": " · ".join(marking),
        "restricted": restricted,
        "reissue_of": reissue_of,
        "min_cell": min_cell,
        "generated_label": day_label(data.generated_on),
        "as_at_label": day_label(data.as_at) if data.as_at and data.as_at != data.generated_on else None,
        "summary": notes_html(summary_text(data)),
        "summary_credit": summary_credit(data),
        "quotes": repeated_once(data.family.quotes),
        "good_practice": repeated_once(data.good_practice),
        "suppressed_mark": SUPPRESSED,
        "previous_label": month_label(str(Month.parse(data.month).previous())),
        "figures": headline_figures(data),
        "charts": {} if restricted else {k: Markup(v) for k, v in charts(data).items()},
        "trend_first": month_label(data.trend[0].month) if data.trend else None,
        "trend_rows": [{"short": _short_month(p.month), "completed": p.headline.completed,
                        "good": _pct_or_dash(p.headline.good_or_better_pct),
                        "inadequate": _pct_or_dash(p.headline.inadequate_pct)} for p in data.trend],
        "teams": team_table(data, min_cell=min_cell, exact=restricted),
        "notes": notes_html(data.notes_markdown),
        "pct": pct,
        "moment_label": moment_label,
        "flag_kind": flag_kind,
        "css_string": css_string,
        "month_label_of": month_label,
    }


def render_html(data: ReportData, *, restricted: bool = False, reissue_of: int | None = None,
                min_cell: int | None = None) -> str:
    """Render the broadcast report, or with `restricted` the scrutiny annex, as one self-contained HTML page."""
    min_cell = get_settings().framework.report_min_cell if min_cell is None else min_cell
    name = "reports/restricted.html" if restricted else "reports/report.html"
    return environment().get_template(name).render(
        **_context(data, restricted=restricted, reissue_of=reissue_of, min_cell=min_cell))


# -- files ----------------------------------------------------------------------------------------------

def _refuse_fetch(url: str, *args, **kwargs):
    raise ValueError(f"the report is self-contained and fetches nothing ({url})")


class SvgPropertyWarnings(logging.Filter):
    """Drop WeasyPrint's warning that an inline SVG's presentation attribute is an unknown CSS property."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args if isinstance(record.args, tuple) else ()
        # Two spellings: the declaration's check (its value keeps its leading space) and the property's own.
        unknown_svg = (record.msg in ("Ignored `%s:%s` at %d:%d, %s.", "Ignored `%s: %s` at %d:%d, %s.")
                       and len(args) == 5 and str(args[0]).lower() in SVG_PROPERTIES
                       and args[4] == "unknown property")
        return not unknown_svg


_SVG_WARNINGS = SvgPropertyWarnings()


def pdf_bytes(html: str) -> bytes:
    """Print HTML to a tagged, accessible PDF (PDF/UA-1) with WeasyPrint, fetching nothing from outside the page."""
    from weasyprint import HTML  # imported here: slow to load, and only the report needs it

    logging.getLogger("weasyprint").addFilter(_SVG_WARNINGS)  # the same filter once, however often called
    return HTML(string=html, url_fetcher=_refuse_fetch).write_pdf(pdf_variant="pdf/ua-1")


def write_report(data: ReportData, folder: Path, *, reissue_of: int | None = None,
                 min_cell: int | None = None) -> ReportFiles:
    """Write the report, the restricted annex (HTML and PDF each) and the two CSV extracts into a folder."""
    files = ReportFiles.under(Path(folder))
    html = render_html(data, reissue_of=reissue_of, min_cell=min_cell)
    restricted = render_html(data, restricted=True, reissue_of=reissue_of, min_cell=min_cell)
    # utf-8-sig: Excel reads a UTF-8 file correctly only when it starts with a byte-order mark.
    outputs = {
        files.html: html.encode("utf-8"),
        files.pdf: pdf_bytes(html),
        files.restricted_html: restricted.encode("utf-8"),
        files.restricted_pdf: pdf_bytes(restricted),
        files.grades_csv: csv_text(data.grades_csv).encode("utf-8-sig"),
        files.actions_csv: csv_text(data.actions_csv).encode("utf-8-sig"),
    }
    for path, payload in outputs.items():
        write_atomically(path, payload, mode=REPORT_FILE_MODE)
    return files


def edition_files(folder: Path, edition: int) -> ReportFiles:
    """Name the files kept for one mailed edition, in its own folder under the month's."""
    return ReportFiles.under(Path(folder) / f"edition-{edition}")


def _keep_edition(files: ReportFiles, edition: int) -> ReportFiles:
    """Copy a rendering into the edition's own folder, so mail queued for it attaches what was issued."""
    kept = edition_files(files.folder, edition)
    for source, target in zip(files.paths(), kept.paths(), strict=True):
        write_atomically(target, source.read_bytes(), mode=REPORT_FILE_MODE)
    return kept


# -- distribution ---------------------------------------------------------------------------------------

def _people(session: Session, roles: Iterable[str]) -> list[Staff]:
    wanted = [Role(r) for r in roles]
    staff = session.scalars(select(Staff).where(Staff.active, Staff.role.in_(wanted)).order_by(Staff.id))
    return distinct(staff)


def summary_of(data: ReportData, *, edition: int, reissue: bool, min_cell: int) -> ReportSummary:
    """Return what the covering email says: month, edition and the headline figures."""
    return ReportSummary(month=data.month, month_label=data.month_label, edition=edition, reissue=reissue,
                         provisional=data.provisional, empty=data.empty, figures=tuple(headline_figures(data)),
                         flags=len(data.restricted_flags), min_cell=min_cell)


def issue_report(session: Session, ctx: AppContext, *, data: ReportData, files: ReportFiles, reissue: bool,
                 by: str | None = None, reason: str | None = None) -> int:
    """Record the edition due (who issued it, why a reissue) and queue it to the distribution list and the annex to
    restricted roles; return the count."""
    latest = session.scalar(select(func.max(ReportEdition.edition)).where(ReportEdition.month == data.month))
    if latest is not None and not reissue:
        return 0  # this month's report has gone out; only a deliberate reissue mails it again
    edition = (latest or 0) + 1
    is_reissue = latest is not None
    if is_reissue:
        files = write_report(data, files.folder, reissue_of=edition,
                             min_cell=ctx.settings.framework.report_min_cell)
    kept = _keep_edition(files, edition)
    session.add(ReportEdition(month=data.month, edition=edition, reissue=is_reissue, provisional=data.provisional,
                              issued_at=ctx.now, recorded_at=wall_clock(), issued_by_id=by,
                              reason=reason if is_reissue else None))
    session.flush()

    framework = ctx.settings.framework
    summary = summary_of(data, edition=edition, reissue=is_reissue, min_cell=framework.report_min_cell)
    subject_ref = f"{PHASE}-{data.month}-e{edition}"
    queued = 0
    for step, roles, compose, attachment, name in (
        ("broadcast", framework.report_distribution_roles, compose_report, kept.pdf,
         f"QA report {data.month}.pdf"),
        ("restricted", framework.report_restricted_roles, compose_report_restricted, kept.restricted_pdf,
         f"QA report {data.month} restricted annex.pdf"),
    ):
        for person in _people(session, roles):
            message = compose(summary, recipient_name=person.name, attachment_path=str(attachment),
                              attachment_name=name)
            row = enqueue(session, ctx, MessageKey(PHASE, data.month, subject_ref, step), person, message)
            queued += row is not None
    return queued

