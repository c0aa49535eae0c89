"""The command line: clear errors, refusals, the tracker's JSON shape, and the cycle commands."""
import json

import pytest
from conftest import QA_MANAGER
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker
from typer.testing import CliRunner

from auditcycle.cli import app, commands  # noqa: F401  (registers every command)
from auditcycle.models import Audit, Child, Meeting, Staff
from auditcycle.models.enums import AuditStatus, MeetingStatus, Role

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args))


def _staff(engine, role: Role) -> str:
    with sessionmaker(bind=engine)() as s:
        return s.scalars(select(Staff.id).where(Staff.role == role).order_by(Staff.id)).first()


@pytest.fixture
def drawn(authority, app_env, prefect_harness):
    result = invoke("run", "sample", "--by", QA_MANAGER, "--month", "2026-12", "--now", "2026-11-23T09:00", "--seed", "4")
    assert result.exit_code == 0, result.output
    return authority


def test_list_json_has_a_stable_shape_when_empty(app_env) -> None:
    for kind in ("audits", "actions", "meetings", "responses", "moderations", "messages"):
        result = invoke("list", kind, "--json", "--month", "2026-12")
        assert result.exit_code == 0, result.output
        assert json.loads(result.output) == {"kind": kind, "month": "2026-12", "items": []}


def test_bad_month_and_bad_clock_say_what_to_fix(app_env) -> None:
    bad_month = invoke("list", "audits", "--month", "2026-13")
    short_month = invoke("run", "sample", "--by", QA_MANAGER, "--month", "2026-1")
    spring_gap = invoke("list", "audits", "--now", "2026-03-29T01:30")

    # A malformed --month is a usage error, refused by the command line before anything runs.
    assert bad_month.exit_code == 2 and "YYYY-MM" in bad_month.output
    assert short_month.exit_code == 2 and "'2026-1' is not a month in the form YYYY-MM" in short_month.output
    assert spring_gap.exit_code == 1 and "does not exist in Europe/London" in spring_gap.output


def test_run_sample_then_list_audits_as_json(drawn) -> None:
    result = invoke("list", "audits", "--month", "2026-12", "--json")

    items = json.loads(result.output)["items"]
    with sessionmaker(bind=drawn)() as s:
        refs = list(s.scalars(select(Audit.reference).order_by(Audit.id)))
    assert [i["reference"] for i in items] == refs
    assert {i["status"] for i in items} == {"allocated"}
    assert set(items[0]) >= {"reference", "status", "child_id", "auditor_id", "due_date", "kind"}


def test_replace_by_a_key_worker_is_refused_with_who_may(drawn) -> None:
    worker = _staff(drawn, Role.KEY_WORKER)

    result = invoke("replace", "A-2026-12-001", "--by", worker, "--reason", "x")

    assert result.exit_code == 1
    assert "may not replace: only the QA team may" in result.output


def test_replace_by_the_qa_manager_redraws(drawn) -> None:
    qa = _staff(drawn, Role.QA_MANAGER)

    result = invoke("replace", "A-2026-12-001", "--by", qa, "--reason", "Case closed", "--now", "2026-11-23T12:00")

    assert result.exit_code == 0, result.output
    with sessionmaker(bind=drawn)() as s:
        old = s.scalar(select(Audit).where(Audit.reference == "A-2026-12-001"))
        assert old.status == AuditStatus.REPLACED
        assert s.scalar(select(Audit).where(Audit.replaces_id == old.id)) is not None


def test_nominate_after_the_draw_is_refused(drawn) -> None:
    manager = _staff(drawn, Role.SERVICE_MANAGER)
    with sessionmaker(bind=drawn)() as s:
        child = s.scalars(select(Child.id)).first()

    result = invoke("nominate", child, "--by", manager, "--month", "2026-12")

    assert result.exit_code == 1 and "already been drawn" in result.output


def test_unknown_staff_id_is_named(drawn) -> None:
    result = invoke("withdraw", "A-2026-12-001", "--by", "NOBODY", "--reason", "x")
    assert result.exit_code == 1 and "NOBODY" in result.output and "no member of staff" in result.output


