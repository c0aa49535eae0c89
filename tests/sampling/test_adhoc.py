"""Deep dives and dip samples: drawn, notified and booked at short notice, once, under the monthly rules."""
import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from conftest import PLANTED, PREFECT_HOME
from forms import valid_form
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker
from typer.testing import CliRunner

from auditcycle.booking.meetings import book
from auditcycle.core.clock import Month, localize
from auditcycle.core.context import build_context
from auditcycle.core.errors import PermissionDenied, UserError
from auditcycle.core.settings import DEFAULT_DOMAINS
from auditcycle.models import (
    Audit,
    AuditCycle,
    Child,
    DomainGrade,
    DrawRequest,
    Meeting,
    OutboxMessage,
    PhaseRun,
    Staff,
    Team,
    TrailEntry,
)
from auditcycle.models.enums import AuditKind, AuditStatus, Cohort, CycleKind, MeetingKind, Role
from auditcycle.notices.queue import queue_notices
from auditcycle.notifications.gateway import deliver
from auditcycle.sampling.adhoc import draw_adhoc
from auditcycle.sampling.cycle import draw
from auditcycle.sampling.requests import Asked, store_request
from auditcycle.submissions.forms import FormError
from auditcycle.submissions.submit import submit

NOW = "2026-11-23T09:00"  # a Monday
DUE = date(2026, 12, 4)  # a Friday, nine working days on, in the next month
FOCUS = ("relationship_direct_work", "assessment")  # given out of the framework's order on purpose


def _staff(s, role: Role) -> str:
    return s.scalars(select(Staff.id).where(Staff.role == role).order_by(Staff.id)).first()


def _busiest_team(s, cohort: Cohort) -> str:
    return s.scalar(select(Team.name).join(Child, Child.team_id == Team.id).where(Child.cohort == cohort)
                    .group_by(Team.name).order_by(func.count().desc(), Team.name).limit(1))


def _deep_dive(**changes) -> Asked:
    fields = {"kind": CycleKind.DEEP_DIVE, "theme": "Neglect in child protection plans", "size": 3, "due": DUE,
              "cohort": Cohort.CHILD_PROTECTION, "reason": "Rise in repeat plans"}
    return Asked(**(fields | changes))


def _dip_sample(**changes) -> Asked:
    fields = {"kind": CycleKind.DIP_SAMPLE, "theme": "Direct work", "size": 2, "due": DUE, "domains": FOCUS}
    return Asked(**(fields | changes))


def _draw(s, ctx, asked: Asked, by: str, seed: int | None = None):
    """Store a request as the command does, then draw it."""
    request = store_request(s, ctx, asked=asked, by=by)
    s.commit()
    return draw_adhoc(s, ctx, request=request, seed=seed)


def _run(s, authority, settings, asked: Asked, by: str, now: str = NOW, seed: int | None = 7):
    """Store, draw, notify and book as the command and the flow do, one commit each, then deliver."""
    ctx = build_context(now, settings=settings)
    summary = _draw(s, ctx, asked, by, seed)
    s.commit()
    cycle = s.scalar(select(AuditCycle).where(AuditCycle.reference == summary.cycle))
    queued = queue_notices(s, ctx, cycle=cycle)
    s.commit()
    booked = book(s, ctx, cycle=cycle)
    s.commit()
    deliver(engine=authority, settings=settings)
    return summary, queued, booked


