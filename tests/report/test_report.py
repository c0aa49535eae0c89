"""The monthly report: CSV safety, the self-contained HTML and its PDF, the restricted annex, and mailing by edition."""
import csv
import html
import io
import re
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from auditcycle.core.context import build_context
from auditcycle.core.settings import Settings
from auditcycle.models import OutboxMessage, ReportEdition, Service, Staff, Team
from auditcycle.models.enums import Role
from auditcycle.notifications.gateway import deliver
from auditcycle.report.data import (
    ActionStats,
    FamilyStats,
    FlagRow,
    Headline,
    LateResponse,
    LoopRow,
    ModerationStats,
    MonthPoint,
    ObservationStats,
    ReportData,
    ResponseStats,
    TeamRow,
)
from auditcycle.report.render import ReportFiles, charts, csv_safe, issue_report, render_html, write_report

GRADES = ["Outstanding", "Good", "Requires improvement to be good", "Inadequate"]
DOMAINS = ["Help, protection and stability", "Recording and communication", "Assessment"]
TREND_MONTHS = ["2025-12", "2026-01", "2026-02", "2026-03", "2026-04", "2026-05", "2026-06", "2026-07", "2026-08",
                "2026-09", "2026-10", "2026-11"]
LONDON = ZoneInfo("Europe/London")
FLAG_DETAIL = "Sandpiper Team: 67% (2 of 3) of audits graded Inadequate"
NOW = "2026-12-07T10:00"


def report_data(**changes) -> ReportData:
    """A small November 2026 report: 12 allocated, 10 completed, two teams (one with only 2 audits)."""
    data = ReportData(
        month="2026-11", month_label="November 2026", generated_on=date(2026, 12, 7), provisional=False,
        theme="Voice of the child",
        notes_markdown="Practice is **improving**.\n\n<script>alert('x')</script>\n\n- Workshop on direct work",
        headline=Headline(allocated=12, completed=10, completed_on_time=7, good_or_better_pct=60.0,
                          inadequate_pct=10.0),
        previous=Headline(allocated=9, completed=9, completed_on_time=7, good_or_better_pct=45.5,
                          inadequate_pct=20.0),
        trend=[MonthPoint(m, Headline(9, 8, 6, 40.0 + i, 20.0 - i)) for i, m in enumerate(TREND_MONTHS)],
        domains=DOMAINS, grade_labels=GRADES,
        domain_distribution={d: {"Outstanding": 1, "Good": 5, "Requires improvement to be good": 3,
                                 "Inadequate": 1} for d in DOMAINS},
        teams=[TeamRow(service="Children's Social Care", team="Kestrel Team", audits=8,
                       grades={"Outstanding": 1, "Good": 4, "Requires improvement to be good": 2, "Inadequate": 1},
                       good_or_better_pct=62.5, inadequate_pct=12.5),
               TeamRow(service="Early Help", team="Sandpiper Team", audits=2,
                       grades={"Good": 1, "Inadequate": 1}, good_or_better_pct=50.0, inadequate_pct=50.0)],
        moderation=ModerationStats(selected=4, decided=3, agreed=2, agreement_rate=66.7,
                                   changes=[("Requires improvement to be good", "Good", 1)], undecided=1),
        family=FamilyStats(attempted=6, spoke=3, declined=1, unreachable=1, not_appropriate=1, interpreter_used=1,
                           quotes=["The social worker listened to me."]),
        good_practice=["The worker built trust through weekly visits."],
        actions=ActionStats(raised=9, completed_within_timescale=5,
                            overdue_by_band={"1–5 working days": 2, "6–10 working days": 1,
                                             "more than 10 working days": 0}, escalated_to_senior=1),
        responses=ResponseStats(raised=4, same_day=1, within_24h=1, late=1, outstanding=1, late_responses=[
            LateResponse(reference="IR-7", case_id="C100", raised_at=datetime(2026, 11, 9, 18, 0, tzinfo=LONDON),
                         answered_at=datetime(2026, 11, 11, 9, 15, tzinfo=LONDON))]),
        observations=ObservationStats(assigned=4, done=3, coverage_pct=75.0, due=5),
        closing_the_loop=[LoopRow(month="2026-10", theme="Supervision", actions_raised=6, actions_open=2,
                                  actions_signed_off=3, actions_awaiting_sign_off=1)],
        restricted_flags=[FlagRow(kind="Team with a high share of inadequate audits", subject="Sandpiper Team",
                                  detail=FLAG_DETAIL)],
        grades_csv=[{"audit": "A-2026-11-001", "case_id": "C100", "overall": "Good"},
                    {"audit": "=HYPERLINK(\"http://x\")", "case_id": "C101", "overall": "Inadequate"}],
        actions_csv=[{"action": "ACT-1", "description": "-2 days late", "owner": "@kw"}],
        empty=False,
    )
    return replace(data, **changes)