def test_withdraw_and_reschedule_through_the_cli(drawn) -> None:
    qa = _staff(drawn, Role.QA_MANAGER)
    assert invoke("run", "notify", "--by", QA_MANAGER, "--month", "2026-12", "--now", "2026-11-24T09:00").exit_code == 0
    assert invoke("run", "book", "--by", QA_MANAGER, "--month", "2026-12", "--now", "2026-11-25T09:00").exit_code == 0
    with sessionmaker(bind=drawn)() as s:
        meeting = s.scalars(select(Meeting).order_by(Meeting.id)).first()
        other = s.scalars(select(Audit).where(Audit.id != meeting.audit_id).order_by(Audit.id)).first()

    moved = invoke("reschedule", meeting.reference, "--by", qa, "--now", "2026-11-26T09:00")
    withdrawn = invoke("withdraw", other.reference, "--by", qa, "--reason", "Moved out of area",
                       "--now", "2026-11-26T09:00")

    assert moved.exit_code == 0, moved.output
    assert withdrawn.exit_code == 0, withdrawn.output
    with sessionmaker(bind=drawn)() as s:
        assert s.get(Meeting, meeting.id).sequence == 1
        assert s.get(Audit, other.id).status == AuditStatus.WITHDRAWN
        assert {m.status for m in s.scalars(select(Meeting).where(Meeting.audit_id == other.id))} <= {
            MeetingStatus.CANCELLED}


def test_report_notes_are_rendered_from_markdown_with_html_escaped(drawn, tmp_path) -> None:
    from pathlib import Path

    notes = tmp_path / "notes.md"
    notes.write_text("## Findings\n\nChildren's voices were **clear**.\n\n<script>alert('x')</script>\n")

    stored = invoke("report", "notes", str(notes), "--month", "2026-12")
    published = invoke("run", "report", "--by", QA_MANAGER, "--month", "2026-12", "--now", "2026-12-02T10:00")

    assert stored.exit_code == 0, stored.output
    assert published.exit_code == 0, published.output
    html = (Path("reports") / "2026-12" / "report.html").read_text()
    assert "<strong>clear</strong>" in html
    assert "<script>alert" not in html and "&lt;script&gt;" in html
    assert "PROVISIONAL" in html  # moderation has not closed


def test_report_notes_for_a_month_not_drawn_is_refused(app_env, tmp_path) -> None:
    notes = tmp_path / "notes.md"
    notes.write_text("Findings")
    result = invoke("report", "notes", str(notes), "--month", "2027-05")
    assert result.exit_code == 1 and "no sample has been drawn for 2027-05" in result.output


def test_run_sample_with_a_theme_stores_it_and_gives_prefect_only_its_reference(
        authority, app_env, prefect_harness) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName

    from auditcycle.models import AuditCycle, DrawRequest, PhaseRun
    from auditcycle.models.enums import CycleKind

    theme = "Voice of the child: Tobiah Wrenfield-Ashcombe"

    result = invoke("run", "sample", "--by", QA_MANAGER, "--month", "2026-12", "--now", "2026-11-23T09:00",
                    "--seed", "4", "--theme", theme)

    assert result.exit_code == 0, result.output
    with sessionmaker(bind=authority)() as s:
        cycle = s.scalar(select(AuditCycle).where(AuditCycle.month == "2026-12"))
        request = s.scalar(select(DrawRequest).where(DrawRequest.cycle_id == cycle.id))
        flow_run_id = s.scalar(select(PhaseRun.flow_run_id).where(PhaseRun.phase == "sample"))
    assert (cycle.theme, request.kind, request.theme, request.requested_by_id) == (
        theme, CycleKind.MONTHLY, theme, QA_MANAGER)
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(flow_filter=FlowFilter(name=FlowFilterName(any_=["sample"])))
    assert {str(r.id): r.parameters for r in runs}[flow_run_id]["request"] == f"REQ-{request.id}"
    assert "Wrenfield" not in json.dumps([r.parameters for r in runs])


def test_run_sample_with_a_two_line_theme_is_refused_before_prefect(authority, app_env) -> None:
    result = invoke("run", "sample", "--by", QA_MANAGER, "--month", "2026-12", "--now", "2026-11-23T09:00",
                    "--theme", "Voice of\nthe child")

    assert result.exit_code == 1
    assert "--theme contains a line break" in result.output
