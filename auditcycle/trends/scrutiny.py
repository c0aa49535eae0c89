"""Trend scrutiny: after moderation closes, flag the patterns the framework asks to look at more closely.

Three patterns, each raised once per subject and month (the TrendFlag unique constraint) and sent to
the relevant service manager and the principal social worker, each in a message of their own:

- a practitioner whose two or more most recent finalised audits were all graded inadequate;
- a team whose share of audits graded inadequate, over the last few months, is above the threshold;
- a cared for child's audit with the Safeguarding and Independent Review Unit domain graded inadequate.
"""
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from auditcycle.core.clock import Month
from auditcycle.core.context import AppContext
from auditcycle.links.offer import offer_link
from auditcycle.models import Audit, AuditCycle, DomainGrade, Moderation, Staff, Submission, Team, TrendFlag
from auditcycle.models.enums import AuditStatus, Cohort, Role
from auditcycle.notifications.learning import FlaggedAudit, TrendFacts, audit_lines, compose_trend_flag
from auditcycle.notifications.notices import month_label
from auditcycle.notifications.outbox import MessageKey, enqueue
from auditcycle.people.directory import Directory, assistant_directors, recipient
from auditcycle.people.permissions import Subject
from auditcycle.trends.follow_up import FOLLOW_UP_LINK, flag_reference

PHASE = "trends"
INADEQUATE = "inadequate"
PRACTITIONER = "practitioner_inadequate"
TEAM = "team_inadequate_share"
REVIEW_UNIT = "cared_for_review_unit_inadequate"
# The domain the framework added for the Safeguarding and Independent Review Unit's impact.
REVIEW_UNIT_DOMAIN = "safeguarding_review_unit"
CONSECUTIVE = 2


@dataclass(frozen=True)
class Finalised:
    """One finalised audit as trend scrutiny sees it: ids, month, the case as the audit kept it, final overall grade."""

    audit_id: int
    audit_ref: str
    child_id: str
    month: Month
    key_worker_id: str | None
    team_id: int
    service_id: int
    cohort: Cohort
    overall: str


def final_overall(submitted: str, moderated: str | None, decided: bool) -> str:
    """Return an audit's final overall grade: the panel's decision if made, else the form's."""
    return moderated if decided and moderated else submitted


def finalised_audits(session: Session, *, up_to: str, since: str | None = None,
                     cycle_id: int | None = None) -> list[Finalised]:
    """List completed audits by cycle month (up to and including `up_to`), oldest first.

    The key worker, team, service and cohort are the audit's own (people.cases), not the child's today.
    """
    stmt = (
        select(Audit.id, Audit.reference, Audit.child_id, AuditCycle.month, Audit.key_worker_id, Audit.team_id,
               Audit.service_id, Audit.cohort, Submission.overall, Moderation.moderated_overall,
               Moderation.decided_at)
        .join(AuditCycle, Audit.cycle_id == AuditCycle.id)
        .join(Submission, Submission.audit_id == Audit.id)
        .outerjoin(Moderation, Moderation.audit_id == Audit.id)
        .where(Audit.status == AuditStatus.COMPLETED, AuditCycle.month <= up_to)
        .order_by(AuditCycle.month, Audit.id)
    )
    if since is not None:
        stmt = stmt.where(AuditCycle.month >= since)
    if cycle_id is not None:
        stmt = stmt.where(Audit.cycle_id == cycle_id)
    return [Finalised(audit_id=aid, audit_ref=ref, child_id=cid, month=month, key_worker_id=kw, team_id=team,
                      service_id=service, cohort=cohort,
                      overall=final_overall(submitted, moderated, decided is not None))
            for aid, ref, cid, month, kw, team, service, cohort, submitted, moderated, decided
            in session.execute(stmt)]


def trailing_inadequate(history: Sequence[Finalised]) -> list[Finalised]:
    """Return the run of inadequate audits at the end of a practitioner's history, oldest first."""
    run: list[Finalised] = []
    for item in reversed(history):
        if item.overall != INADEQUATE:
            break
        run.append(item)
    return run[::-1]


def window_start(month: Month, months: int) -> str:
    """Return the first month of a trailing window of `months` months ending with `month`."""
    start = Month.parse(month)
    for _ in range(months - 1):
        start = start.previous()
    return str(start)


def inadequate_share(audits: Sequence[Finalised]) -> float:
    """Return the share of audits whose final grade is inadequate (0 when there are none)."""
    return sum(a.overall == INADEQUATE for a in audits) / len(audits) if audits else 0.0


def _flagged(ctx: AppContext, audits: Sequence[Finalised]) -> tuple[FlaggedAudit, ...]:
    grades = ctx.settings.framework.grades
    return tuple(FlaggedAudit(audit_ref=a.audit_ref, child_id=a.child_id, month=a.month,
                              grade_label=grades.get(a.overall, a.overall)) for a in audits)


def _service_managers(session: Session, directory: Directory, service_id: int | None) -> list[Staff]:
    # With no service manager in post the assistant directors hear instead, as for Immediate Responses.
    managers = directory.service_managers.get(service_id, []) if service_id is not None else []
    return managers or assistant_directors(session)


def _principal_social_workers(session: Session) -> list[Staff]:
    return list(session.scalars(select(Staff).where(Staff.active, Staff.role == Role.PRINCIPAL_SOCIAL_WORKER)
                                .order_by(Staff.id)))


