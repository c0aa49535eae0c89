"""Trend scrutiny: practitioners, teams and cared for children's review-unit grades, flagged once after closure."""
import pytest
from conftest import PLANTED
from factories import context_at as ctx_at
from sqlalchemy import func, select

from auditcycle.core.clock import Month
from auditcycle.models import (
    Audit,
    AuditCycle,
    Dispute,
    OutboxMessage,
    Staff,
    Submission,
    TrendFlag,
)
from auditcycle.models.enums import AuditStatus, Cohort, Role
from auditcycle.moderation.panel import record_moderation, select_for_moderation
from auditcycle.notifications.gateway import deliver
from auditcycle.people.cases import case_of
from auditcycle.sampling.cycle import draw
from auditcycle.submissions.grades import record_grades
from auditcycle.trends.scrutiny import (
    PRACTITIONER,
    REVIEW_UNIT,
    REVIEW_UNIT_DOMAIN,
    TEAM,
    Finalised,
    final_overall,
    inadequate_share,
    scrutinise,
    trailing_inadequate,
    window_start,
)

SEP, NOV, DEC = Month(2026, 9), Month(2026, 11), Month(2026, 12)
DRAW_NOW = {SEP: "2026-08-24T09:00", NOV: "2026-10-26T09:00", DEC: "2026-11-23T09:00"}
SUBMIT_NOW = {SEP: "2026-09-25T10:00", NOV: "2026-11-20T10:00", DEC: "2026-12-20T10:00"}
# Each month's moderation closes 10 working days after its due date; these are the next mornings.
CLOSED_NOW = {SEP: "2026-10-15T09:00", NOV: "2026-12-15T09:00", DEC: "2027-01-18T09:00"}
AFTER_DUE = "2027-01-04T09:00"




def _drawn(s, settings, month: Month, size: int) -> tuple[AuditCycle, list[Audit]]:
    summary = draw(s, ctx_at(DRAW_NOW[month], settings), month=month, size=size, seed=21)
    s.commit()
    cycle = s.scalar(select(AuditCycle).where(AuditCycle.reference == summary.cycle))
    return cycle, list(s.scalars(select(Audit).where(Audit.cycle_id == cycle.id).order_by(Audit.id)))


def _submit(s, settings, audit: Audit, overall: str, month: Month, **domains: str) -> None:
    """Record a form graded `overall`, every domain requiring improvement unless given."""
    ctx = ctx_at(SUBMIT_NOW[month], settings)
    case_of(s, audit.child_id).record_on(audit)  # as the first submission does
    submission = Submission(audit_id=audit.id, submitted_by_id=audit.auditor_id, overall=overall,
                            submitted_at=ctx.now, recorded_at=ctx.now)
    s.add(submission)
    s.flush()
    grades = {**dict.fromkeys(settings.framework.domains, "requires_improvement"), **domains}
    record_grades(s, audit=audit, submission=submission, grades=grades, overall=overall, by=audit.auditor_id,
                  reason="submission", now=ctx.now)
    audit.status = AuditStatus.SUBMITTED
    s.flush()


def _close(s, settings, cycle: AuditCycle, month: Month) -> None:
    select_for_moderation(s, ctx_at(CLOSED_NOW[month], settings), cycle=cycle)
    s.commit()


def _scrutinise(s, authority, settings, cycle: AuditCycle, month: Month, now: str | None = None) -> list[TrendFlag]:
    flags = scrutinise(s, ctx_at(now or CLOSED_NOW[month], settings), cycle=cycle)
    s.commit()
    deliver(engine=authority, settings=settings)
    return flags


def _role(s, role: Role) -> list[Staff]:
    return list(s.scalars(select(Staff).where(Staff.role == role, Staff.active).order_by(Staff.id)))


def _service_managers(s, service_id: int) -> list[Staff]:
    return [m for m in _role(s, Role.SERVICE_MANAGER) if m.service_id == service_id]


