"""The command line: clear errors, refusals, the tracker's JSON shape, and the cycle commands."""
import json
import os
import re
import subprocess
import sys
from datetime import date
from importlib import metadata
from pathlib import Path

import pytest
from conftest import QA_MANAGER
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker
from typer.testing import CliRunner

from auditcycle.cli import app, commands  # noqa: F401  (registers every command)
from auditcycle.core.settings import get_settings
from auditcycle.models import Audit, Child, Meeting, OutboxMessage, PhaseRun, Staff
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
    for kind in ("audits", "actions", "meetings", "responses", "moderations", "messages", "questionnaires"):
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


def test_ask_good_practice_mails_each_service_manager_once_and_says_who_was_not_asked(authority, app_env) -> None:
    first = invoke("ask-good-practice", "2027-01", "--by", QA_MANAGER, "--now", "2026-12-01T09:00")
    again = invoke("ask-good-practice", "2027-01", "--by", QA_MANAGER, "--now", "2026-12-02T09:00")
    late = invoke("ask-good-practice", "2027-01", "--by", QA_MANAGER, "--now", "2026-12-19T09:00")

    said, said_again = " ".join(first.output.split()), " ".join(again.output.split())
    assert first.exit_code == 0, first.output
    assert ("Asked 4 service managers for an example of good practice for January 2027, by 17:00 on Friday 18 "
            "December 2026.") in said
    assert ("Not asked: Quality Assurance & Practice Improvement (no children on its caseload); Safeguarding & "
            "Review Unit (no children on its caseload).") in said
    assert again.exit_code == 0 and "Asked 0 service managers" in said_again
    assert "4 had already been asked, and were not asked again." in said_again
    assert late.exit_code == 1 and "too late to ask" in late.output
    with sessionmaker(bind=authority)() as s:
        assert s.scalar(select(func.count()).select_from(OutboxMessage)
                        .where(OutboxMessage.phase == "good-practice")) == 4


def test_nominate_after_the_draw_is_refused(drawn) -> None:
    with sessionmaker(bind=drawn)() as s:
        child = s.scalars(select(Child).where(Child.key_worker_id.is_not(None)).order_by(Child.id)).first()
        manager = s.scalars(select(Staff.id).where(Staff.role == Role.SERVICE_MANAGER, Staff.active,
                                                   Staff.service_id == child.team.service_id)).first()
        child = child.id

    result = invoke("nominate", child, "--by", manager, "--month", "2026-12", "--reason", "Clear planning")

    assert result.exit_code == 1 and "already been drawn" in result.output


def test_unknown_staff_id_is_named(drawn) -> None:
    result = invoke("withdraw", "A-2026-12-001", "--by", "NOBODY", "--reason", "x")
    assert result.exit_code == 1 and "NOBODY" in result.output and "no member of staff" in result.output


def test_withdraw_and_reschedule_through_the_cli(drawn) -> None:
    qa = _staff(drawn, Role.QA_MANAGER)
    assert invoke("run", "notify", "--by", QA_MANAGER, "--month", "2026-12", "--now", "2026-11-24T12:00").exit_code == 0
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

    stored = invoke("report", "notes", str(notes), "--month", "2026-12", "--by", QA_MANAGER)
    published = invoke("run", "report", "--by", QA_MANAGER, "--month", "2026-12", "--now", "2026-12-02T10:00")

    assert stored.exit_code == 0, stored.output
    assert published.exit_code == 0, published.output
    html = (Path("reports") / "2026-12" / "report.html").read_text()
    assert "<strong>clear</strong>" in html
    assert "<script>alert" not in html and "&lt;script&gt;" in html
    assert "PROVISIONAL" in html  # moderation has not closed


