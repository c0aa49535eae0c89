"""A trend flag raised through the real cycle, its mail delivered: what follow-up tests start from."""
from factories import context_at as ctx_at
from sqlalchemy import select
from sqlalchemy.orm import Session

from auditcycle.core.clock import Month
from auditcycle.models import Audit, AuditCycle, Submission, TrendFlag
from auditcycle.models.enums import AuditStatus, Cohort
from auditcycle.moderation.panel import select_for_moderation
from auditcycle.notifications.gateway import deliver
from auditcycle.people.cases import case_of
from auditcycle.sampling.cycle import draw
from auditcycle.submissions.grades import record_grades
from auditcycle.trends.scrutiny import REVIEW_UNIT, REVIEW_UNIT_DOMAIN, scrutinise

DEC = Month(2026, 12)
CLOSED = "2027-01-18T09:00"  # the morning after December's moderation closes


def raise_review_unit_flag(s: Session, authority, settings) -> TrendFlag:
    """Draw December, grade a cared for child's review-unit domain inadequate, close moderation and scrutinise."""
    summary = draw(s, ctx_at("2026-11-23T09:00", settings), month=DEC, size=4, seed=21)
    cycle = s.scalar(select(AuditCycle).where(AuditCycle.reference == summary.cycle))
    audits = list(s.scalars(select(Audit).where(Audit.cycle_id == cycle.id).order_by(Audit.id)))
    for audit in audits:
        audit.child.cohort = Cohort.CHILD_IN_NEED
    audits[0].child.cohort = Cohort.CARED_FOR
    for audit in audits:
        ctx = ctx_at("2026-12-20T10:00", settings)
        case_of(s, audit.child_id).record_on(audit)
        submission = Submission(audit_id=audit.id, submitted_by_id=audit.auditor_id, overall="requires_improvement",
                                submitted_at=ctx.now, recorded_at=ctx.now)
        s.add(submission)
        s.flush()
        grades = dict.fromkeys(settings.framework.domains, "requires_improvement")
        if audit is audits[0]:
            grades[REVIEW_UNIT_DOMAIN] = "inadequate"
        record_grades(s, audit=audit, submission=submission, grades=grades, overall="requires_improvement",
                      by=audit.auditor_id, reason="submission", now=ctx.now)
        audit.status = AuditStatus.SUBMITTED
    s.commit()
    select_for_moderation(s, ctx_at(CLOSED, settings), cycle=cycle)
    s.commit()
    [flag] = scrutinise(s, ctx_at(CLOSED, settings), cycle=cycle)
    s.commit()
    deliver(engine=authority, settings=settings)
    assert flag.kind == REVIEW_UNIT
    return flag
