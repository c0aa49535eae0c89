"""Submitting an audit form: store it whole or not at all, announce the outcome once, prompt supervision."""
import hashlib
from datetime import date
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from auditcycle.booking.meetings import book_manager_conversation
from auditcycle.core.clock import wall_clock
from auditcycle.core.context import AppContext
from auditcycle.core.errors import UserError
from auditcycle.core.text import Redacted
from auditcycle.immediate_responses.lifecycle import raise_response
from auditcycle.links.offer import offer_link
from auditcycle.links.tokens import issue_link
from auditcycle.models import Action, Audit, Dispute, DomainGrade, FamilyFeedback, Staff, Submission
from auditcycle.models.enums import ActionStatus, AuditStatus, ResponseTrigger
from auditcycle.notifications.message import Recipient
from auditcycle.notifications.notices import day_label
from auditcycle.notifications.outbox import MessageKey, enqueue
from auditcycle.notifications.outcomes import (
    ActionRow,
    GradeRow,
    compose_buddy_review,
    compose_outcome,
    compose_supervision_prompt,
)
from auditcycle.people.cases import audited_key_worker, case_of
from auditcycle.people.directory import Directory, distinct
from auditcycle.people.permissions import Subject, authorise, may
from auditcycle.privacy.redaction import Redactor
from auditcycle.storage.events import log_event
from auditcycle.storage.records import get_audit
from auditcycle.submissions.booked import family_calls
from auditcycle.submissions.forms import AuditForm, read_form_file, validate_form
from auditcycle.submissions.grades import OVERALL, current_grades, record_grades
from auditcycle.submissions.supervision import responses_to_raise

PHASE = "submit"
# The purposes of the links the outcome and the supervision prompt carry: the commands they open.
DISPUTE = "dispute"
SUPERVISION_DISCUSSED = "supervision-discussed"
MAD_NOMINATE = "mad-nominate"
OPEN_FOR_SUBMISSION = (AuditStatus.ALLOCATED, AuditStatus.NOTIFIED, AuditStatus.BOOKED, AuditStatus.SUBMITTED)


def submit_file(session: Session, ctx: AppContext, *, reference: str, path: Path, by: str) -> Submission:
    """Read, check and store a form file for an audit."""
    return submit(session, ctx, reference=reference, data=read_form_file(path), by=by, source=path.name)