def test_report_summary_drafted_then_replaced_by_the_qa_manager_credited_in_the_trail(drawn, tmp_path) -> None:
    from pathlib import Path

    from auditcycle.models import AuditCycle, TrailEntry

    drafted = invoke("report", "summary", "--month", "2026-12", "--now", "2026-12-02T10:00")
    mine = tmp_path / "summary.md"
    mine.write_text("December's audits show **steady** practice; supervision is the theme to watch.\n")
    stored = invoke("report", "summary", str(mine), "--month", "2026-12", "--by", QA_MANAGER)
    published = invoke("run", "report", "--by", QA_MANAGER, "--month", "2026-12", "--now", "2026-12-02T10:00")

    assert drafted.exit_code == 0, drafted.output
    assert "In December 2026, none of the" in drafted.output and "Drafted from this month's figures." in drafted.output
    assert stored.exit_code == 0, stored.output
    assert published.exit_code == 0, published.output
    html = (Path("reports") / "2026-12" / "report.html").read_text()
    assert "December's audits show <strong>steady</strong> practice" in html
    assert "In December 2026, none of the" not in html
    with sessionmaker(bind=drawn)() as s:
        qa_name = s.get(Staff, QA_MANAGER).name
        cycle = s.scalars(select(AuditCycle).where(AuditCycle.month == "2026-12")).one()
        trail = s.scalars(select(TrailEntry).where(TrailEntry.entity == "audit_cycle",
                                                   TrailEntry.entity_id == str(cycle.id))
                          .order_by(TrailEntry.id.desc())).first()
    assert f"Written by {qa_name} for this report." in html
    # The trail names the long free text changed, without copying it, and who set it.
    assert trail.actor == QA_MANAGER
    assert trail.changes == {"values": {"report_summary_by": [None, QA_MANAGER]}, "withheld": ["report_summary"]}

    restored = invoke("report", "summary", "--month", "2026-12", "--by", QA_MANAGER, "--drafted")
    assert restored.exit_code == 0, restored.output
    with sessionmaker(bind=drawn)() as s:
        cycle = s.scalars(select(AuditCycle).where(AuditCycle.month == "2026-12")).one()
        assert (cycle.report_summary, cycle.report_summary_by) == (None, None)


def test_report_summary_needs_by_and_the_qa_team(drawn, tmp_path) -> None:
    mine = tmp_path / "summary.md"
    mine.write_text("A summary.")
    worker = _staff(drawn, Role.KEY_WORKER)

    anonymous = invoke("report", "summary", str(mine), "--month", "2026-12")
    refused = invoke("report", "summary", str(mine), "--month", "2026-12", "--by", worker)

    assert anonymous.exit_code == 1 and "--by: give your staff id" in anonymous.output
    assert refused.exit_code == 1 and "may not report-summary: only the QA team may" in refused.output


def test_report_notes_need_the_qa_team(drawn, tmp_path) -> None:
    notes = tmp_path / "notes.md"
    notes.write_text("Findings")

    refused = invoke("report", "notes", str(notes), "--month", "2026-12", "--by", _staff(drawn, Role.KEY_WORKER))

    assert refused.exit_code == 1 and "may not report-notes: only the QA team may" in refused.output


def test_report_notes_for_a_month_not_drawn_is_refused(authority, app_env, tmp_path) -> None:
    notes = tmp_path / "notes.md"
    notes.write_text("Findings")
    result = invoke("report", "notes", str(notes), "--month", "2027-05", "--by", QA_MANAGER)
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


def _figures(output: str) -> dict[str, str]:
    """Read a run's printed summary back as {name: figure}, one aligned line each under its title."""
    lines = [line.strip() for line in output.splitlines() if line.startswith("  ")]
    return dict(re.split(r"\s{2,}", line, maxsplit=1) for line in lines)


def test_run_names_each_figure_and_the_mail_adds_up(drawn) -> None:
    result = invoke("run", "notify", "--by", QA_MANAGER, "--month", "2026-12", "--now", "2026-11-24T12:00")

    assert result.exit_code == 0, result.output
    with sessionmaker(bind=drawn)() as s:
        notices = s.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.phase == "notify"))
    assert result.stdout.splitlines()[0] == "notify 2026-12"
    assert _figures(result.stdout) == {
        "notices queued": str(notices), "mail": f"{notices} due: sent {notices}, to retry 0, held 0, failed 0"}
    assert "{" not in result.stdout