def test_deep_dive_samples_with_the_filters_notifies_and_books_before_the_due_date(
        s, authority, settings, smtp_server) -> None:
    qa = _staff(s, Role.QA_MANAGER)
    team = _busiest_team(s, Cohort.CHILD_PROTECTION)

    summary, queued, booked = _run(s, authority, settings, _deep_dive(team=team), by=qa)

    cycle = s.scalar(select(AuditCycle))
    audits = list(s.scalars(select(Audit).order_by(Audit.id)))
    meetings = list(s.scalars(select(Meeting)))
    starts = {m.starts_at.astimezone(build_context(NOW, settings=settings).tz).date() for m in meetings}
    assert summary.created and summary.cycle == cycle.reference == "DD-2026-12-01"
    assert (cycle.kind, cycle.month, cycle.due_date, cycle.seed) == (CycleKind.DEEP_DIVE, "2026-12", DUE, 7)
    assert (cycle.theme, cycle.cohort_filter, cycle.team_filter) == ("Neglect in child protection plans",
                                                                     Cohort.CHILD_PROTECTION, team)
    assert (cycle.reason, cycle.focus_domains, cycle.created_by_id) == ("Rise in repeat plans", None, qa)
    assert [a.reference for a in audits] == ["DD-2026-12-01-001", "DD-2026-12-01-002", "DD-2026-12-01-003"]
    assert {a.kind for a in audits} == {AuditKind.DEEP_DIVE}
    assert {a.due_date for a in audits} == {DUE}
    assert {a.child.cohort for a in audits} == {Cohort.CHILD_PROTECTION}
    assert {a.child.team.name for a in audits} == {team}
    for audit in audits:
        assert audit.auditor.team_id != audit.child.team_id
        assert audit.auditor_id not in {audit.child.key_worker_id, audit.child.key_worker.manager_id}
    assert queued > 0 and booked.booked == len(meetings) > 0
    # Booked from today, not from the first working day of the month the cycle is filed under.
    assert date(2026, 11, 23) <= min(starts) < date(2026, 12, 1) and max(starts) <= DUE
    assert {a.status for a in audits} == {AuditStatus.BOOKED}
    assert len(smtp_server.received) == s.scalar(select(func.count()).select_from(OutboxMessage)) > 0


def test_a_deep_dive_drawn_at_1358_meets_no_sooner_than_a_working_day_later(
        s, authority, settings, smtp_server) -> None:
    qa = _staff(s, Role.QA_MANAGER)

    _run(s, authority, settings, _deep_dive(), by=qa, now="2026-11-24T13:58")

    meetings = list(s.scalars(select(Meeting)))
    conversations = [m for m in meetings if m.kind == MeetingKind.LEARNING_CONVERSATION]
    ctx = build_context("2026-11-24T13:58", settings=settings)
    # One working day's notice from the invites sent at 13:58 on Tuesday: from 14:00 on Wednesday.
    assert len(conversations) == 3 and {m.booked_at.replace(tzinfo=UTC) for m in meetings} == {ctx.now}
    assert min(m.starts_at for m in conversations) >= localize(datetime(2026, 11, 25, 14, 0), ctx.tz)
    assert min(m.starts_at for m in meetings) >= localize(datetime(2026, 11, 25, 14, 0), ctx.tz)


def test_deep_dive_by_a_key_worker_is_refused_and_draws_nothing(s, settings) -> None:
    worker = _staff(s, Role.KEY_WORKER)

    with pytest.raises(PermissionDenied, match="may not deep-dive: only the QA team may"):
        store_request(s, build_context(NOW, settings=settings), asked=_deep_dive(), by=worker)

    assert s.scalar(select(func.count()).select_from(AuditCycle)) == 0


def test_deep_dive_rerun_draws_nothing_new_and_sends_nothing_twice(s, authority, settings, smtp_server) -> None:
    qa = _staff(s, Role.QA_MANAGER)
    first, _, _ = _run(s, authority, settings, _deep_dive(), by=qa)
    children = list(s.scalars(select(Audit.child_id).order_by(Audit.id)))
    received = len(smtp_server.received)

    # A reworded reason and a different seed: still the same request.
    second, queued, booked = _run(s, authority, settings, _deep_dive(reason="Asked again", theme=" Neglect in  "
                                  "child protection plans"), by=qa, now="2026-11-23T15:00", seed=99)

    assert not second.created and second.cycle == first.cycle and second.seed == first.seed == 7
    assert list(s.scalars(select(Audit.child_id).order_by(Audit.id))) == children
    assert s.scalar(select(func.count()).select_from(AuditCycle)) == 1
    assert queued == 0 and booked.booked == 0 and booked.messages == 0
    assert len(smtp_server.received) == received


def test_same_request_a_day_later_is_a_new_sample_of_other_children(s, authority, settings, smtp_server) -> None:
    qa = _staff(s, Role.QA_MANAGER)
    first, _, _ = _run(s, authority, settings, _deep_dive(), by=qa)
    earlier = set(s.scalars(select(Audit.child_id)))

    second = _draw(s, build_context("2026-11-24T09:01", settings=settings), _deep_dive(), qa)
    s.commit()

    later = set(s.scalars(select(Audit.child_id).join(AuditCycle).where(AuditCycle.reference == second.cycle)))
    assert second.created and (first.cycle, second.cycle) == ("DD-2026-12-01", "DD-2026-12-02")
    assert later and not later & earlier