def empty_data() -> ReportData:
    nothing = Headline(allocated=0, completed=0, completed_on_time=0, good_or_better_pct=None, inadequate_pct=None)
    return report_data(
        headline=nothing, previous=None, trend=[MonthPoint(m, nothing) for m in TREND_MONTHS],
        domain_distribution={d: {} for d in DOMAINS}, teams=[],
        moderation=ModerationStats(0, 0, 0, None, []), family=FamilyStats(0, 0, 0, 0, 0, 0, []), good_practice=[],
        actions=ActionStats(0, 0, {}, 0), responses=ResponseStats(0, 0, 0, 0, 0, []),
        observations=ObservationStats(0, 0, None, 0), closing_the_loop=[], restricted_flags=[], grades_csv=[],
        actions_csv=[], empty=True, notes_markdown=None, theme=None)


def text_of(page: str) -> str:
    """Return the visible text of a page, tags dropped, entities read and whitespace collapsed."""
    body = re.sub(r"<(style|svg)\b.*?</\1>", " ", page, flags=re.DOTALL)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def pdf_text(source) -> str:
    return " ".join(" ".join(page.extract_text() for page in PdfReader(source).pages).split())


# -- csv_safe -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("cell", ["=SUM(A1:A2)", "+44 1234", "-2+3", "@cmd", "\tindent", "\rreturn"])
def test_csv_safe_formula_prefix_gets_apostrophe(cell: str) -> None:
    assert csv_safe(cell) == "'" + cell


@pytest.mark.parametrize("cell, expected", [("Good", "Good"), ("A-2026-11-001", "A-2026-11-001"), ("", ""),
                                            (None, ""), (12, "12"), ("a = b", "a = b")])
def test_csv_safe_ordinary_text_untouched(cell, expected: str) -> None:
    assert csv_safe(cell) == expected


# -- HTML -----------------------------------------------------------------------------------------------

