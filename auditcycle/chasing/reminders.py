"""The `chase` phase: remind auditors of open audits, and chase learning conversations not yet booked.

It runs every working day over the current month's cycle and every earlier cycle with open audits.
The rules, with the framework's numbers from settings:

- **What is chased.** Only audits still NOTIFIED or BOOKED. Reminders stop as soon as the form is
  submitted (SUBMITTED and later) or the audit is withdrawn or replaced. An audit with no auditor
  has nobody to remind and is left to the QA team's tracker.
- **When.** Only on working days: a run on a weekend or bank holiday sends nothing.
- **Before the due date.** At each offset n of `reminder_offsets_working_days` (5 and 1), on the
  day `add_working_days(due, -n)`, the auditor gets a reminder with step key ``due-in-n``.
- **Overdue.** An audit is overdue once the working day has ended on its due day (`working_day_end`). Each working day's run then
  reminds the auditor with step key ``overdue-YYYY-MM-DD`` (today's date). From
  `overdue_qa_copy_working_days` (3) working days overdue, each QA manager gets the same message
  under the same step key, one recipient per message (the recipient makes the key differ).
- **Once each, and catching up.** The outbox key (phase, month, audit, step, recipient) makes every
  reminder go once, so a re-run the same day sends nothing. A run decides from today's date alone
  which single step is due, so missed runs are caught up without bursts: before the due date only
  the *latest* offset whose day has come is sent (an earlier one that was missed is superseded and,
  since the rule always picks the latest, never sent later); once overdue only today's reminder is
  sent, never one per missed day; and the QA copy starts on the first run at or past the threshold,
  even if the threshold day itself was missed.
- **One message a person.** A run tells each person of all their audits due or overdue that day in one
  message: the reminder alone when there is one audit, else one digest naming each audit by reference
  (`enqueue_digest`, so each audit is still told to each person once, under its own key).
- **Learning conversation.** While an open audit has no BOOKED learning-conversation meeting (never
  booked, or cancelled), the conversation counts as not yet held and is chased on the same days
  with step keys prefixed ``lc-`` (``lc-due-in-5``, ``lc-overdue-YYYY-MM-DD``), to the auditor and
  the key worker, each their own message (a digest when a run has several for one person). A booked conversation, even one whose time has passed, is
  taken as held: the form is then what is outstanding, and the audit reminder chases it. The QA
  manager is not copied on these: the audit's own overdue copy already tells them.

Every reminder is written to the outbox with phase ``chase`` in the caller's transaction.
"""
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from auditcycle.core.context import AppContext
from auditcycle.links.offer import offer_link
from auditcycle.models import Audit, AuditCycle, Child, Meeting, Staff
from auditcycle.models.enums import AuditStatus, MeetingKind, MeetingStatus
from auditcycle.notifications.chasing import (
    AuditReminderItem,
    ConversationItem,
    ReminderFacts,
    compose_audit_reminders,
    compose_conversation_reminders,
)
from auditcycle.notifications.message import Recipient
from auditcycle.notifications.outbox import MessageKey, enqueue_digest, told
from auditcycle.people.directory import Directory, recipient
from auditcycle.people.permissions import Subject

PHASE = "chase"
# Chasing stops at submission: later states belong to moderation, earlier ones have not been announced.
CHASED = (AuditStatus.NOTIFIED, AuditStatus.BOOKED)
CONVERSATION_PREFIX = "lc-"


@dataclass
class ChaseSummary:
    """What a chase run did, in counts."""

    audits: int = 0
    reminders: int = 0
    qa_copies: int = 0
    conversation_reminders: int = 0

    @property
    def messages(self) -> int:
        """Return the number of messages queued."""
        return self.reminders + self.qa_copies + self.conversation_reminders


@dataclass(frozen=True)
class Step:
    """The one reminder an audit is due today: its step key and where the audit stands."""

    key: str
    overdue: bool
    working_days: int
    copy_qa: bool


def step_due(ctx: AppContext, *, due: date) -> Step | None:
    """Return the single reminder step due today for something due on a day, or None."""
    ts, framework = ctx.timescales, ctx.settings.framework
    today = ts.today(ctx.now)
    if ts.is_overdue(due, ctx.now):
        late = ts.working_days_between(due, today)
        return Step(f"overdue-{today.isoformat()}", True, late, late >= framework.overdue_qa_copy_working_days)
    # The smallest offset whose day has come is the latest reminder day; earlier ones are superseded.
    reached = [n for n in framework.reminder_offsets_working_days if ts.add_working_days(due, -n) <= today]
    if not reached:
        return None
    return Step(f"due-in-{min(reached)}", False, max(ts.working_days_between(today, due), 0), False)