def test_a_different_size_is_a_different_request(s, settings) -> None:
    qa = _staff(s, Role.QA_MANAGER)
    ctx = build_context(NOW, settings=settings)

    first = _draw(s, ctx, _deep_dive(size=2), qa, seed=1)
    second = _draw(s, ctx, _deep_dive(size=3), qa, seed=1)

    assert first.created and second.created and first.cycle != second.cycle


def test_adhoc_audits_are_excluded_from_a_later_monthly_draw(s, authority, settings, smtp_server) -> None:
    qa = _staff(s, Role.QA_MANAGER)
    _run(s, authority, settings, _deep_dive(cohort=None, size=40), by=qa)
    deep_dived = set(s.scalars(select(Audit.child_id)))

    draw(s, build_context("2026-12-21T09:00", settings=settings), month=Month(2027, 1), size=60, seed=3)
    s.commit()

    january = set(s.scalars(select(Audit.child_id).join(AuditCycle).where(AuditCycle.month == "2027-01")))
    assert len(deep_dived) == 40 and january
    assert not january & deep_dived


@pytest.fixture
def dip_audit(s, authority, settings, smtp_server) -> Audit:
    summary, _, _ = _run(s, authority, settings, _dip_sample(), by=_staff(s, Role.QA_MANAGER))
    smtp_server.received.clear()
    return s.scalars(select(Audit).join(AuditCycle).where(AuditCycle.reference == summary.cycle)
                     .order_by(Audit.id)).first()


def test_dip_sample_records_its_focus_domains_in_framework_order(dip_audit) -> None:
    cycle = dip_audit.cycle

    assert (cycle.reference, cycle.kind, cycle.focus_domains) == (
        "DS-2026-12-01", CycleKind.DIP_SAMPLE, "assessment,relationship_direct_work")
    assert (dip_audit.reference, dip_audit.kind) == ("DS-2026-12-01-001", AuditKind.DIP_SAMPLE)


def test_dip_sample_form_grading_every_domain_is_refused_for_the_unfocused_ones(s, settings, dip_audit) -> None:
    today = date(2026, 11, 30)
    form = valid_form(dip_audit.auditor_id, today=today)

    with pytest.raises(FormError) as refused:
        submit(s, build_context("2026-11-30T10:00", settings=settings), reference=dip_audit.reference, data=form,
               by=dip_audit.auditor_id)
    s.rollback()

    unfocused = sorted(set(DEFAULT_DOMAINS) - set(FOCUS))
    assert sorted(p.split(":")[0].removeprefix("grades.") for p in refused.value.problems) == unfocused
    assert all("not an audit domain of this form" in p for p in refused.value.problems)
    assert s.scalar(select(func.count()).select_from(DomainGrade)) == 0


def test_dip_sample_form_grading_only_the_focus_domains_is_accepted(s, settings, dip_audit) -> None:
    today = date(2026, 11, 30)
    form = valid_form(dip_audit.auditor_id, today=today, grades={d: "good" for d in FOCUS})

    submission = submit(s, build_context("2026-11-30T10:00", settings=settings), reference=dip_audit.reference,
                        data=form, by=dip_audit.auditor_id)
    s.commit()

    graded = set(s.scalars(select(DomainGrade.domain).where(DomainGrade.submission_id == submission.id)))
    assert graded == set(FOCUS)
    assert dip_audit.status == AuditStatus.SUBMITTED


