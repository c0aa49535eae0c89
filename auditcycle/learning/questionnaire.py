"""The new-auditor questionnaire: sent after an auditor's first audit, once ever, and answered on its page.

The framework says "New auditors will be sent a questionnaire to gain their feedback on the audit process".
Its questions are the council's (`framework.questionnaire`). The email links to the page where the auditor
answers; each auditor answers once, each answer kept with the question as it was asked, and the QA team
reads them with `auditcycle list questionnaires`.
"""
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from auditcycle.core.clock import Month, wall_clock
from auditcycle.core.context import AppContext
from auditcycle.core.errors import UserError
from auditcycle.core.settings import QuestionnaireQuestion
from auditcycle.core.text import Redacted, text_problem
from auditcycle.links.offer import offer_link
from auditcycle.models import Audit, AuditCycle, Link, QuestionnaireResponse, Staff, Submission
from auditcycle.notifications.learning import compose_questionnaire
from auditcycle.notifications.notices import moment_label
from auditcycle.notifications.outbox import MessageKey, enqueue, told
from auditcycle.people.permissions import Subject, authorise
from auditcycle.privacy.redaction import Redactor
from auditcycle.storage.events import log_event
from auditcycle.storage.records import get_audit

PHASE = "learn"
QUESTIONNAIRE_LINK = "questionnaire"  # the purpose of the link that opens the questionnaire's page
ANSWER_MAX = 2000
ANSWERED = "answered"
NOT_ANSWERED = "not answered"


def first_audit(session: Session, staff_id: str) -> Audit | None:
    """Return the first audit an auditor submitted, which the questionnaire asks about."""
    return session.scalar(
        select(Audit).join(Submission, Submission.audit_id == Audit.id)
        .where(Audit.auditor_id == staff_id).order_by(Submission.submitted_at, Audit.id).limit(1))


def send_questionnaires(session: Session, ctx: AppContext, *, cycle: AuditCycle) -> int:
    """Send the new-auditor questionnaire to each of the cycle's auditors after their first audit, once ever."""
    auditor_ids = set(session.scalars(
        select(Audit.auditor_id).join(Submission, Submission.audit_id == Audit.id)
        .where(Audit.cycle_id == cycle.id, Audit.auditor_id.is_not(None))))
    queued = 0
    for staff_id in sorted(auditor_ids):
        staff = session.get(Staff, staff_id)
        if staff is None or not staff.active:
            continue
        # Keyed to the auditor, not the month: the questionnaire goes once in a career, not once a cycle.
        key = MessageKey(PHASE, None, f"auditor-{staff_id}", "questionnaire")
        if told(session, key, staff):
            continue  # asked already (before the page existed, perhaps): no link for a message never sent
        first = first_audit(session, staff_id)
        url = offer_link(session, ctx, purpose=QUESTIONNAIRE_LINK, command="questionnaire",
                         subject=Subject(audit=first), subject_ref=first.reference, person=staff, key=key)
        message = compose_questionnaire(recipient_name=staff.name, audit_ref=first.reference, url=url)
        queued += enqueue(session, ctx, key, staff, message) is not None
    session.flush()
    return queued


def response_of(session: Session, staff_id: str) -> QuestionnaireResponse | None:
    """Return an auditor's answers to the questionnaire, if they gave them."""
    return session.scalar(select(QuestionnaireResponse).where(QuestionnaireResponse.staff_id == staff_id))


def _answer(question: QuestionnaireQuestion, given: str | None) -> tuple[str | None, str | None]:
    """Return the answer as kept, and what is wrong with it (None when it may be kept)."""
    value = given.strip() if isinstance(given, str) else None
    if not value:
        return None, f"{question.key}: answer “{question.text}”" if question.required else None
    if question.choices and value not in question.choices:
        return None, f"{question.key}: choose one of {', '.join(question.choices)}"
    if not question.choices and len(value) > ANSWER_MAX:
        return None, f"{question.key}: at most {ANSWER_MAX:,} characters are kept"
    if problem := text_problem(value, multiline=not question.choices):
        return None, f"{question.key}: {problem}"
    return value, None


def answer_questionnaire(session: Session, ctx: AppContext, *, reference: str, by: str,
                         answers: Mapping[str, str | None]) -> QuestionnaireResponse:
    """Record an auditor's answers to the questionnaire about their first audit, once."""
    audit = get_audit(session, reference)
    authorise(session, command="questionnaire", staff_id=by, subject=Subject(audit=audit))
    if (done := response_of(session, by)) is not None:
        raise UserError(f"{by} already answered the questionnaire at {moment_label(done.answered_at, ctx.tz)}")
    questions = ctx.settings.framework.questionnaire
    unknown = sorted(set(answers) - {q.key for q in questions})
    problems = [f"{key}: not a question of the questionnaire" for key in unknown]
    kept: list[dict[str, Any]] = []
    for question in questions:
        value, problem = _answer(question, answers.get(question.key))
        if problem:
            problems.append(problem)
        kept.append({"key": question.key, "question": question.text, "answer": value})
    if problems:
        raise UserError("; ".join(problems))
    row = QuestionnaireResponse(staff_id=by, audit_id=audit.id, answers=kept, answered_at=ctx.now,
                                recorded_at=wall_clock())
    session.add(row)
    session.flush()
    given = sum(1 for item in kept if item["answer"] is not None)
    # The answers stay in the database: the trail says only how many were given.
    log_event(session, ctx, subject_ref=audit.reference, kind="questionnaire-answered", actor_id=by,
              detail=Redacted.fixed(f"{given} of {len(kept)} questions answered"))
    return row


def _moment(value: datetime | None, ctx: AppContext) -> str | None:
    return value.astimezone(ctx.tz).isoformat() if value is not None else None


def questionnaire_items(session: Session, ctx: AppContext, *, month: Month | None = None) -> list[dict]:
    """List each questionnaire sent with its page, answered or not, by the month of the audit it asked about.

    Answers are shown as the redactor leaves them: an auditor may have named a child or a family.
    """
    sent = (select(Link.staff_id, Link.subject_ref, func.min(Link.created_at).label("sent_at"))
            .where(Link.purpose == QUESTIONNAIRE_LINK).group_by(Link.staff_id, Link.subject_ref).subquery())
    stmt = (select(sent.c.subject_ref, sent.c.sent_at, Staff.id, Staff.name, AuditCycle.month, QuestionnaireResponse)
            .join(Staff, Staff.id == sent.c.staff_id)
            .join(Audit, Audit.reference == sent.c.subject_ref)
            .join(AuditCycle, AuditCycle.id == Audit.cycle_id)
            .outerjoin(QuestionnaireResponse, QuestionnaireResponse.staff_id == sent.c.staff_id)
            .order_by(sent.c.sent_at, Staff.id))
    if month:
        stmt = stmt.where(AuditCycle.month == str(month))
    redact = Redactor.for_caseload(session)
    items = []
    for ref, sent_at, staff_id, name, audit_month, response in session.execute(stmt):
        answers = [{**a, "answer": str(redact(a["answer"])) if a["answer"] else None}
                   for a in (response.answers if response else [])]
        items.append({"reference": ref, "status": ANSWERED if response else NOT_ANSWERED, "month": str(audit_month),
                      "auditor_id": staff_id, "auditor_name": name, "sent_at": _moment(sent_at, ctx),
                      "answered_at": _moment(response.answered_at if response else None, ctx), "answers": answers})
    return items
