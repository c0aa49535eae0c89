"""The case-note export: one file per child, grade labels, actions, moderation, and no child's name."""
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from conftest import PLANTED
from factories import context_at
from sqlalchemy import select, update

from auditcycle.core.clock import Month
from auditcycle.core.context import build_context
from auditcycle.core.errors import UserError
from auditcycle.core.settings import DEFAULT_DOMAINS, Settings
from auditcycle.models import Action, Audit, Child, DomainGrade, Moderation, Staff, Submission
from auditcycle.models.enums import ActionStatus, AuditStatus, ModerationStatus, Role
from auditcycle.people.cases import case_of
from auditcycle.sampling.cycle import draw
from auditcycle.submissions.case_notes import export_case_notes, note_filename

DEC = Month(2026, 12)
SETTINGS = Settings(database_url="sqlite://")
WHEN = datetime(2026, 12, 15, 10, tzinfo=UTC)


@pytest.fixture
def ctx():
    return context_at("2027-01-20T09:00", SETTINGS)


@pytest.fixture
def audits(s) -> list[Audit]:
    """Three December audits, none finalised yet, their children with no IRO or CP chair."""
    draw(s, build_context("2026-11-23T09:00", settings=SETTINGS), month=DEC, size=3, seed=21)
    drawn = list(s.scalars(select(Audit).order_by(Audit.id)))
    s.execute(update(Child).where(Child.id.in_([a.child_id for a in drawn])).values(iro_id=None, cp_chair_id=None))
    s.execute(update(Audit).values(status=AuditStatus.NOTIFIED))
    s.commit()
    return drawn


def _staff(s, role: Role) -> Staff:
    return s.scalars(select(Staff).where(Staff.role == role).order_by(Staff.id)).first()


def _complete(s, audit: Audit, *, overall: str = "requires_improvement", grades: dict[str, str] | None = None,
              actions: list[tuple[str, date]] = ()) -> Submission:
    grades = grades or {slug: "good" for slug in DEFAULT_DOMAINS}
    submission = Submission(audit_id=audit.id, submitted_by_id=audit.auditor_id, overall=overall,
                            submitted_at=WHEN, recorded_at=WHEN)
    s.add(submission)
    s.flush()
    s.add_all(DomainGrade(submission_id=submission.id, domain=d, grade=g) for d, g in grades.items())
    owner = audit.child.key_worker
    for i, (description, due) in enumerate(actions, start=1):
        s.add(Action(reference=f"{audit.reference}-A{i}", audit_id=audit.id, description=description,
                     owner_id=owner.id, due_date=due, status=ActionStatus.OPEN, created_at=WHEN, recorded_at=WHEN))
    audit.status = AuditStatus.COMPLETED
    s.commit()
    return submission


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def test_export_case_notes_writes_one_file_per_finalised_child_named_by_case_id(s, ctx, audits,
                                                                                tmp_path: Path) -> None:
    first, second, open_audit = audits
    _complete(s, first)
    _complete(s, second)

    paths = export_case_notes(s, ctx, month="2026-12", folder=tmp_path / "notes")

    assert paths == sorted(tmp_path / "notes" / f"{a.child_id}.txt" for a in (first, second))
    assert open_audit.child_id not in {p.stem for p in paths}


def test_case_note_has_grade_labels_in_domain_order_and_action_due_dates(s, ctx, audits, tmp_path: Path) -> None:
    audit = audits[0]
    grades = dict.fromkeys(DEFAULT_DOMAINS, "good") | {"assessment": "inadequate", "impact_outcomes": "outstanding"}
    _complete(s, audit, grades=grades, actions=[("Update the chronology.", date(2027, 1, 15)),
                                                ("Hold a core group.", date(2027, 1, 8))])

    [path] = export_case_notes(s, ctx, month="2026-12", folder=tmp_path / "notes")

    text = _read(path)
    owner = audit.child.key_worker.name
    lines = text.splitlines()
    start = lines.index("Domain grades:") + 1
    domain_lines = lines[start: lines.index("", start)]
    expected_domains = [f"- {label}: {SETTINGS.framework.grades[grades[slug]]}"
                        for slug, label in DEFAULT_DOMAINS.items()]
    assert domain_lines == expected_domains
    assert "Overall grade: Requires improvement to be good" in text.splitlines()
    assert f"Audit case note: {audit.reference}" in text and f"Case: {audit.child_id}" in text
    assert "Audit month: December 2026" in text and f"Auditor: {audit.auditor.name}" in text
    assert [line for line in text.splitlines() if line.startswith(f"- {audit.reference}-A")] == [
        f"- {audit.reference}-A2: Hold a core group. Owner: {owner}. Due by 17:00 on Friday 8 January 2027.",
        f"- {audit.reference}-A1: Update the chronology. Owner: {owner}. Due by 17:00 on Friday 15 January 2027.",
    ]
    assert "Moderation: not moderated." in text
    assert f"{owner} (allocated key worker) can expect a discussion of this audit" in text
    assert "next supervision session" in text
    assert "Copied for information" not in text


