"""Grades and their history: every change keeps who, when, the old value and the new one."""
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from auditcycle.core.clock import wall_clock
from auditcycle.models import Audit, DomainGrade, GradeChange, Submission

OVERALL = "overall"


def current_grades(session: Session, submission: Submission) -> dict[str, str]:
    """Return a submission's current grades by domain, with the overall grade under 'overall'."""
    grades = {g.domain: g.grade for g in session.scalars(
        select(DomainGrade).where(DomainGrade.submission_id == submission.id))}
    grades[OVERALL] = submission.overall
    return grades


def record_grades(session: Session, *, audit: Audit, submission: Submission, grades: dict[str, str],
                  overall: str, by: str, reason: str, now: datetime, new: bool = False) -> list[GradeChange]:
    """Set the given domain grades and the overall grade, logging a GradeChange for each that changed.

    `new` says the submission was created in this transaction, so it has no grades to look up yet.
    """
    existing = {} if new else {g.domain: g for g in session.scalars(
        select(DomainGrade).where(DomainGrade.submission_id == submission.id))}
    before = {domain: g.grade for domain, g in existing.items()}
    # A submission's first recording has no grades yet; after that its overall grade is the old value.
    first = new or not session.scalar(select(GradeChange.id).where(GradeChange.audit_id == audit.id).limit(1))
    before[OVERALL] = None if first else submission.overall
    changes: list[GradeChange] = []
    recorded = wall_clock()
    for domain, grade in [*grades.items(), (OVERALL, overall)]:
        old = before.get(domain)
        if old == grade:
            continue
        if domain == OVERALL:
            submission.overall = grade
        elif domain in existing:
            existing[domain].grade = grade
        else:
            session.add(DomainGrade(submission_id=submission.id, domain=domain, grade=grade))
        change = GradeChange(audit_id=audit.id, domain=domain, old_grade=old, new_grade=grade, changed_by_id=by,
                             reason=reason, changed_at=now, recorded_at=recorded)
        session.add(change)
        changes.append(change)
    session.flush()
    return changes