@pytest.mark.parametrize(
    ("request_", "expected"),
    [
        (_dip_sample(domains=("astrology", "assessment")),
         "--domains: 'astrology' is not an audit domain; choose from: " + ", ".join(DEFAULT_DOMAINS)),
        (_dip_sample(domains=()), "--domains: a dip sample needs at least one focus domain, from: "
         + ", ".join(DEFAULT_DOMAINS)),
        (_deep_dive(domains=("assessment",)), "--domains: a deep dive grades every domain"),
        (_deep_dive(due=date(2026, 11, 20)),
         "--due 2026-11-20: is in the past; choose a working day after today (2026-11-23) and no later than 2026-12-21"),
        (_deep_dive(due=date(2026, 11, 23)), "--due 2026-11-23: is today"),
        (_deep_dive(due=date(2026, 11, 28)), "--due 2026-11-28: Saturday is not a working day"),
        (_deep_dive(due=date(2026, 12, 25)), "--due 2026-12-25: Friday is a bank holiday"),
        (_deep_dive(due=date(2026, 12, 22)), "--due 2026-12-22: more than 20 working days ahead"),
        (_deep_dive(size=0), "--size 0: draw at least one audit"),
        (_deep_dive(theme="  "), "--theme is required"),
        (_deep_dive(team="Nowhere"), "--team 'Nowhere': no team has that name"),
        (_deep_dive(theme="Neglect\nin plans"), "--theme contains a line break"),
        (_deep_dive(theme="x" * 201), "--theme is 201 characters; at most 200"),
        (_deep_dive(reason="Asked by\x00 the panel"), "--reason contains a control character such as NUL"),
        (Asked(kind=CycleKind.MONTHLY, theme="Voice of the child", size=3), "holds its theme only"),
    ],
)
def test_invalid_requests_say_what_to_fix_and_store_nothing(s, settings, request_, expected) -> None:
    with pytest.raises(UserError) as refused:
        store_request(s, build_context(NOW, settings=settings), asked=request_, by=_staff(s, Role.QA_MANAGER))

    assert expected in str(refused.value)
    assert s.scalar(select(func.count()).select_from(DrawRequest)) == 0


def test_every_problem_is_listed_at_once(s, settings) -> None:
    request = _dip_sample(size=0, due=date(2026, 11, 1), domains=("astrology",))

    with pytest.raises(UserError) as refused:
        store_request(s, build_context(NOW, settings=settings), asked=request, by=_staff(s, Role.QA_MANAGER))

    lines = str(refused.value).splitlines()
    assert lines[0] == "the dip sample cannot be drawn:"
    assert [line.split(":")[0].strip() for line in lines[1:]] == ["- --size 0", "- --due 2026-11-01", "- --domains"]


# --- through the command line and the Prefect engine --------------------------------------------------------

runner = CliRunner()


def _invoke(*args: str):
    from auditcycle.cli import app, commands  # noqa: F401  (registers every command)

    return runner.invoke(app, list(args))


def _printed_json(result) -> dict:
    """Return the JSON summary a command printed with --json: all it writes to stdout."""
    return json.loads(result.stdout)


def _qa(engine) -> str:
    with sessionmaker(bind=engine)() as s:
        return _staff(s, Role.QA_MANAGER)


def test_deep_dive_command_draws_notifies_and_books_through_prefect(authority, app_env, prefect_harness) -> None:
    qa = _qa(authority)
    args = ("deep-dive", "--json", "--theme", "Neglect", "--cohort", "child_protection", "--size", "3", "--due",
            "2026-12-04", "--reason", "Rise in repeat plans", "--by", qa, "--now", NOW)

    result = _invoke(*args)
    again = _invoke(*args[:-1], "2026-11-23T11:00")

    assert result.exit_code == 0, result.output
    assert again.exit_code == 0, again.output
    summary, repeat = _printed_json(result), _printed_json(again)
    with sessionmaker(bind=authority)() as s:
        audits = list(s.scalars(select(Audit).order_by(Audit.id)))
        assert {a.child.cohort for a in audits} == {Cohort.CHILD_PROTECTION}
        assert {(a.kind, a.status) for a in audits} == {(AuditKind.DEEP_DIVE, AuditStatus.BOOKED)}
        assert s.scalar(select(func.count()).select_from(AuditCycle)) == 1
    assert [a.reference for a in audits] == [f"DD-2026-12-01-00{n}" for n in (1, 2, 3)]
    assert summary["created"] and summary["cycle"] == "DD-2026-12-01" and summary["audits"] == 3
    assert summary["queued"] > 0 and summary["booked"] > 0
    assert not repeat["created"] and repeat["queued"] == repeat["booked"] == 0


def _flow_runs(name: str) -> list:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName

    with get_client(sync_client=True) as client:
        return client.read_flow_runs(flow_filter=FlowFilter(name=FlowFilterName(any_=[name])))


