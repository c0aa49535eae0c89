"""The QA manager's notes: checked whole, stored on the month's cycle, refused plainly when they cannot be."""
from pathlib import Path

import factories as make
import pytest

from auditcycle.core.clock import Month
from auditcycle.core.errors import PermissionDenied, UserError
from auditcycle.models.enums import Role
from auditcycle.report.notes import MAX_SUMMARY_CHARACTERS, check_notes, read_notes, store_notes, store_summary


def test_notes_with_a_control_character_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "notes.md"
    path.write_text("# Findings\n\nGood\x00 work\n", encoding="utf-8")

    with pytest.raises(UserError) as refused:
        read_notes(path)

    assert str(refused.value) == ("notes.md line 3: contains a control character such as NUL; "
                                  "only text, line breaks and tabs are allowed")


def test_notes_with_a_bidirectional_control_name_the_line_and_keep_invisible_characters() -> None:
    # Free text keeps tabs, CRs and joiners (a family emoji is three characters joined by U+200D).
    assert check_notes("# Findings\r\n\tfamily \U0001F469\u200d\U0001F467\n", source="notes.md")

    with pytest.raises(UserError) as refused:
        check_notes("# Findings\n\nThe team \u202edeggolnu\u202c\n", source="notes.md")

    assert str(refused.value).startswith("notes.md line 3: contains a bidirectional control character (U+202E ")


def test_notes_over_the_limit_are_refused() -> None:
    with pytest.raises(UserError, match="100,001 characters; the notes are at most 100,000"):
        check_notes("x" * 100_001, source="notes.md")


def test_notes_for_a_month_not_drawn_change_nothing(session) -> None:
    qa = make.staff(session, role=Role.QA_MANAGER, in_team=make.team(session))

    with pytest.raises(UserError, match="no sample has been drawn for 2026-12"):
        store_notes(session, month=Month(2026, 12), text="# Findings", by=qa.id)


def test_notes_refused_to_someone_outside_the_qa_team(session) -> None:
    worker = make.staff(session, role=Role.KEY_WORKER, in_team=make.team(session))

    with pytest.raises(PermissionDenied, match="may not report-notes: only the QA team may"):
        store_notes(session, month=Month(2026, 12), text="# Findings", by=worker.id)


def test_summary_refused_to_someone_outside_the_qa_team(session) -> None:
    worker = make.staff(session, role=Role.KEY_WORKER, in_team=make.team(session))

    with pytest.raises(PermissionDenied, match="may not report-summary: only the QA team may"):
        store_summary(session, month=Month(2026, 12), text="A summary", by=worker.id)


def test_summary_for_a_month_not_drawn_changes_nothing(session) -> None:
    qa = make.staff(session, role=Role.QA_MANAGER, in_team=make.team(session))

    with pytest.raises(UserError, match="no sample has been drawn for 2026-12: there is no report to add a summary"):
        store_summary(session, month=Month(2026, 12), text="A summary", by=qa.id)


def test_summary_over_its_limit_is_refused() -> None:
    with pytest.raises(UserError, match="3,001 characters; the summary is at most 3,000"):
        check_notes("x" * 3_001, source="summary.md", limit=MAX_SUMMARY_CHARACTERS, what="the summary is")