def test_run_sample_names_what_was_drawn(authority, app_env, prefect_harness) -> None:
    result = invoke("run", "sample", "--by", QA_MANAGER, "--month", "2026-12", "--now", "2026-11-23T09:00",
                    "--seed", "4")

    assert result.exit_code == 0, result.output
    with sessionmaker(bind=authority)() as s:
        drawn = s.scalar(select(func.count()).select_from(Audit))
    figures = _figures(result.stdout)
    assert (figures["audits drawn"], figures["drawn by this run"], figures["seed (to reproduce the draw)"]) == (
        str(drawn), "yes", "4")


def test_run_with_json_prints_the_flows_summary_exactly(drawn) -> None:
    result = invoke("run", "notify", "--by", QA_MANAGER, "--month", "2026-12", "--now", "2026-11-24T12:00", "--json")

    assert result.exit_code == 0, result.output
    with sessionmaker(bind=drawn)() as s:
        stored = s.scalar(select(PhaseRun.summary).where(PhaseRun.phase == "notify"))
    assert json.loads(result.stdout) == stored
    assert stored["delivery"]["sent"] == stored["queued"] > 0


def test_version_is_the_installed_packages() -> None:
    result = invoke("--version")

    assert result.exit_code == 0
    assert result.stdout == f"auditcycle {metadata.version('auditcycle')}\n"


GO_LIVE = {"AUDITCYCLE_MAIL_FROM": "qa-team@haringey.gov.uk", "AUDITCYCLE_SMTP_HOST": "smtp.haringey.gov.uk",
           "AUDITCYCLE_FRAMEWORK__GUIDANCE_URL": "https://intranet.haringey.gov.uk/audit-guidance",
           "AUDITCYCLE_BASE_URL": "https://audits.haringey.gov.uk"}


@pytest.fixture
def shipped_settings(monkeypatch, tmp_path):
    """Settings as a fresh install has them: no auditcycle.toml, no AUDITCYCLE_* variable set."""
    monkeypatch.chdir(tmp_path)
    for name in [n for n in os.environ if n.startswith("AUDITCYCLE_")]:
        monkeypatch.delenv(name)
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


def test_check_config_names_every_placeholder_and_fails(shipped_settings) -> None:
    result = invoke("check-config")

    assert result.exit_code == 1
    assert "mail_from = qa-team@example.org" in result.stdout
    assert "framework.guidance_url = https://example.org/auditcycle/audit-guidance" in result.stdout
    assert " ".join(result.stderr.split()) == (
        "error: still placeholders: mail_from, smtp_host, framework.guidance_url, "
        "base_url; "
        "set them in auditcycle.toml or the environment before the first real month")


def test_check_config_names_only_what_is_left(shipped_settings) -> None:
    shipped_settings.setenv("AUDITCYCLE_MAIL_FROM", GO_LIVE["AUDITCYCLE_MAIL_FROM"])
    shipped_settings.setenv("AUDITCYCLE_FRAMEWORK__GUIDANCE_URL", "https://guidance.council.example/audits")

    result = invoke("check-config")

    assert result.exit_code == 1
    assert "still placeholders: smtp_host, framework.guidance_url, base_url;" in result.stderr


def test_check_config_passes_once_every_setting_is_set(shipped_settings) -> None:
    for name, value in GO_LIVE.items():
        shipped_settings.setenv(name, value)

    result = invoke("check-config")

    assert result.exit_code == 0, result.output
    assert "placeholder" not in result.stdout and result.stdout.endswith("Every go-live setting is set.\n")