def _prefect_bytes(database: str) -> bytes:
    """Return every byte Prefect has stored: its database file, any write-ahead log, and its home folder."""
    files = [Path(database), Path(f"{database}-wal"), *(p for p in PREFECT_HOME.rglob("*") if p.is_file())]
    return b"".join(f.read_bytes() for f in files if f.is_file())


def test_flow_run_parameters_hold_no_child_ids_or_names(authority, app_env, prefect_harness) -> None:
    qa = _qa(authority)
    result = _invoke("dip-sample", "--theme", "Direct work", "--size", "4", "--due", "2026-12-04",
                     "--domains", ",".join(FOCUS), "--by", qa, "--now", NOW)
    assert result.exit_code == 0, result.output

    runs = _flow_runs("dip-sample")
    with sessionmaker(bind=authority)() as s:
        child_ids = list(s.scalars(select(Audit.child_id)))
    parameters = json.dumps([r.parameters for r in runs])
    assert runs and "REQ-" in parameters  # the scan sees the real parameters
    # The request's reference, and the council it belongs to (none: one council), nothing else.
    assert [r.parameters for r in runs] == [{"request": r.parameters["request"], "council": None} for r in runs]
    for value in [*child_ids, PLANTED["child_first"], PLANTED["child_last"], PLANTED["contact_name"], "Direct work"]:
        assert value not in parameters


def test_a_deep_dives_theme_and_reason_never_reach_prefect(authority, app_env, prefect_harness) -> None:
    # What a worried practitioner might type: the child's name in the theme and in the reason.
    theme = "Neglect: Tobiah Wrenfield-Ashcombe and siblings"
    reason = "Raised at strategy meeting\nTobiah Wrenfield-Ashcombe, repeat plan"
    planted = b"Wrenfield-Ashcombe"
    qa = _qa(authority)

    result = _invoke("deep-dive", "--json", "--theme", theme, "--reason", reason, "--size", "3", "--due",
                     "2026-12-04", "--by", qa, "--now", NOW)

    assert result.exit_code == 0, result.output
    summary = _printed_json(result)
    with sessionmaker(bind=authority)() as s:
        cycle = s.scalar(select(AuditCycle).where(AuditCycle.reference == summary["cycle"]))
        asked = s.scalar(select(DrawRequest).where(DrawRequest.cycle_id == cycle.id))
        drawn = s.scalar(select(func.count()).select_from(Audit).where(Audit.cycle_id == cycle.id))
        flow_run_id = s.scalar(select(PhaseRun.flow_run_id).where(PhaseRun.phase == "deep-dive"))
    assert (cycle.theme, cycle.reason, drawn) == (theme, reason, 3)
    runs = _flow_runs("deep-dive")
    assert {str(r.id): r.parameters for r in runs}[flow_run_id] == {"request": f"REQ-{asked.id}", "council": None}
    assert planted.decode() not in json.dumps([r.parameters for r in runs])
    stored = _prefect_bytes(prefect_harness)
    assert flow_run_id.encode() in stored  # the scan reads what Prefect wrote of this run
    assert planted not in stored and planted.decode("ascii").encode("utf-16-le") not in stored


def test_a_stored_request_rerun_through_prefect_draws_nothing_new(authority, app_env, prefect_harness) -> None:
    from auditcycle.flows.deep_dive import deep_dive

    qa = _qa(authority)
    stored = _invoke("deep-dive", "--theme", "Neglect", "--size", "3", "--due", "2026-12-04", "--store-only",
                     "--by", qa, "--now", NOW)
    assert stored.exit_code == 0, stored.output
    request = stored.output.strip()
    with sessionmaker(bind=authority)() as s:
        assert s.scalar(select(func.count()).select_from(AuditCycle)) == 0  # stored, not drawn

    first = deep_dive(request=request)
    again = deep_dive(request=request)

    assert first["created"] and not again["created"] and again["cycle"] == first["cycle"]
    with sessionmaker(bind=authority)() as s:
        assert s.scalar(select(func.count()).select_from(AuditCycle)) == 1
        assert s.scalar(select(func.count()).select_from(Audit)) == first["audits"] == 3
    assert again["queued"] == again["booked"] == 0


def _stored(kind: str, by: str, *extra: str) -> str:
    """Store a request as `auditcycle deep-dive … --store-only` does; return its reference."""
    stored = _invoke(kind, "--theme", "Neglect", "--size", "3", "--due", "2026-12-04", *extra, "--store-only",
                     "--by", by, "--now", NOW)
    assert stored.exit_code == 0, stored.output
    return stored.output.strip()