def test_case_note_shows_the_moderated_grade_when_changed(s, ctx, audits, tmp_path: Path) -> None:
    changed, agreed = audits[0], audits[1]
    _complete(s, changed, overall="requires_improvement")
    _complete(s, agreed, overall="good")
    s.add_all([
        Moderation(audit_id=changed.id, reason="random", status=ModerationStatus.CHANGED,
                   original_overall="requires_improvement", moderated_overall="good", selected_at=WHEN,
                   decided_at=datetime(2027, 1, 12, 11, tzinfo=UTC)),
        Moderation(audit_id=agreed.id, reason="random", status=ModerationStatus.AGREED,
                   original_overall="good", moderated_overall="good", selected_at=WHEN,
                   decided_at=datetime(2027, 1, 12, 11, tzinfo=UTC)),
    ])
    s.commit()

    export_case_notes(s, ctx, month="2026-12", folder=tmp_path / "notes")

    changed_text, agreed_text = (_read(tmp_path / "notes" / f"{a.child_id}.txt") for a in (changed, agreed))
    assert "Overall grade: Good" in changed_text.splitlines()
    assert ("Moderation: moderated on Tuesday 12 January 2027; the overall grade was changed from "
            "Requires improvement to be good to Good.") in changed_text
    assert "Moderation: moderated on Tuesday 12 January 2027; the grade was agreed." in agreed_text


def test_case_note_copies_the_iro_and_cp_chair_where_the_child_has_one(s, ctx, audits, tmp_path: Path) -> None:
    audit = audits[0]
    iro, chair = _staff(s, Role.IRO), _staff(s, Role.CP_CHAIR)
    s.execute(update(Child).where(Child.id == audit.child_id).values(iro_id=iro.id, cp_chair_id=chair.id))
    s.commit()
    _complete(s, audit)

    [path] = export_case_notes(s, ctx, month="2026-12", folder=tmp_path / "notes")

    assert f"Copied for information and follow-up: {iro.name} (IRO) and {chair.name} (CP chair)." \
        in _read(path).splitlines()


def test_case_note_holds_both_audits_of_a_child_in_one_file(s, ctx, audits, tmp_path: Path) -> None:
    first = audits[0]
    again = Audit(reference=f"{first.reference}-X", cycle_id=first.cycle_id, child_id=first.child_id,
                  auditor_id=audits[1].auditor_id, kind=first.kind, status=AuditStatus.NOTIFIED,
                  due_date=first.due_date, created_at=WHEN)
    case_of(s, first.child_id).record_on(again)  # as the draw does
    s.add(again)
    s.commit()
    _complete(s, first, overall="good")
    _complete(s, again, overall="inadequate")

    paths = export_case_notes(s, ctx, month="2026-12", folder=tmp_path / "notes")

    assert paths == [tmp_path / "notes" / f"{first.child_id}.txt"]
    headings = [line for line in _read(paths[0]).splitlines() if line.startswith("Audit case note: ")]
    assert headings == [f"Audit case note: {first.reference}", f"Audit case note: {again.reference}"]


def test_case_notes_name_no_child_and_give_no_date_of_birth(s, ctx, audits, tmp_path: Path) -> None:
    for audit in audits:
        _complete(s, audit, actions=[("Review the plan.", date(2027, 1, 29))])

    paths = export_case_notes(s, ctx, month="2026-12", folder=tmp_path / "notes")

    assert len(paths) == 3
    text = "\n".join(_read(p) for p in paths)
    planted = [PLANTED["child_first"], PLANTED["child_last"], PLANTED["dob"], "17/02/2013", "17 February 2013",
               PLANTED["contact_name"], PLANTED["phone"]]
    assert [value for value in planted if value in text] == []


def test_export_case_notes_leaves_no_temp_files_and_rewrites_whole(s, ctx, audits, tmp_path: Path) -> None:
    _complete(s, audits[0])
    _complete(s, audits[1])
    notes = tmp_path / "notes"
    notes.mkdir()
    stale = notes / f"{audits[0].child_id}.txt"
    stale.write_text("a half-written note from an earlier run", encoding="utf-8")

    first = export_case_notes(s, ctx, month="2026-12", folder=tmp_path / "notes")
    contents = [_read(p) for p in first]
    second = export_case_notes(s, ctx, month="2026-12", folder=tmp_path / "notes")

    assert sorted(notes.iterdir()) == first == second
    assert [_read(p) for p in second] == contents
    assert "half-written" not in _read(stale)