def _raise(session: Session, ctx: AppContext, cycle: AuditCycle, *, kind: str, subject_ref: str,
           facts: TrendFacts, service_id: int | None, people: Sequence[Staff]) -> TrendFlag | None:
    """Record one flag unless already raised for this subject and month, and tell each person separately.

    Each message carries its recipient's own link to record the flag's follow-up (trends/follow_up.py).
    """
    exists = session.scalar(select(TrendFlag.id).where(
        TrendFlag.kind == kind, TrendFlag.subject_ref == subject_ref, TrendFlag.month == cycle.month))
    if exists is not None:
        return None
    detail = "; ".join([facts.title, *audit_lines(facts.audits)])
    flag = TrendFlag(kind=kind, subject_ref=subject_ref, month=cycle.month, detail=detail, raised_at=ctx.now,
                     service_id=service_id)
    session.add(flag)
    session.flush()
    reference = flag_reference(flag)
    key = MessageKey(PHASE, cycle.month, f"trend-{flag.id}", kind)
    for to, person in sorted({recipient(p): p for p in people}.items()):
        url = offer_link(session, ctx, purpose=FOLLOW_UP_LINK, command="trend-follow-up",
                         subject=Subject(service_id=service_id), subject_ref=reference, person=person, key=key)
        message = compose_trend_flag(facts, recipient_name=person.name, reference=reference, follow_up_url=url)
        enqueue(session, ctx, key, to, message)
    return flag


def scrutinise(session: Session, ctx: AppContext, *, cycle: AuditCycle) -> list[TrendFlag]:
    """Raise the month's trend flags once moderation has closed; return the flags newly raised."""
    if cycle.moderation_closed_at is None:
        return []
    framework = ctx.settings.framework
    directory = Directory(session)
    psws = _principal_social_workers(session)
    history = finalised_audits(session, up_to=cycle.month)
    this_cycle = {a.audit_id for a in finalised_audits(session, up_to=cycle.month, cycle_id=cycle.id)}
    raised: list[TrendFlag] = []

    by_practitioner: dict[str, list[Finalised]] = defaultdict(list)
    for audit in history:
        if audit.key_worker_id is not None:
            by_practitioner[audit.key_worker_id].append(audit)
    for staff_id, audits in sorted(by_practitioner.items()):
        run = trailing_inadequate(audits)
        # Only a run this cycle extends is news: an older run was flagged in its own month.
        if len(run) < CONSECUTIVE or not {a.audit_id for a in run} & this_cycle:
            continue
        staff = session.get(Staff, staff_id)
        service_id = staff.service_id or (staff.team.service_id if staff.team else None)
        facts = TrendFacts(kind=PRACTITIONER, month=cycle.month,
                           title=f"{staff.name}: {len(run)} consecutive audits graded Inadequate",
                           staff_name=staff.name, team_name=None, share_label=None, window_label=None,
                           audits=_flagged(ctx, run))
        flag = _raise(session, ctx, cycle, kind=PRACTITIONER, subject_ref=staff_id, facts=facts, service_id=service_id,
                      people=[*_service_managers(session, directory, service_id), *psws])
        raised += [flag] if flag else []

    since = window_start(cycle.month, framework.trend_window_months)
    window_label = (month_label(cycle.month) if since == cycle.month
                    else f"{month_label(since)} to {month_label(cycle.month)}")
    by_team: dict[int, list[Finalised]] = defaultdict(list)
    for audit in history:
        if audit.month >= since:
            by_team[audit.team_id].append(audit)
    for team_id, audits in sorted(by_team.items()):
        share = inadequate_share(audits)
        if share <= framework.trend_inadequate_share:
            continue
        team = session.get(Team, team_id)
        inadequate = [a for a in audits if a.overall == INADEQUATE]
        share_label = f"{round(share * 100)}% ({len(inadequate)} of {len(audits)})"
        facts = TrendFacts(kind=TEAM, month=cycle.month,
                           title=f"{team.name}: {share_label} of audits graded Inadequate",
                           staff_name=None, team_name=team.name, share_label=share_label,
                           window_label=window_label, audits=_flagged(ctx, inadequate))
        flag = _raise(session, ctx, cycle, kind=TEAM, subject_ref=team.name, facts=facts,
                      service_id=team.service_id, people=[*_service_managers(session, directory, team.service_id), *psws])
        raised += [flag] if flag else []

    if REVIEW_UNIT_DOMAIN in framework.domains:
        flagged_domain = set(session.scalars(
            select(Submission.audit_id).join(DomainGrade, DomainGrade.submission_id == Submission.id)
            .where(DomainGrade.domain == REVIEW_UNIT_DOMAIN, DomainGrade.grade == INADEQUATE,
                   Submission.audit_id.in_(this_cycle))))
        for audit in history:
            if audit.audit_id not in flagged_domain or audit.cohort != Cohort.CARED_FOR:
                continue
            domain_label = framework.domains[REVIEW_UNIT_DOMAIN]
            overall = framework.grades.get(audit.overall, audit.overall)
            item = FlaggedAudit(audit_ref=audit.audit_ref, child_id=audit.child_id, month=audit.month,
                                grade_label=f"{domain_label}: {framework.grades.get(INADEQUATE, INADEQUATE)} "
                                            f"(overall {overall})")
            facts = TrendFacts(kind=REVIEW_UNIT, month=cycle.month,
                               title=f"{audit.audit_ref} (case {audit.child_id}): Safeguarding and Independent "
                                     "Review Unit domain graded Inadequate for a cared for child",
                               staff_name=None, team_name=None, share_label=None, window_label=None,
                               audits=(item,))
            flag = _raise(session, ctx, cycle, kind=REVIEW_UNIT, subject_ref=audit.audit_ref, facts=facts,
                          service_id=audit.service_id, people=[*_service_managers(session, directory, audit.service_id), *psws])
            raised += [flag] if flag else []
    session.flush()
    return raised