def test_render_html_is_self_contained_with_inline_charts() -> None:
    html = render_html(report_data())

    external = re.findall(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", html, flags=re.IGNORECASE)
    assert external == []
    assert re.findall(r"<link\b|<script\b|<img\b|@import|url\(\s*['\"]?https?:", html, flags=re.IGNORECASE) == []
    assert html.count("<svg") == 2


def test_charts_same_data_identical_svg() -> None:
    first, second = charts(report_data()), charts(report_data())

    assert sorted(first) == ["domains", "trend"]
    assert first == second


def test_charts_have_no_clashing_ids() -> None:
    html = render_html(report_data())

    ids = re.findall(r'\bid="([^"]+)"', html)
    assert len(ids) == len(set(ids))


def test_render_html_headline_figures_labelled_with_previous_month() -> None:
    text = text_of(render_html(report_data()))

    # More audits drawn is neither better nor worse; fewer inadequate is better, though the arrow points down.
    assert "Audits allocated 12 ▲ up 3 from 9 in October 2026" in text
    assert "Audits completed 10 ▲ Better: up 1 from 9 in October 2026" in text
    assert "Audits completed on time 7 = no change from 7 in October 2026" in text
    assert ("Completed audits graded good or better 60% ▲ Better: up 14.5 percentage points from 45.5% in "
            "October 2026" in text)
    assert ("Completed audits graded inadequate 10% ▼ Better: down 10 percentage points from 20% in October 2026"
            in text)


def test_render_html_a_rise_in_inadequate_is_worse_in_red_and_in_words() -> None:
    page = render_html(report_data(previous=Headline(allocated=12, completed=12, completed_on_time=9,
                                                     good_or_better_pct=70.0, inadequate_pct=5.0)))

    assert "Completed audits graded inadequate 10% ▲ Worse: up 5 percentage points from 5% in October 2026" in \
        text_of(page)
    assert "Completed audits graded good or better 60% ▼ Worse: down 10 percentage points" in text_of(page)
    assert '<span class="arrow worse" aria-hidden="true">▲</span> <strong class="verdict worse">Worse:</strong>' in page


def _relative_luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


@pytest.mark.parametrize("rule", ["better", "worse"])
def test_better_and_worse_colours_meet_wcag_aa_contrast_on_white(rule: str) -> None:
    css = (Path(__file__).parents[2] / "templates" / "reports" / "report.css").read_text()
    colour = re.search(rf"^\.{rule} {{ color: (#[0-9a-f]{{6}}); }}", css, flags=re.MULTILINE).group(1)

    contrast = 1.05 / (_relative_luminance(colour) + 0.05)
    assert contrast >= 4.5


def test_render_html_no_previous_month_says_so() -> None:
    text = text_of(render_html(report_data(previous=None)))

    assert "Audits allocated 12 no figure for October 2026" in text


def test_render_html_small_cells_suppressed_in_broadcast_with_totals() -> None:
    text = text_of(render_html(report_data(), min_cell=2))

    # Under 2: the 1s, Kestrel's Outstanding and Inadequate and Sandpiper's Good and Inadequate; then Kestrel's
    # Good and Sandpiper's Outstanding, else the Outstanding and Good totals would give the 1s back. A share
    # resting on a hidden cell is hidden with it; the totals are shown.
    assert "Children's Social Care Kestrel Team 8 [c] [c] 2 [c] [c] [c]" in text
    assert "Early Help Sandpiper Team 2 [c] [c] 0 [c] [c] [c]" in text
    assert "All teams 10 1 5 2 2 60% 10%" in text
    assert "a count under 2 is shown as [c]" in text


def test_render_html_restricted_shows_small_team_exactly() -> None:
    text = text_of(render_html(report_data(), restricted=True))

    assert "Early Help Sandpiper Team 2 0 1 0 1 50% 50%" in text
    assert "[c]" not in text.split("Exact figures by service and team")[1].split("shows as [c].")[1]


def test_render_html_min_cell_from_argument() -> None:
    text = text_of(render_html(report_data(), min_cell=9))

    assert "Children's Social Care Kestrel Team 8 [c] [c] [c] [c] [c] [c]" in text
    assert "a count under 9 is shown as [c]" in text


def test_render_html_a_share_is_shown_when_its_cells_are() -> None:
    data = report_data(good_or_better_labels=("Outstanding", "Good"), worst_label="Inadequate",
                       teams=[TeamRow(service="S", team="Kestrel Team", audits=16,
                                      grades={"Outstanding": 5, "Good": 6, "Requires improvement to be good": 3,
                                              "Inadequate": 2}, good_or_better_pct=68.8, inadequate_pct=12.5),
                              TeamRow(service="S", team="Heron Team", audits=20,
                                      grades={"Outstanding": 5, "Good": 6, "Requires improvement to be good": 5,
                                              "Inadequate": 4}, good_or_better_pct=55.0, inadequate_pct=20.0)])

    text = text_of(render_html(data, min_cell=5))

    assert "Kestrel Team 16 5 6 [c] [c] 68.8% [c]" in text
    assert "Heron Team 20 5 6 [c] [c] 55% [c]" in text


def test_render_html_trend_flags_only_in_restricted() -> None:
    broadcast, restricted = render_html(report_data()), render_html(report_data(), restricted=True)

    assert FLAG_DETAIL not in broadcast
    assert FLAG_DETAIL in restricted
    assert "RESTRICTED" not in broadcast
    assert text_of(restricted).startswith("Scrutiny annex: Quality Assurance report November 2026 RESTRICTED")


def test_render_html_notes_markdown_escapes_raw_html() -> None:
    html = render_html(report_data())

    assert "<script>" not in html
    assert "<p>&lt;script&gt;alert('x')&lt;/script&gt;</p>" in html
    assert "<strong>improving</strong>" in html
    assert "<li>Workshop on direct work</li>" in html


def test_render_html_notes_image_is_not_fetched() -> None:
    html = render_html(report_data(notes_markdown="![tracker](https://tracker.example/pixel.png)"))

    assert "<img" not in html


def test_render_html_sections_in_plain_english() -> None:
    text = text_of(render_html(report_data()))

    headings = re.findall(r"<h2>([^<]+)</h2>", render_html(report_data()))
    assert headings == ["Summary", "Headline", "Grades", "Theme and findings", "Moderation", "Family and child feedback",
                        "Good practice", "Actions", "Immediate Responses", "Observations of practice",
                        "Closing the loop"]
    assert "Agreement rate (of decisions made) 66.7%" in text
    assert "Audits still undecided (awaiting the panel or an assistant director) 1" in text
    assert "Requires improvement to be good Good 1" in text
    assert "Conversations that used an interpreter 1" in text
    assert "“The social worker listened to me.”" in text
    assert "1–5 working days 2" in text
    assert "Actions escalated to a service manager or above 1" in text
    assert ("Immediate Responses raised 4 Answered the same day 1 Answered within 24 hours, on a later day 1 "
            "Answered late, after the 24 hours 1 Still open 1") in text
    assert "Immediate Responses answered late Response Case Raised Answered IR-7 C100 9 Nov 2026, 18:00 " \
           "11 Nov 2026, 09:15" in text
    assert "Staff observed in the last 12 months (annual coverage) 75%" in text
    assert "October 2026 Supervision 6 2 1 3" in text


def test_render_html_provisional_marked_on_first_page() -> None:
    html = render_html(report_data(provisional=True))

    assert "PROVISIONAL — Moderation has not closed; grades may change." in text_of(html)
    assert html.index("PROVISIONAL") < html.index("<h1>")


def test_render_html_final_not_marked_provisional() -> None:
    assert "PROVISIONAL" not in render_html(report_data())


def test_render_html_reissue_marked_on_first_page() -> None:
    html = render_html(report_data(), reissue_of=2)

    assert "Reissued — corrected edition 2." in text_of(html)
    assert html.index("Reissued") < html.index("<h1>")


def test_render_html_empty_month_says_so_without_charts() -> None:
    data = empty_data()

    html = render_html(data)

    assert "No audits were drawn for November 2026." in text_of(html)
    assert "<svg" not in html
    assert charts(data) == {}


def test_render_html_same_data_byte_identical() -> None:
    assert render_html(report_data(provisional=True)) == render_html(report_data(provisional=True))
    assert render_html(report_data(), restricted=True) == render_html(report_data(), restricted=True)


def test_render_html_shows_date_but_no_time() -> None:
    text = text_of(render_html(report_data()))

    assert "Produced on Monday 7 December 2026" in text
    # The only times are those of the late Immediate Response, from the data: never the moment of rendering.
    assert re.findall(r"\b\d{1,2}:\d{2}\b", text) == ["18:00", "09:15"]


# -- files ----------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> ReportFiles:
    return write_report(report_data(provisional=True), tmp_path_factory.mktemp("report") / "2026-11")


def test_write_report_writes_six_files(written: ReportFiles) -> None:
    assert sorted(p.name for p in written.folder.iterdir()) == sorted(
        ["actions.csv", "grades.csv", "report-restricted.html", "report-restricted.pdf", "report.html",
         "report.pdf"])
    assert written.html.read_text("utf-8") == render_html(report_data(provisional=True))


def test_write_report_pdf_holds_headline_and_month(written: ReportFiles) -> None:
    text = pdf_text(written.pdf)

    assert "Quality Assurance report: November 2026" in text
    assert "Audits allocated 12" in text
    assert "60%" in text and "up 14.5 percentage points" in text
    assert "PROVISIONAL — Moderation has not closed; grades may change." in text
    assert FLAG_DETAIL not in text


def test_write_report_restricted_pdf_marked_on_every_page(written: ReportFiles) -> None:
    pages = [page.extract_text() for page in PdfReader(written.restricted_pdf).pages]

    assert len(pages) >= 2
    assert [("RESTRICTED" in page) for page in pages] == [True] * len(pages)
    assert "Sandpiper Team" in " ".join(pages)


def test_write_report_csv_escaped_with_bom(written: ReportFiles) -> None:
    raw = written.grades_csv.read_bytes()

    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows == [{"audit": "A-2026-11-001", "case_id": "C100", "overall": "Good"},
                    {"audit": "'=HYPERLINK(\"http://x\")", "case_id": "C101", "overall": "Inadequate"}]
    actions = list(csv.DictReader(io.StringIO(written.actions_csv.read_text("utf-8-sig"))))
    assert actions == [{"action": "ACT-1", "description": "'-2 days late", "owner": "'@kw"}]


def test_write_report_leaves_no_temporary_files(written: ReportFiles) -> None:
    assert [p.name for p in written.folder.iterdir() if p.name.startswith(".")] == []


def test_write_report_empty_month(tmp_path: Path) -> None:
    files = write_report(empty_data(), tmp_path)

    assert "No audits were drawn for November 2026." in pdf_text(files.pdf)
    assert files.grades_csv.read_bytes() == b"\xef\xbb\xbf"


# -- issue_report ---------------------------------------------------------------------------------------

PEOPLE = [
    ("AD-1", Role.ASSISTANT_DIRECTOR), ("SM-1", Role.SERVICE_MANAGER), ("TM-1", Role.TEAM_MANAGER),
    ("QA-1", Role.QA_MANAGER), ("PIM-1", Role.PRACTICE_IMPROVEMENT_MANAGER),
    ("PSW-1", Role.PRINCIPAL_SOCIAL_WORKER), ("KW-1", Role.KEY_WORKER), ("IRO-1", Role.IRO),
]
DISTRIBUTION = ["AD-1", "PIM-1", "PSW-1", "QA-1", "SM-1", "TM-1"]
RESTRICTED = ["AD-1", "PSW-1", "SM-1"]


@pytest.fixture
def settings(smtp_server, tmp_path: Path) -> Settings:
    return Settings(database_url="sqlite://", smtp_host="127.0.0.1", smtp_port=smtp_server.port,
                    reports_dir=tmp_path / "reports")


@pytest.fixture
def staffed(session):
    service = Service(name="Children's Social Care")
    session.add(service)
    session.flush()
    team = Team(name="Kestrel Team", service_id=service.id)
    session.add(team)
    session.flush()
    for staff_id, role in PEOPLE:
        session.add(Staff(id=staff_id, name=f"Person {staff_id}", email=f"{staff_id.lower()}@example.org",
                          role=role, team_id=team.id, service_id=service.id))
    session.add(Staff(id="SM-2", name="Left Manager", email="sm-2@example.org", role=Role.SERVICE_MANAGER,
                      service_id=service.id, active=False))
    session.commit()
    return session


def _issue(session, settings: Settings, files: ReportFiles, *, data: ReportData | None = None,
           reissue: bool = False) -> int:
    queued = issue_report(session, build_context(NOW, settings=settings), data=data or report_data(),
                          files=files, reissue=reissue)
    session.commit()
    return queued


def _received(received_messages: list) -> dict[str, list]:
    """Map each recipient to the messages they received, each as (subject, attachment name, pdf text)."""
    by_person: dict[str, list] = {}
    for received in received_messages:
        message = received.message
        parts = [p for p in message.iter_attachments() if p.get_content_type() == "application/pdf"]
        assert len(parts) == 1
        text = pdf_text(io.BytesIO(parts[0].get_content()))
        for rcpt in received.rcpt_tos:
            by_person.setdefault(rcpt.split("@")[0].upper(), []).append(
                (str(message["Subject"]), parts[0].get_filename(), text))
    return by_person


@pytest.fixture
def files(tmp_path: Path) -> ReportFiles:
    return write_report(report_data(), tmp_path / "reports" / "2026-11")


def test_issue_report_mails_pdf_to_distribution_and_annex_to_restricted(staffed, engine, settings, files,
                                                                       smtp_server) -> None:
    queued = _issue(staffed, settings, files)
    deliver(engine=engine, settings=settings)

    assert queued == len(DISTRIBUTION) + len(RESTRICTED)
    got = _received(smtp_server.received)
    assert sorted(got) == DISTRIBUTION
    for person, messages in got.items():
        broadcast = [m for m in messages if m[1] == "QA report 2026-11.pdf"]
        annex = [m for m in messages if m[1] == "QA report 2026-11 restricted annex.pdf"]
        assert len(broadcast) == 1
        assert broadcast[0][0] == "Quality Assurance report: November 2026"
        assert "Audits allocated 12" in broadcast[0][2]
        assert FLAG_DETAIL not in broadcast[0][2]
        assert len(annex) == (1 if person in RESTRICTED else 0)
        if annex:
            assert annex[0][0] == "RESTRICTED: Quality Assurance report scrutiny annex, November 2026"
            assert FLAG_DETAIL in annex[0][2]


def test_issue_report_records_first_edition(staffed, settings, files) -> None:
    _issue(staffed, settings, files, data=report_data(provisional=True))

    editions = staffed.execute(select(ReportEdition.month, ReportEdition.edition, ReportEdition.reissue,
                                      ReportEdition.provisional)).all()
    assert editions == [("2026-11", 1, False, True)]


def test_issue_report_body_has_headline_figures(staffed, settings, files) -> None:
    _issue(staffed, settings, files, data=report_data(provisional=True))

    row = staffed.scalar(select(OutboxMessage).where(OutboxMessage.recipient_id == "TM-1"))
    assert row.subject == "Quality Assurance report: November 2026 (provisional)"
    assert "- Audits allocated: 12 (up 3 from 9 in October 2026)" in row.body_text
    assert "PROVISIONAL: moderation has not closed; grades may change." in row.body_text
    assert row.idempotency_key == "report:2026-11:report-2026-11-e1:broadcast:TM-1"


def test_issue_report_rerun_without_reissue_mails_nobody(staffed, engine, settings, files, smtp_server) -> None:
    _issue(staffed, settings, files)
    deliver(engine=engine, settings=settings)
    before = len(smtp_server.received)

    queued = _issue(staffed, settings, files)
    deliver(engine=engine, settings=settings)

    assert queued == 0
    assert len(smtp_server.received) == before
    assert staffed.scalar(select(ReportEdition.edition).order_by(ReportEdition.edition.desc())) == 1


def test_issue_report_reissue_mails_once_marked(staffed, engine, settings, files, smtp_server) -> None:
    _issue(staffed, settings, files)
    deliver(engine=engine, settings=settings)
    first = len(smtp_server.received)

    queued = _issue(staffed, settings, files, reissue=True)
    again = _issue(staffed, settings, files)
    deliver(engine=engine, settings=settings)

    assert (queued, again) == (len(DISTRIBUTION) + len(RESTRICTED), 0)
    reissued = smtp_server.received[first:]
    subjects = sorted({str(r.message["Subject"]) for r in reissued})
    assert subjects == ["Quality Assurance report: November 2026 (reissued, corrected edition 2)",
                        ("RESTRICTED: Quality Assurance report scrutiny annex, November 2026 "
                         "(reissued, corrected edition 2)")]
    got = _received(reissued)
    assert sorted(got) == DISTRIBUTION
    assert all("Reissued — corrected edition 2." in text for messages in got.values() for _, _, text in messages)
    editions = staffed.execute(select(ReportEdition.edition, ReportEdition.reissue)
                               .order_by(ReportEdition.edition)).all()
    assert editions == [(1, False), (2, True)]


def test_issue_report_keeps_each_edition_attachment(staffed, settings, files) -> None:
    _issue(staffed, settings, files)
    _issue(staffed, settings, files, reissue=True)

    paths = sorted(set(staffed.scalars(select(OutboxMessage.attachment_path))))
    folder = files.folder
    assert paths == sorted(str(folder / f"edition-{n}" / name) for n in (1, 2)
                           for name in ("report.pdf", "report-restricted.pdf"))
    assert "Reissued" not in pdf_text(folder / "edition-1" / "report.pdf")
    assert "Reissued — corrected edition 2." in pdf_text(folder / "edition-2" / "report.pdf")



# -- a report a Director reads ------------------------------------------------------------------------------

def test_drafted_summary_states_the_month_in_three_to_six_plain_sentences() -> None:
    from auditcycle.report.summary import drafted_summary

    summary = drafted_summary(report_data())

    assert summary == (
        "In November 2026, 10 of the 12 audits drawn were completed, 7 of them on time. "
        "60% of completed audits were graded good or better and 10% inadequate, against 45.5% and 20% in "
        "October 2026 (good or better up 14.5 points; inadequate down 10 points). "
        "The month's audits raised 9 actions: 3 are overdue and 1 has been escalated to a service manager or above. "
        "4 Immediate Responses were raised: 1 answered late and 1 still open. "
        "1 moderated audit is still undecided, so grades may change.")
    assert 3 <= summary.count(". ") + 1 <= 6


def test_drafted_summary_of_a_quiet_month_with_nothing_completed() -> None:
    from auditcycle.report.summary import drafted_summary

    data = report_data(headline=Headline(allocated=1, completed=0, completed_on_time=0, good_or_better_pct=None,
                                         inadequate_pct=None), previous=None,
                       actions=ActionStats(0, 0, {}, 0), responses=ResponseStats(0, 0, 0, 0, 0, []),
                       moderation=ModerationStats(0, 0, 0, None, []))

    assert drafted_summary(data) == (
        "In November 2026, none of the 1 audit drawn has been completed yet, so there is no grade mix to report. "
        "The month's audits raised no actions. No Immediate Response was raised.")


def test_drafted_summary_says_when_every_immediate_response_was_answered_in_time() -> None:
    from auditcycle.report.summary import drafted_summary

    summary = drafted_summary(report_data(responses=ResponseStats(3, 2, 1, 0, 0, [])))

    assert "3 Immediate Responses were raised, all answered in time." in summary


def test_summary_written_by_the_qa_manager_replaces_the_drafted_one() -> None:
    page = render_html(report_data(summary_markdown="Practice is **steady**.", summary_by="Quinn Adebayo"))

    assert "<strong>steady</strong>" in page
    assert "Written by Quinn Adebayo for this report." in text_of(page)
    assert "In November 2026, 10 of the 12" not in page
    assert "Drafted from this month's figures." in text_of(render_html(report_data()))


def test_repeated_feedback_shown_once_with_how_often() -> None:
    said = "Mother: The social worker listened to me."
    quotes = [said] * 30 + ["mother:  the social WORKER listened to me. "] + ["Father: Visits were on time."]

    text = text_of(render_html(report_data(family=replace(report_data().family, quotes=quotes))))

    assert text.count("listened to me") == 1
    assert "“Mother: The social worker listened to me.” (31 times)" in text
    assert "“Father: Visits were on time.”" in text and "on time.” (" not in text


def test_trend_starts_where_the_data_starts() -> None:
    data = report_data(trend=[MonthPoint(m, Headline(9, 8, 6, 50.0, 10.0)) for m in TREND_MONTHS[-3:]])

    page = render_html(data)

    assert "The chart starts in September 2026, the first month with completed audits." in text_of(page)
    assert re.search(r"Month Sep 2026 Oct 2026 Nov 2026 Audits completed 8 8 8", text_of(page))
    chart = charts(data)["trend"]
    assert "Aug" not in chart and "Sep" in chart
    assert "<title id=\"trend-title\">Direction of travel since September 2026: the share" in chart


def test_produced_on_is_the_real_date_and_the_figures_say_their_own() -> None:
    text = text_of(render_html(report_data(generated_on=date(2026, 12, 3), as_at=date(2026, 12, 7))))

    assert "Produced on Thursday 3 December 2026. Figures as at Monday 7 December 2026." in text