def _mail_for(s, received, flag: TrendFlag) -> list:
    ids = set(s.scalars(select(OutboxMessage.message_id).where(OutboxMessage.subject_ref == f"trend-{flag.id}")))
    return [r for r in received if r.message["Message-ID"] in ids]


def _assert_sent_individually(s, received, flag: TrendFlag, people: list[Staff]) -> str:
    """Check one message per person, each to them alone; return the text of one."""
    mail = _mail_for(s, received, flag)
    assert sorted(r.rcpt_tos for r in mail) == sorted([p.email] for p in people)
    for r in mail:
        assert [a.addr_spec for a in r.message["To"].addresses] == r.rcpt_tos
        assert r.message["Cc"] is None and r.message["Bcc"] is None
    raw = b"".join(r.data for r in mail).decode("utf-8", "replace")
    for planted in PLANTED.values():
        assert planted not in raw
    return mail[0].message.get_body(("plain",)).get_content()


def _f(ref: str, month: str, overall: str) -> Finalised:
    return Finalised(audit_id=int(ref), audit_ref=ref, child_id=f"C{ref}", month=month, key_worker_id="KW",
                     team_id=1, service_id=1, cohort=Cohort.CHILD_IN_NEED, overall=overall)


def test_trailing_inadequate_takes_only_the_last_unbroken_run() -> None:
    history = [_f("1", "2026-09", "inadequate"), _f("2", "2026-10", "good"), _f("3", "2026-11", "inadequate"),
               _f("4", "2026-12", "inadequate")]

    assert [a.audit_ref for a in trailing_inadequate(history)] == ["3", "4"]
    assert trailing_inadequate(history[:3]) == [history[2]]
    assert trailing_inadequate(history[:2]) == []


def test_window_start_counts_back_across_the_year() -> None:
    assert [window_start("2027-01", n) for n in (1, 2, 3, 13)] == ["2027-01", "2026-12", "2026-11", "2026-01"]


def test_inadequate_share_is_inadequate_over_all() -> None:
    assert inadequate_share([]) == 0.0
    assert inadequate_share([_f("1", "2026-12", "inadequate"), _f("2", "2026-12", "good"),
                             _f("3", "2026-12", "requires_improvement")]) == pytest.approx(1 / 3)


def test_final_overall_prefers_a_decided_moderation() -> None:
    assert final_overall("inadequate", "good", decided=True) == "good"
    assert final_overall("inadequate", None, decided=False) == "inadequate"
    assert final_overall("inadequate", "good", decided=False) == "inadequate"


def test_practitioner_with_two_consecutive_inadequate_audits_is_flagged(s, authority, settings,
                                                                       smtp_server) -> None:
    november, nov_audits = _drawn(s, settings, NOV, size=3)
    december, dec_audits = _drawn(s, settings, DEC, size=4)
    practitioner = nov_audits[0].child.key_worker
    dec_audits[0].child.key_worker_id = practitioner.id
    s.flush()
    for month, audits in ((NOV, nov_audits), (DEC, dec_audits)):
        for audit in audits:
            _submit(s, settings, audit, "inadequate" if audit.child.key_worker_id == practitioner.id else "good",
                    month)
    s.commit()
    _close(s, settings, november, NOV)
    _close(s, settings, december, DEC)

    flags = _scrutinise(s, authority, settings, december, DEC)

    [flag] = [f for f in flags if f.kind == PRACTITIONER]
    assert (flag.subject_ref, flag.month) == (practitioner.id, "2026-12")
    people = [*_service_managers(s, practitioner.service_id), *_role(s, Role.PRINCIPAL_SOCIAL_WORKER)]
    assert len(people) == 2
    body = _assert_sent_individually(s, smtp_server.received, flag, people)
    assert practitioner.name in body and "consecutive audits graded Inadequate" in body
    for audit in (nov_audits[0], dec_audits[0]):
        assert audit.reference in body and audit.child_id in body


