"""The report's PDF: tagged and accessible (PDF/UA-1), no heading stranded at a page foot, WeasyPrint kept quiet."""
import io
import logging
from dataclasses import replace

import pikepdf
import pytest
from test_report import report_data

from auditcycle.report.render import pdf_bytes, render_html

HEADINGS = ("/H1", "/H2", "/H3")


def _kids(element) -> list:
    kids = element.get("/K")
    if kids is None:
        return []
    return [k for k in (kids if isinstance(kids, pikepdf.Array) else [kids]) if isinstance(k, pikepdf.Dictionary)]


def structure(pdf: pikepdf.Pdf) -> list[tuple[str, int | None, pikepdf.Dictionary]]:
    """The structure elements in reading order, each with its tag and the page (0-based) it is on."""
    pages = {page.obj.objgen: n for n, page in enumerate(pdf.pages)}
    found = []

    def walk(element) -> None:
        page = element.get("/Pg")
        found.append((str(element.get("/S")), pages.get(page.objgen) if page is not None else None, element))
        for kid in _kids(element):
            walk(kid)

    for top in _kids(pdf.Root.StructTreeRoot):
        walk(top)
    return found


def stranded_headings(pdf: pikepdf.Pdf) -> list[str]:
    """Headings whose page holds nothing after them: what follows starts on the next page."""
    elements = structure(pdf)
    stranded = []
    for index, (tag, page, element) in enumerate(elements):
        if tag not in HEADINGS:
            continue
        inside = {k.objgen for k in _descendants(element)}  # the heading's own text
        after = next(((t, p) for t, p, e in elements[index + 1:] if e.objgen not in inside and t not in HEADINGS),
                     None)
        if after is not None and after[1] != page:
            stranded.append(f"{tag} on page {page + 1}")
    return stranded


def _descendants(element) -> list:
    found = []
    for kid in _kids(element):
        found += [kid, *_descendants(kid)]
    return found


@pytest.fixture(scope="module")
def report_pdf() -> pikepdf.Pdf:
    return pikepdf.open(io.BytesIO(pdf_bytes(render_html(report_data()))))


def test_pdf_has_a_structure_tree_and_is_marked_tagged(report_pdf: pikepdf.Pdf) -> None:
    assert "/StructTreeRoot" in report_pdf.Root
    assert report_pdf.Root.MarkInfo.Marked is True
    assert [tag for tag, _, _ in structure(report_pdf)][0] == "/Document"


def test_pdf_states_its_language_and_shows_its_title(report_pdf: pikepdf.Pdf) -> None:
    assert str(report_pdf.Root.Lang) == "en-GB"
    assert str(report_pdf.docinfo["/Title"]) == "Quality Assurance report: November 2026"
    assert report_pdf.Root.ViewerPreferences.DisplayDocTitle is True
    with report_pdf.open_metadata() as xmp:
        assert xmp["dc:title"] == "Quality Assurance report: November 2026"
        assert xmp["pdfuaid:part"] == "1"


def test_pdf_headings_are_tagged_in_order(report_pdf: pikepdf.Pdf) -> None:
    tags = [tag for tag, _, _ in structure(report_pdf) if tag in HEADINGS]

    assert tags[0] == "/H1" and tags.count("/H1") == 1
    assert tags.count("/H2") == 11  # Summary, Headline, ... Closing the loop


def test_pdf_tables_have_header_cells(report_pdf: pikepdf.Pdf) -> None:
    elements = structure(report_pdf)
    tables = [e for tag, _, e in elements if tag == "/Table"]

    assert len(tables) >= 10
    for table in tables:
        assert any(str(k.get("/S")) == "/TH" for k in _descendants(table))


def test_pdf_every_chart_has_alternative_text(report_pdf: pikepdf.Pdf) -> None:
    figures = [e for tag, _, e in structure(report_pdf) if tag == "/Figure"]

    assert [str(f.Alt) for f in figures] == [
        "Direction of travel over 12 months: the share of completed audits graded good or better, and the share "
        "graded inadequate", "Grades given in each audit domain, November 2026"]


@pytest.mark.parametrize("quotes", [0, 6, 12])
def test_pdf_no_heading_stranded_at_a_page_foot(quotes: int) -> None:
    # Feedback of different lengths moves every later heading up or down the page.
    data = report_data(family=replace(report_data().family,
                                      quotes=[f"Relative {n}: the worker kept every promise made, visit after "
                                              f"visit, and explained each decision." for n in range(quotes)]))
    pdf = pikepdf.open(io.BytesIO(pdf_bytes(render_html(data))))

    assert len(pdf.pages) >= 5
    assert stranded_headings(pdf) == []


def test_pdf_svg_property_warnings_silenced_others_kept(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="weasyprint"):
        pdf_bytes(render_html(report_data()))
        logging.getLogger("weasyprint").warning("Ignored `%s: %s` at %d:%d, %s.", "colour", "red", 1, 1,
                                                "unknown property")

    messages = [r.getMessage() for r in caplog.records if r.name == "weasyprint"]
    assert [m for m in messages if "unknown property" in m] == ["Ignored `colour: red` at 1:1, unknown property."]