def test_export_case_notes_failing_to_replace_leaves_no_temp_file(s, ctx, audits, tmp_path: Path) -> None:
    _complete(s, audits[0])
    # A directory where the note should go makes os.replace fail, as a full or read-only disk would.
    notes = tmp_path / "notes"
    blocked = notes / f"{audits[0].child_id}.txt"
    blocked.mkdir(parents=True)

    with pytest.raises(OSError):
        export_case_notes(s, ctx, month="2026-12", folder=tmp_path / "notes")

    assert list(notes.iterdir()) == [blocked] and list(blocked.iterdir()) == []


def test_export_case_notes_with_nothing_finalised_returns_nothing(s, ctx, audits, tmp_path: Path) -> None:
    paths = export_case_notes(s, ctx, month="2026-12", folder=tmp_path / "notes")

    assert paths == [] and not (tmp_path / "notes").exists()


def test_export_case_notes_refuses_a_bad_month(s, ctx, tmp_path: Path) -> None:
    with pytest.raises(UserError, match="YYYY-MM"):
        export_case_notes(s, ctx, month="December", folder=tmp_path / "notes")


@pytest.mark.parametrize(("case_id", "expected"), [
    ("C1001", "C1001.txt"), ("CASE/12\\3", "CASE_12_3.txt"), ("../etc", "_etc.txt"), ("..", "_.txt"),
])
def test_note_filename_keeps_the_case_id_inside_the_folder(case_id: str, expected: str) -> None:
    assert note_filename(case_id) == expected


# --- `auditcycle export case-notes --out`: a folder that can be written, or a clear refusal -------------------

def _export(*args: str):
    from typer.testing import CliRunner

    from auditcycle.cli import app, commands  # noqa: F401  (registers every command)

    return CliRunner().invoke(app, ["export", "case-notes", "--month", "2026-12", "--now", "2027-01-20T09:00", *args])


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*"))


def test_export_case_notes_out_onto_an_existing_file_is_refused_naming_it(s, audits, app_env, tmp_path: Path) -> None:
    _complete(s, audits[0])
    target = tmp_path / "notes.txt"
    target.write_text("keep me")
    before = _files(tmp_path)

    result = _export("--out", str(target))

    assert result.exit_code == 1
    assert result.output == f"error: --out {target}: is a file, not a folder; give a folder to write into\n"
    assert target.read_text() == "keep me" and _files(tmp_path) == before


def test_export_case_notes_out_under_a_file_is_refused_naming_it(s, audits, app_env, tmp_path: Path) -> None:
    _complete(s, audits[0])
    (tmp_path / "notes.txt").write_text("keep me")
    before = _files(tmp_path)

    result = _export("--out", str(tmp_path / "notes.txt" / "december"))

    assert result.exit_code == 1
    assert f"--out {tmp_path / 'notes.txt' / 'december'}: {tmp_path / 'notes.txt'} is a file" in result.output
    assert "Traceback" not in result.output and _files(tmp_path) == before


def test_export_case_notes_out_empty_is_refused(s, audits, app_env, tmp_path: Path) -> None:
    _complete(s, audits[0])
    before = _files(tmp_path)

    result = _export("--out", "")

    assert result.exit_code == 1
    assert result.output == "error: --out is empty: give the folder to write into\n"
    assert _files(tmp_path) == before  # typer would have read "" as ".", the current folder


def test_export_case_notes_out_where_nothing_can_be_written_is_refused(s, audits, app_env) -> None:
    _complete(s, audits[0])

    # /proc takes no new files, even from root, for whom a folder's permission bits are no bar.
    result = _export("--out", "/proc/auditcycle-case-notes")

    assert result.exit_code == 1
    assert result.output == ("error: --out /proc/auditcycle-case-notes: cannot write in /proc; "
                             "give a folder you may write to\n")
    assert not Path("/proc/auditcycle-case-notes").exists()


def test_export_case_notes_out_into_a_new_folder_makes_it(s, audits, app_env, tmp_path: Path) -> None:
    _complete(s, audits[0])

    result = _export("--out", str(tmp_path / "exports" / "december"))

    assert result.exit_code == 0, result.output
    assert [p.name for p in (tmp_path / "exports" / "december").iterdir()] == [f"{audits[0].child_id}.txt"]