def test_practitioner_whose_inadequate_audit_was_moderated_up_is_not_flagged(s, authority, settings) -> None:
    december, audits = _drawn(s, settings, DEC, size=4)
    practitioner = audits[0].child.key_worker
    audits[1].child.key_worker_id = practitioner.id
    s.flush()
    for audit in audits:
        _submit(s, settings, audit, "inadequate" if audit.child.key_worker_id == practitioner.id else "good", DEC)
    ctx = ctx_at(AFTER_DUE, settings)
    s.add(Dispute(audit_id=audits[1].id, raised_by_id=practitioner.id, note="grade too low", raised_at=ctx.now,
                  recorded_at=ctx.now))
    s.commit()
    select_for_moderation(s, ctx, cycle=december)
    psw = _role(s, Role.PRINCIPAL_SOCIAL_WORKER)[0]
    record_moderation(s, ctx_at("2027-01-07T14:00", settings), reference=audits[1].reference, by=psw.id,
                      grade="requires_improvement", domains={}, note="")
    s.commit()
    _close(s, settings, december, DEC)

    flags = _scrutinise(s, authority, settings, december, DEC)

    assert [f for f in flags if f.kind == PRACTITIONER] == []


def test_team_above_the_inadequate_share_is_flagged(s, authority, settings, smtp_server) -> None:
    december, audits = _drawn(s, settings, DEC, size=6)
    team = audits[0].child.team
    for audit in audits:
        _submit(s, settings, audit, "inadequate" if audit.child.team_id == team.id else "good", DEC)
    s.commit()
    _close(s, settings, december, DEC)

    flags = _scrutinise(s, authority, settings, december, DEC)

    [flag] = [f for f in flags if f.kind == TEAM]
    assert (flag.subject_ref, flag.month) == (team.name, "2026-12")
    people = [*_service_managers(s, team.service_id), *_role(s, Role.PRINCIPAL_SOCIAL_WORKER)]
    body = _assert_sent_individually(s, smtp_server.received, flag, people)
    in_team = [a for a in audits if a.child.team_id == team.id]
    assert team.name in body and f"100% ({len(in_team)} of {len(in_team)})" in body
    assert "October 2026 to December 2026" in body
    for audit in in_team:
        assert audit.reference in body


def test_team_share_counts_the_window_but_not_before_it(s, authority, settings) -> None:
    september, sep_audits = _drawn(s, settings, SEP, size=4)
    november, nov_audits = _drawn(s, settings, NOV, size=4)
    december, dec_audits = _drawn(s, settings, DEC, size=8)
    for month, audits, grade in ((SEP, sep_audits, "inadequate"), (NOV, nov_audits[:1], "inadequate"),
                                 (NOV, nov_audits[1:], "good"), (DEC, dec_audits, "good")):
        for audit in audits:
            _submit(s, settings, audit, grade, month)
    s.commit()
    for cycle, month in ((september, SEP), (november, NOV), (december, DEC)):
        _close(s, settings, cycle, month)

    flags = _scrutinise(s, authority, settings, december, DEC)

    nov_team = nov_audits[0].child.team
    assert [f.subject_ref for f in flags if f.kind == TEAM] == [nov_team.name]
    # Teams graded inadequate only in September would share at least a third if September counted.
    sep_only = {a.child.team_id for a in sep_audits} - {nov_team.id}
    assert sep_only and all(sum(a.child.team_id == t for a in dec_audits) <= 2 for t in sep_only)