def submit(session: Session, ctx: AppContext, *, reference: str, data: dict, by: str,
           source: str = "form") -> Submission:
    """Store a completed form, replacing an earlier one until moderation, and announce the outcome."""
    audit = get_audit(session, reference)
    authorise(session, command="submit", staff_id=by, subject=Subject(audit=audit))
    ctx.refuse_before(audit.created_at, f"{reference} was drawn")
    if audit.status not in OPEN_FOR_SUBMISSION:
        raise UserError(f"{reference} is {audit.status.value.replace('_', ' ')}: a form can be submitted or "
                        "replaced only until moderation")
    today = ctx.timescales.today(ctx.now)
    # Only the owners the form names are looked up: a form must not cost a scan of every member of staff.
    actions = data.get("actions") if isinstance(data.get("actions"), list) else []
    named = {a.get("owner_id", "").strip() for a in actions
             if isinstance(a, dict) and isinstance(a.get("owner_id"), str)}
    known = set(session.scalars(select(Staff.id).where(Staff.id.in_(named)))) if named else set()
    # A dip sample grades only the domains it focuses on; every other audit grades them all.
    focus = audit.cycle.focus_domains
    domains = [d for d in focus.split(",") if d] if focus else None
    calls = {call.reference: call for call in family_calls(session, audit)}
    form = validate_form(data, source=source, timescales=ctx.timescales, today=today, known_staff=known,
                         domains=domains, may_not_apply=may_not_apply(ctx, audit),
                         calls={ref: call.relationship for ref, call in calls.items()})
    submission = session.scalar(select(Submission).where(Submission.audit_id == audit.id))
    first = submission is None
    if first:
        # The first form fixes who and where the case was; a resubmission corrects the form, not the case.
        case_of(session, audit.child_id).record_on(audit)
        submission = Submission(audit_id=audit.id, submitted_by_id=by, overall=form.overall, version=1,
                                submitted_at=ctx.now, recorded_at=wall_clock(), strengths=form.strengths,
                                practitioner_feedback=form.practitioner_feedback, disagreement=form.disagreement)
        session.add(submission)
        session.flush()
    else:
        if session.scalar(select(Action.id).where(Action.audit_id == audit.id,
                                                  Action.status != ActionStatus.OPEN).limit(1)):
            raise UserError(f"{reference}: some actions are already done; the form can no longer be replaced")
        submission.version += 1
        submission.submitted_by_id = by
        submission.submitted_at = ctx.now
        submission.recorded_at = wall_clock()
        session.execute(delete(FamilyFeedback).where(FamilyFeedback.submission_id == submission.id))
        session.execute(delete(Action).where(Action.audit_id == audit.id))
    before = None if first else (current_grades(session, submission), _action_key(session, audit))
    submission.strengths = form.strengths
    submission.practitioner_feedback = form.practitioner_feedback
    submission.disagreement = form.disagreement
    # The form as stored is what the page shows when it reopens; a draft saved before it is done with.
    submission.form = form.model_dump(mode="json")
    audit.form_draft = None
    record_grades(session, audit=audit, submission=submission, grades=form.grades, overall=form.overall, by=by,
                  reason="submitted" if first else "resubmitted", now=ctx.now, new=first)
    if form.not_applicable and not first:
        # A domain graded before and not applicable now has no current grade; its history stays.
        session.execute(delete(DomainGrade).where(DomainGrade.submission_id == submission.id,
                                                  DomainGrade.domain.in_(form.not_applicable)))
    for item in form.family_feedback:
        session.add(FamilyFeedback(submission_id=submission.id, relation=item.relationship, outcome=item.outcome,
                                   interpreter_used=bool(item.interpreter_used), summary=item.summary,
                                   meeting_id=calls[item.meeting].meeting_id if item.meeting else None))
    _add_actions(session, ctx, audit, form)
    audit.status = AuditStatus.SUBMITTED
    session.flush()
    log_event(session, ctx, subject_ref=audit.reference, kind="submitted" if first else "resubmitted", actor_id=by,
              detail=Redacted.fixed(f"version {submission.version}"))
    if form.immediate_response is not None:
        raise_response(session, ctx, audit=audit, trigger=ResponseTrigger.SAFEGUARDING_CONCERN,
                       reason=form.immediate_response.reason, raised_by=by)
    if form.overall == ctx.settings.framework.worst_grade or form.immediate_response is not None:
        why = "graded inadequate" if form.overall == ctx.settings.framework.worst_grade else \
            "the form raised an Immediate Response"
        book_manager_conversation(session, ctx, audit=audit, why=why)
    if first:
        # Just written from the form, so the grades need not be read back.
        _announce(session, ctx, audit, submission, {**form.grades, OVERALL: form.overall})
    elif before != (grades := current_grades(session, submission), _action_key(session, audit)):
        _announce(session, ctx, audit, submission, grades)
    return submission


def may_not_apply(ctx: AppContext, audit: Audit) -> list[str]:
    """Return the domains this audit's form may mark not applicable: the setting's, for a child with no IRO or CP chair."""
    child = audit.child
    if child.iro_id is not None or child.cp_chair_id is not None:
        return []
    return list(ctx.settings.framework.not_applicable_domains)


def _action_key(session: Session, audit: Audit) -> tuple:
    return tuple(session.execute(select(Action.description, Action.owner_id, Action.due_date)
                                 .where(Action.audit_id == audit.id).order_by(Action.id)))


def _add_actions(session: Session, ctx: AppContext, audit: Audit, form: AuditForm) -> None:
    for number, item in enumerate(form.actions, start=1):
        session.add(Action(
            reference=f"{audit.reference}-ACT{number}", audit_id=audit.id, description=item.description,
            owner_id=item.owner_id, due_date=item.due, status=ActionStatus.OPEN, escalation_step=0,
            created_at=ctx.now, recorded_at=wall_clock()))
    session.flush()


def _link(session: Session, ctx: AppContext, audit: Audit, key: MessageKey, person: Staff, *, purpose: str,
          deadline: date | None = None) -> str | None:
    """Return the person's link for an act on the audit, made once per message, or None if they may not do it."""
    if not may(session, purpose, person, Subject(audit=audit)):
        return None
    return issue_link(session, ctx, purpose=purpose, subject_ref=audit.reference, staff=person, deadline=deadline,
                      key=f"{key.for_recipient(Recipient.of(person))}:{purpose}")


