"""An audit keeps who and where the child's case was: taken at the draw, fixed at the first submission.

Trends and the report count an audit under the key worker, team and service it kept, never under the
child's allocation today.
"""
from datetime import date

import factories as make
from forms import valid_form
from sqlalchemy import select

from auditcycle.core.clock import Month
from auditcycle.models import Audit, AuditCycle
from auditcycle.models.enums import Cohort, CycleKind, Role
from auditcycle.moderation.panel import select_for_moderation
from auditcycle.report.data import build_report_data
from auditcycle.sampling.adhoc import draw_adhoc
from auditcycle.sampling.cycle import draw, replace
from auditcycle.sampling.requests import Asked, store_request
from auditcycle.submissions.submit import submit
from auditcycle.trends.scrutiny import PRACTITIONER, TEAM, scrutinise

NOV, DEC = Month(2026, 11), Month(2026, 12)
DRAW_NOW = {NOV: "2026-10-26T09:00", DEC: "2026-11-23T09:00"}
SUBMIT_NOW = {NOV: "2026-11-20T10:00", DEC: "2026-12-18T10:00"}
# The mornings after each month's moderation closes, 10 working days after its due date.
CLOSED_NOW = {NOV: "2026-12-15T09:00", DEC: "2027-01-18T09:00"}
CSC = "Children's Social Care"


def _authority(session):
    """North's two children held by one key worker; South and East with a key worker each; one auditor in East."""
    csc = make.service(session, CSC)
    teams = {name: make.team(session, name, of=csc) for name in ("North", "South", "East")}
    workers = {name: make.staff(session, f"KW-{name}", in_team=team) for name, team in teams.items()}
    make.staff(session, "AUD", in_team=teams["East"], auditor=True)
    make.staff(session, "QA1", Role.QA_MANAGER)
    for case_id in ("C1", "C2"):
        make.child(session, case_id, in_team=teams["North"], key_worker=workers["North"],
                   last_supervision=date(2026, 10, 1))
    session.commit()
    return teams, workers


def _case(audit: Audit) -> tuple:
    return audit.key_worker_id, audit.team_id, audit.service_id, audit.cohort


def _drawn(session, month: Month) -> Audit:
    draw(session, make.context_at(DRAW_NOW[month]), month=month, size=1, seed=5)
    session.commit()
    return session.scalars(select(Audit).join(AuditCycle).where(AuditCycle.month == str(month))).one()


def _submit(session, audit: Audit, month: Month, overall: str = "inadequate") -> None:
    ctx = make.context_at(SUBMIT_NOW[month])
    submit(session, ctx, reference=audit.reference, by=audit.auditor_id,
           data=valid_form("KW-North", today=ctx.timescales.today(ctx.now), overall=overall, grade=overall))
    session.commit()


def _move(session, child, team, worker, cohort: Cohort = Cohort.CHILD_IN_NEED) -> None:
    child.team_id, child.key_worker_id, child.cohort = team.id, worker.id, cohort
    session.commit()


def test_trends_and_report_count_an_audit_where_it_was_done_after_the_child_moves(session) -> None:
    teams, workers = _authority(session)
    audits = {month: _drawn(session, month) for month in (NOV, DEC)}
    for month, audit in audits.items():
        _submit(session, audit, month)
    # Both children move to South and its key worker once their audits are done.
    for audit in audits.values():
        _move(session, audit.child, teams["South"], workers["South"])
    for month, audit in audits.items():
        select_for_moderation(session, make.context_at(CLOSED_NOW[month]), cycle=audit.cycle)
    session.commit()

    flags = scrutinise(session, make.context_at(CLOSED_NOW[DEC]), cycle=audits[DEC].cycle)
    report = build_report_data(session, make.context_at(CLOSED_NOW[DEC]), month=DEC)

    assert sorted((f.kind, f.subject_ref) for f in flags) == [(PRACTITIONER, "KW-North"), (TEAM, "North")]
    assert [(row.service, row.team, row.audits, row.inadequate_pct) for row in report.teams] == [
        (CSC, "North", 1, 100.0)]
    assert [(row["audit"], row["team"], row["service"]) for row in report.grades_csv] == [
        (audits[DEC].reference, "North", CSC)]


def test_a_child_moved_between_draw_and_submission_is_recorded_as_at_the_submission(session) -> None:
    teams, workers = _authority(session)
    audit = _drawn(session, DEC)
    north = (workers["North"].id, teams["North"].id, teams["North"].service_id, Cohort.CHILD_IN_NEED)
    assert _case(audit) == north

    _move(session, audit.child, teams["South"], workers["South"], Cohort.CHILD_PROTECTION)
    _submit(session, audit, DEC, overall="good")
    at_submission = _case(audit)
    # Moved again, then the form is corrected: the case stays as it was at the first submission.
    _move(session, audit.child, teams["East"], workers["East"], Cohort.CARED_FOR)
    _submit(session, audit, DEC, overall="requires_improvement")
    session.expire_all()

    assert at_submission == (workers["South"].id, teams["South"].id, teams["South"].service_id,
                             Cohort.CHILD_PROTECTION)
    assert _case(session.get(Audit, audit.id)) == at_submission


def test_a_replacement_and_an_adhoc_draw_record_the_case_of_their_child(session) -> None:
    teams, workers = _authority(session)
    first = _drawn(session, DEC)
    # The other North child is reallocated within North (a replacement is drawn from the same team).
    other = next(c for c in ("C1", "C2") if c != first.child_id)
    newcomer = make.staff(session, "KW-North-2", in_team=teams["North"])
    _move(session, session.get(type(first.child), other), teams["North"], newcomer, Cohort.CARED_FOR)

    ctx = make.context_at(DRAW_NOW[DEC])
    new = replace(session, ctx, reference=first.reference, by="QA1", reason="Case closed")
    session.commit()
    assert (new.child_id, _case(new)) == (other, (newcomer.id, teams["North"].id, teams["North"].service_id,
                                                  Cohort.CARED_FOR))

    make.child(session, "C3", in_team=teams["South"], key_worker=workers["South"], cohort=Cohort.CARED_FOR,
               last_supervision=date(2026, 10, 1))
    session.commit()
    request = store_request(session, ctx, asked=Asked(kind=CycleKind.DEEP_DIVE, theme="Neglect", size=1,
                                                      due=date(2026, 12, 4), team="South"), by="QA1")
    session.commit()
    summary = draw_adhoc(session, ctx, request=request, seed=1)
    session.commit()
    [deep_dive] = session.scalars(select(Audit).join(AuditCycle).where(AuditCycle.reference == summary.cycle))
    assert (deep_dive.child_id, _case(deep_dive)) == (
        "C3", (workers["South"].id, teams["South"].id, teams["South"].service_id, Cohort.CARED_FOR))