def test_a_flow_given_only_the_request_is_credited_to_its_requester(authority, app_env, prefect_harness) -> None:
    from auditcycle.flows.dip_sample import dip_sample

    with sessionmaker(bind=authority)() as s:
        # Not the first QA manager, whom other tests start runs as: the credit must come from the request.
        requester = s.scalars(select(Staff.id).where(Staff.role == Role.PRACTICE_IMPROVEMENT_MANAGER,
                                                     Staff.active).order_by(Staff.id)).first()
    request = _stored("dip-sample", requester, "--domains", "assessment")

    summary = dip_sample(request=request)

    with sessionmaker(bind=authority)() as s:
        cycle = s.scalar(select(AuditCycle).where(AuditCycle.reference == summary["cycle"]))
        actors = set(s.scalars(select(TrailEntry.actor).where(TrailEntry.entity.in_(["audit", "audit_cycle"]))))
        run = s.scalar(select(PhaseRun).where(PhaseRun.phase == "dip-sample"))
        assert (cycle.created_by_id, actors) == (requester, {requester})
        assert (run.request_id, run.status.value, run.summary["audits"]) == (int(request[4:]), "succeeded", 3)
    [flow_run] = [r for r in _flow_runs("dip-sample") if str(r.id) == run.flow_run_id]
    assert flow_run.parameters == {"request": request, "council": None}


def test_a_request_whose_requester_has_left_the_qa_team_is_refused_when_it_runs(authority, app_env,
                                                                               prefect_harness) -> None:
    from auditcycle.flows.deep_dive import deep_dive

    with sessionmaker(bind=authority)() as s:
        requester = s.scalars(select(Staff.id).where(Staff.role == Role.QA_MANAGER).order_by(Staff.id.desc())).first()
    request = _stored("deep-dive", requester)
    with sessionmaker(bind=authority).begin() as s:
        s.get(Staff, requester).role = Role.TEAM_MANAGER  # moved out of the QA team since asking

    with pytest.raises(PermissionDenied) as refused:
        deep_dive(request=request)

    assert str(refused.value) == (
        f"{request} was asked for by {requester}, who is now a team manager and is no longer in the QA team, so it "
        "is not run: only the QA team may draw a deep dive. Ask a member of the QA team to ask for it again.")
    with sessionmaker(bind=authority)() as s:
        assert s.scalar(select(func.count()).select_from(AuditCycle)) == 0
        run = s.scalar(select(PhaseRun).where(PhaseRun.phase == "deep-dive"))
        assert (run.request_id, run.status.value) == (int(request[4:]), "failed")
        assert run.error == f"PermissionDenied: {refused.value}"


def test_a_request_for_another_kind_is_refused_by_name(authority, app_env, prefect_harness) -> None:
    from auditcycle.flows.dip_sample import dip_sample

    qa = _qa(authority)
    stored = _invoke("deep-dive", "--theme", "Neglect", "--size", "3", "--due", "2026-12-04", "--store-only",
                     "--by", qa, "--now", NOW)
    request = stored.output.strip()

    with pytest.raises(UserError, match=f"{request} asks for a deep dive, not a dip sample"):
        dip_sample(request=request)

    with sessionmaker(bind=authority)() as s:
        assert s.scalar(select(func.count()).select_from(AuditCycle)) == 0


def test_dip_sample_command_with_unknown_domains_lists_the_allowed_ones(authority, app_env) -> None:
    result = _invoke("dip-sample", "--theme", "Direct work", "--size", "2", "--due", "2026-12-04",
                     "--domains", "astrology", "--by", _qa(authority), "--now", NOW)

    assert result.exit_code == 1
    assert "'astrology' is not an audit domain" in result.output
    assert all(slug in result.output.replace("\n", "") for slug in DEFAULT_DOMAINS)


def test_deep_dive_command_with_a_bad_due_date_says_how_to_write_it(authority, app_env) -> None:
    result = _invoke("deep-dive", "--theme", "Neglect", "--size", "2", "--due", "4/12/2026", "--by",
                     _qa(authority), "--now", NOW)

    assert result.exit_code == 1 and "write it as YYYY-MM-DD" in result.output