def test_cared_for_child_with_review_unit_graded_inadequate_is_flagged(s, authority, settings,
                                                                      smtp_server) -> None:
    december, audits = _drawn(s, settings, DEC, size=4)
    for audit in audits:
        audit.child.cohort = Cohort.CHILD_IN_NEED
    audits[0].child.cohort = Cohort.CARED_FOR
    s.flush()
    _submit(s, settings, audits[0], "requires_improvement", DEC, **{REVIEW_UNIT_DOMAIN: "inadequate"})
    _submit(s, settings, audits[1], "requires_improvement", DEC, **{REVIEW_UNIT_DOMAIN: "inadequate"})
    _submit(s, settings, audits[2], "good", DEC)
    _submit(s, settings, audits[3], "good", DEC)
    s.commit()
    _close(s, settings, december, DEC)

    flags = _scrutinise(s, authority, settings, december, DEC)

    assert [(f.kind, f.subject_ref) for f in flags] == [(REVIEW_UNIT, audits[0].reference)]
    child = audits[0].child
    people = [*_service_managers(s, child.team.service_id), *_role(s, Role.PRINCIPAL_SOCIAL_WORKER)]
    body = _assert_sent_individually(s, smtp_server.received, flags[0], people)
    assert audits[0].reference in body and child.id in body and "cared for child" in body
    assert audits[1].reference not in body


def test_scrutiny_does_nothing_before_moderation_closes(s, authority, settings, smtp_server) -> None:
    december, audits = _drawn(s, settings, DEC, size=4)
    for audit in audits:
        audit.child.cohort = Cohort.CARED_FOR
        _submit(s, settings, audit, "inadequate", DEC, **{REVIEW_UNIT_DOMAIN: "inadequate"})
    s.commit()

    flags = _scrutinise(s, authority, settings, december, DEC, now=AFTER_DUE)

    assert flags == []
    assert s.scalar(select(func.count()).select_from(TrendFlag)) == 0
    assert s.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.phase == "trends")) == 0


def test_each_flag_is_raised_and_sent_once(s, authority, settings, smtp_server) -> None:
    december, audits = _drawn(s, settings, DEC, size=4)
    audits[1].child.key_worker_id = audits[0].child.key_worker_id
    for audit in audits:
        audit.child.cohort = Cohort.CARED_FOR
        _submit(s, settings, audit, "inadequate", DEC, **{REVIEW_UNIT_DOMAIN: "inadequate"})
    s.commit()
    _close(s, settings, december, DEC)

    first = _scrutinise(s, authority, settings, december, DEC)
    sent = len(smtp_server.received)
    second = _scrutinise(s, authority, settings, december, DEC, now="2027-01-25T09:00")

    assert {f.kind for f in first} == {PRACTITIONER, TEAM, REVIEW_UNIT}
    assert second == []
    assert s.scalar(select(func.count()).select_from(TrendFlag)) == len(first)
    assert len(smtp_server.received) == sent
    keys = s.execute(select(TrendFlag.kind, TrendFlag.subject_ref, TrendFlag.month)).all()
    assert len(keys) == len(set(keys))


def test_trend_mail_goes_to_the_service_of_each_subject(s, authority, settings, smtp_server) -> None:
    december, audits = _drawn(s, settings, DEC, size=6)
    for audit in audits:
        audit.child.cohort = Cohort.CARED_FOR
        # Not good, so no audit waits in moderation: all six are final when moderation closes.
        _submit(s, settings, audit, "requires_improvement", DEC, **{REVIEW_UNIT_DOMAIN: "inadequate"})
    s.commit()
    _close(s, settings, december, DEC)

    flags = _scrutinise(s, authority, settings, december, DEC)

    psw = _role(s, Role.PRINCIPAL_SOCIAL_WORKER)
    services = {a.reference: a.child.team.service_id for a in audits}
    assert sorted(f.subject_ref for f in flags) == sorted(services)
    for flag in flags:
        expected = sorted([m.email] for m in [*_service_managers(s, services[flag.subject_ref]), *psw])
        assert sorted(r.rcpt_tos for r in _mail_for(s, smtp_server.received, flag)) == expected
    assert {f.raised_at for f in flags} == {ctx_at(CLOSED_NOW[DEC], settings).now}