def open_cycles(session: Session, ctx: AppContext) -> list[AuditCycle]:
    """List the cycles with audits still to be submitted (notified or booked), oldest first."""
    # ctx keeps the phase signature uniform; which reminders are due is decided per audit in `chase`.
    return list(session.scalars(
        select(AuditCycle).where(AuditCycle.id.in_(select(Audit.cycle_id).where(Audit.status.in_(CHASED))))
        .order_by(AuditCycle.month, AuditCycle.id)))


def chase(session: Session, ctx: AppContext, *, cycles: Sequence[AuditCycle]) -> ChaseSummary:
    """Queue today's reminders for the open audits of the cycles and their unbooked learning conversations."""
    summary = ChaseSummary()
    if not cycles or not ctx.timescales.is_working_day(ctx.timescales.today(ctx.now)):
        return summary
    months = {c.id: c.month for c in cycles}
    audits = list(session.scalars(
        select(Audit).where(Audit.cycle_id.in_(months), Audit.status.in_(CHASED)).order_by(Audit.id)
        .options(selectinload(Audit.auditor), selectinload(Audit.child).selectinload(Child.key_worker))))
    if not audits:
        return summary
    conversations = set(session.scalars(
        select(Meeting.audit_id).join(Audit, Meeting.audit_id == Audit.id)
        .where(Audit.cycle_id.in_(months), Meeting.kind == MeetingKind.LEARNING_CONVERSATION,
               Meeting.status == MeetingStatus.BOOKED)))
    qa_managers: list[Staff] | None = None
    reminders: dict[Recipient, list[tuple[MessageKey, AuditReminderItem]]] = {}
    auditors: set[str] = set()
    conversations_due: dict[Recipient, list[tuple[MessageKey, ConversationItem]]] = {}
    framework = ctx.settings.framework
    for audit in audits:
        step = step_due(ctx, due=audit.due_date)
        if step is None or audit.auditor is None:
            continue
        summary.audits += 1
        month, child, auditor = months[audit.cycle_id], audit.child, audit.auditor
        facts = ReminderFacts(audit_ref=audit.reference, child_id=child.id, child_initials=child.initials,
                              month=month, due=audit.due_date, working_days=step.working_days,
                              overdue=step.overdue, guidance_url=framework.guidance_url)
        people: set[Recipient] = {recipient(auditor)}
        if step.copy_qa:
            if qa_managers is None:
                qa_managers = Directory(session).qa_managers
            people |= {recipient(m) for m in qa_managers}
        key = MessageKey(PHASE, month, audit.reference, step.key)
        for person in sorted(people):
            if told(session, key, person):
                continue
            form_url = None
            if person.staff_id == auditor.id:
                auditors.add(auditor.id)
                # Only the auditor's own copy carries the form's link: a link is one person's.
                form_url = offer_link(session, ctx, purpose="audit-form", command="submit",
                                      subject=Subject(audit=audit), subject_ref=audit.reference, person=auditor,
                                      key=key, deadline=audit.due_date)
            reminders.setdefault(person, []).append(
                (key, AuditReminderItem(facts, auditor_name=auditor.name, qa_copied=step.copy_qa, form_url=form_url)))
        if audit.id in conversations:
            continue
        pair = [s for s in (auditor, child.key_worker) if s is not None]
        names = tuple(s.name for s in pair)
        key = MessageKey(PHASE, month, audit.reference, CONVERSATION_PREFIX + step.key)
        for person in sorted({recipient(s) for s in pair}):
            conversations_due.setdefault(person, []).append((key, ConversationItem(facts, names)))
    # One message per person and kind a day, however many of their audits are due or overdue.
    today = ctx.timescales.today(ctx.now).isoformat()
    for person, found_conversations in conversations_due.items():
        summary.conversation_reminders += enqueue_digest(
            session, ctx, MessageKey(PHASE, None, f"conversations-due-{today}", "reminders"), person,
            found_conversations, lambda found, person=person: compose_conversation_reminders(
                recipient_name=person.name, items=found)) is not None
    for person, items in reminders.items():
        queued = enqueue_digest(session, ctx, MessageKey(PHASE, None, f"audits-due-{today}", "reminders"), person,
                                items, lambda found, person=person: compose_audit_reminders(
                                    recipient_name=person.name, items=found)) is not None
        if person.staff_id in auditors:
            summary.reminders += queued
        else:
            summary.qa_copies += queued
    session.flush()
    return summary