def test_a_normal_run_prints_its_summary_and_nothing_of_prefects(authority, app_env, tmp_path) -> None:
    # As a council's operator runs it: no Prefect API configured, so a temporary server, and no log settings.
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect"), "AUDITCYCLE_DATABASE_URL": app_env}
    for name in ("PREFECT_API_URL", "PREFECT_LOGGING_LEVEL", "PREFECT_SERVER_LOGGING_LEVEL"):
        env.pop(name, None)

    done = subprocess.run([str(Path(sys.executable).parent / "auditcycle"), "run", "chase", "--by", QA_MANAGER,
                           "--month", "2026-12", "--now", "2026-12-07T09:00"], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)

    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.splitlines()[0] == "chase 2026-12"
    assert _figures(done.stdout)["mail"] == "0 due: sent 0, to retry 0, held 0, failed 0"
JULY = "2026-07"


@pytest.fixture
def july(authority, app_env):
    """July as the QA manager sees it: a form moderated and changed, one awaiting the panel, one late."""
    from forms import valid_form

    from auditcycle.core.clock import Month
    from auditcycle.core.context import build_context
    from auditcycle.models import AuditCycle
    from auditcycle.moderation.panel import record_moderation, select_for_moderation
    from auditcycle.sampling.cycle import draw
    from auditcycle.submissions.submit import submit

    def submit_at(audit: Audit, now: str, overall: str) -> None:
        today = date.fromisoformat(now[:10])
        submit(s, build_context(now), reference=audit.reference, by=audit.auditor_id,
               data=valid_form(audit.auditor_id, today=today, overall=overall, grade=overall))
        s.commit()

    with sessionmaker(bind=authority)() as s:
        draw(s, build_context("2026-06-22T09:00"), month=Month(2026, 7), size=3, seed=4)
        s.commit()
        audits = list(s.scalars(select(Audit).order_by(Audit.id)))
        # 10:00 in London is 09:00 UTC in July: the tracker shows the local time.
        submit_at(audits[0], "2026-07-14T10:00", "good")
        submit_at(audits[1], "2026-07-14T10:00", "inadequate")
        select_for_moderation(s, build_context("2026-08-03T09:00"), cycle=s.scalar(select(AuditCycle)))
        s.commit()
        submit_at(audits[2], "2026-08-04T11:30", "requires_improvement")  # after the selection: not selected
        psw = s.scalar(select(Staff.id).where(Staff.role == Role.PRINCIPAL_SOCIAL_WORKER).order_by(Staff.id))
        record_moderation(s, build_context("2026-08-05T14:00"), reference=audits[0].reference, by=psw,
                          grade="requires_improvement", domains={}, note="The record supports a lower grade.")
        s.commit()
        return [(a.reference, a.auditor_id, a.auditor.name, a.child_id) for a in audits]


def _tracked(*args: str) -> list[tuple]:
    result = invoke("list", "audits", "--month", JULY, "--json", *args)
    assert result.exit_code == 0, result.output
    fields = ("reference", "auditor_id", "auditor_name", "submitted_at", "submitted_grade", "final_grade",
              "moderation", "age_days")
    return [tuple(item[f] for f in fields) for item in json.loads(result.output)["items"]]


def test_list_audits_json_gives_grades_moderation_age_names_and_local_times(july) -> None:
    during = _tracked("--now", "2026-08-07T09:00")
    after = _tracked("--now", "2026-08-17T09:00")  # moderation closed on Friday 14 August

    (one, one_id, one_name, _), (two, two_id, two_name, _), (three, three_id, three_name, _) = july
    assert during == [
        (one, one_id, one_name, "2026-07-14T10:00:00+01:00", "good", "requires_improvement", "changed", 46),
        (two, two_id, two_name, "2026-07-14T10:00:00+01:00", "inadequate", None, "pending", 46),
        # Not selected, but moderation is still open: the grade is not final yet.
        (three, three_id, three_name, "2026-08-04T11:30:00+01:00", "requires_improvement", None, None, 46),
    ]
    assert [row[4:] for row in after] == [
        ("good", "requires_improvement", "changed", 56), ("inadequate", None, "pending", 56),
        ("requires_improvement", "requires_improvement", "not_selected", 56)]