def _announce(session: Session, ctx: AppContext, audit: Audit, submission: Submission, grades: dict[str, str]) -> None:
    """Tell the key worker, their team manager and the IRO or CP chair; prompt the supervision discussion."""
    framework = ctx.settings.framework
    child = audit.child
    redact = Redactor.about(session, child)
    rows = [GradeRow(framework.domains[d], framework.grades[grades[d]]) for d in framework.domains if d in grades]
    recorded = list(session.scalars(select(Action).where(Action.audit_id == audit.id).order_by(Action.id)))
    owner_ids = {a.owner_id for a in recorded}
    owners = {sid: name for sid, name in session.execute(
        select(Staff.id, Staff.name).where(Staff.id.in_(owner_ids)))} if owner_ids else {}
    actions = [ActionRow(a.reference, redact(a.description), owners.get(a.owner_id, a.owner_id),
                         day_label(a.due_date)) for a in recorded]
    overall = framework.grades[submission.overall]
    team_managers = Directory.of(session).team_managers_of(child)
    people = distinct([child.key_worker, *team_managers, child.iro, child.cp_chair])
    digest = hashlib.sha256(repr((sorted(grades.items()), actions)).encode()).hexdigest()[:10]
    key = MessageKey(PHASE, audit.cycle.month, audit.reference, f"outcome-{digest}")
    closes = ctx.timescales.moderation_closes(audit.cycle.due_date)
    for person in people:
        message = compose_outcome(recipient_name=person.name, audit_ref=audit.reference, child_id=child.id,
                                  auditor_name=audit.auditor.name if audit.auditor else "the QA team",
                                  overall_label=overall, grades=rows, actions=actions,
                                  max_days=framework.action_max_days, version=submission.version,
                                  dispute_url=_link(session, ctx, audit, key, person, purpose=DISPUTE,
                                                    deadline=closes))
        enqueue(session, ctx, key, person, message)
    if child.key_worker is not None:
        prompt_key = MessageKey(PHASE, audit.cycle.month, audit.reference, "supervision-prompt")
        # A good outcome seen in that supervision is the framework's reason to nominate: the audit's key worker,
        # offered only while the prompt names the same person.
        nominee = audited_key_worker(session, audit)
        for manager in team_managers:
            nominate_url = offer_link(
                session, ctx, purpose=MAD_NOMINATE, command="nominate-mad", subject=Subject(audit=audit),
                subject_ref=audit.reference, person=manager, key=prompt_key,
            ) if nominee is not None and nominee.id == child.key_worker_id else None
            message = compose_supervision_prompt(
                recipient_name=manager.name, audit_ref=audit.reference, child_id=child.id,
                practitioner_name=child.key_worker.name, overall_label=overall,
                responses=responses_to_raise(session, audit),
                record_url=_link(session, ctx, audit, prompt_key, manager, purpose=SUPERVISION_DISCUSSED),
                nominate_url=nominate_url)
            enqueue(session, ctx, prompt_key, manager, message)
    if audit.buddy is not None:
        # The buddy sees a new auditor's form before it is final, and agrees with it or comments from the link.
        key = MessageKey(PHASE, audit.cycle.month, audit.reference, f"buddy-review-{digest}")
        message = compose_buddy_review(
            recipient_name=audit.buddy.name, audit_ref=audit.reference, child_id=child.id,
            auditor_name=audit.auditor.name if audit.auditor else "the QA team", overall_label=overall, grades=rows,
            strengths=redact(submission.strengths), actions=actions, version=submission.version,
            close_label=day_label(ctx.timescales.moderation_closes(audit.cycle.due_date)),
            review_url=offer_link(session, ctx, purpose="buddy-review", command="buddy-review",
                                  subject=Subject(audit=audit), subject_ref=audit.reference, person=audit.buddy,
                                  key=key, deadline=ctx.timescales.moderation_closes(audit.cycle.due_date)))
        enqueue(session, ctx, key, audit.buddy, message)


def dispute(session: Session, ctx: AppContext, *, reference: str, by: str, note: str) -> Dispute:
    """Record a disagreement with an audit's grade; it is accepted until moderation closes."""
    audit = get_audit(session, reference)
    authorise(session, command="dispute", staff_id=by, subject=Subject(audit=audit))
    if not note.strip():
        raise UserError("--note is required: say why you disagree with the grade")
    if audit.status not in (AuditStatus.SUBMITTED, AuditStatus.IN_MODERATION):
        state = audit.status.value.replace("_", " ")
        raise UserError(f"{reference} is {state}: a grade can be disputed once the form is submitted and "
                        "until moderation closes")
    ctx.refuse_before(audit.created_at, f"{reference} was drawn")
    if audit.cycle.moderation_closed_at is not None and audit.status != AuditStatus.IN_MODERATION:
        raise UserError(f"moderation for {audit.cycle.month} has closed; {reference} is final")
    row = Dispute(audit_id=audit.id, raised_by_id=by, note=note.strip(), raised_at=ctx.now, recorded_at=wall_clock())
    session.add(row)
    session.flush()
    log_event(session, ctx, subject_ref=audit.reference, kind="disputed", actor_id=by)
    book_manager_conversation(session, ctx, audit=audit, why="the grade is disputed")
    return row