def test_list_audits_table_fits_80_columns_with_names_beside_ids(july) -> None:
    result = runner.invoke(app, ["list", "audits", "--month", JULY, "--now", "2026-08-17T09:00"],
                           env={"COLUMNS": "80"})

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert max(len(line) for line in lines) <= 80, result.output
    (one, one_id, one_name, child), (two, *_), _ = july
    start = next(n for n, line in enumerate(lines) if one in line)
    record = lines[start:next(n for n, line in enumerate(lines) if two in line)]
    # The auditor's name sits in the id's cell, wrapped under it when the line is short.
    assert child in record[0] and one_id in record[0] and all(part in "\n".join(record) for part in one_name.split())
    assert "14 Jul" in record[0] and "10:00" in record[1] and "due 31 Jul" in record[2]
    for shown in ("good →", "improvement", "(not final)", "pending", "selected", "56d"):
        assert shown in result.output, shown


def test_supervision_gap_confirm_names_the_response_and_dismiss_keeps_the_reason(authority, app_env,
                                                                                 prefect_harness) -> None:
    from sqlalchemy import update

    from auditcycle.models import Audit, Child, ImmediateResponse, SupervisionGap

    with sessionmaker(bind=authority).begin() as s:
        s.execute(update(Child).values(last_supervision_date=None))
    sampled = invoke("run", "sample", "--by", QA_MANAGER, "--month", "2026-12", "--now", "2026-11-23T09:00",
                     "--seed", "4", "--size", "2")
    with sessionmaker(bind=authority)() as s:
        first, second = s.execute(select(Audit.reference, Audit.auditor_id).order_by(Audit.id)).all()

    confirmed = invoke("supervision-gap", first[0], "confirm", "--reason", "Nothing on file", "--by", first[1],
                       "--now", "2026-11-24T10:00")
    dismissed = invoke("supervision-gap", second[0], "dismiss", "--reason", "On the team log", "--by", second[1],
                       "--now", "2026-11-24T10:00")
    unsure = invoke("supervision-gap", second[0], "maybe", "--reason", "x", "--by", second[1])

    assert sampled.exit_code == 0 and "supervision gaps for the auditor to check 2" in " ".join(
        sampled.output.split()), sampled.output
    assert confirmed.exit_code == 0, confirmed.output
    assert (f"IR-{first[0]}-1 raised, the service manager must respond by Wed 25 Nov 2026 10:00"
            in " ".join(confirmed.output.split()))
    assert dismissed.exit_code == 0 and "dismissed" in dismissed.output
    assert unsure.exit_code == 1 and "DECISION 'maybe': say confirm or dismiss" in unsure.output
    with sessionmaker(bind=authority)() as s:
        assert s.scalar(select(func.count()).select_from(ImmediateResponse)) == 1
        assert s.scalar(select(SupervisionGap.reason).where(SupervisionGap.status == "dismissed")) == "On the team log"


def test_mad_approve_keeps_a_summary_edited_on_the_command_line(authority, app_env) -> None:
    from datetime import UTC, datetime

    from auditcycle.models import MakeADifference

    at = datetime(2027, 1, 18, 9, 0, tzinfo=UTC)
    with sessionmaker(bind=authority).begin() as s:
        s.add(MakeADifference(reference="MAD-TEST-1", kind="summary", status="draft", summary="", created_at=at,
                              recorded_at=at))

    result = invoke("mad", "approve", "MAD-TEST-1", "--by", QA_MANAGER, "--summary", "Z. leads their reviews.",
                    "--now", "2027-01-19T10:00")

    assert result.exit_code == 0, result.output
    with sessionmaker(bind=authority)() as s:
        mad = s.scalar(select(MakeADifference).where(MakeADifference.reference == "MAD-TEST-1"))
        assert (mad.status, mad.summary, mad.approved_by_id) == ("approved", "Z. leads their reviews.", QA_MANAGER)
