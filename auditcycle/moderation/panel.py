"""Moderation: choose the month's audits for the panel, book the panel, and record what it decides.

The framework asks for about a third of each month's audits to be moderated: every audit graded
good or better (with an assistant director), every audit whose grade is disputed, and a random
top-up. Each practice improvement manager also moderates one colleague's audit a month.

Moderation always closes:

- **Late forms.** A good or better form, or a disputed one, that comes in after selection ran is
  selected on the next run, even after the window has closed; only the other late forms become final
  as submitted at closure (no random top-up or manager's audit is added once it has closed).
- **An assistant director agrees a good grade.** When the submitted or the moderated overall grade is
  good or better, the panel's decision (`record_moderation`) is final only once an assistant director
  has agreed it (`agree_moderation`, `auditcycle agree-moderation`); an assistant director who records
  the decision themselves agrees it at once. Until then the audit stays in moderation.
- **Undecided audits are chased.** Each run chases every audit still in moderation, counting working
  days from its selection: the panel (and the practice improvement manager moderating it) at the first
  of `moderation_chase_working_days` (3), each QA manager at the second (5), the audit's assistant
  director (or every one, when it has none) at the third (8). Each step goes once (its outbox step key
  is ``chase-<step>``); a run that missed a step's day sends it on the next run, with any later step due.
"""
import hashlib
import math
import random
import uuid
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from auditcycle.booking.location import meeting_location
from auditcycle.booking.meetings import cant_make_link, diary_busy, time_label
from auditcycle.booking.slots import Interval, SlotRequest, find_slot
from auditcycle.booking.window import panel_earliest_start
from auditcycle.core.clock import Month, wall_clock
from auditcycle.core.context import AppContext
from auditcycle.core.errors import UserError
from auditcycle.core.settings import FrameworkSettings
from auditcycle.core.text import Redacted
from auditcycle.links.tokens import issue_link
from auditcycle.models import (
    Audit,
    AuditCycle,
    Child,
    Dispute,
    GradeChange,
    Moderation,
    OutboxMessage,
    Staff,
    Submission,
)
from auditcycle.models.enums import AuditStatus, ModerationStatus, Role
from auditcycle.notifications.invites import Invite
from auditcycle.notifications.message import Recipient
from auditcycle.notifications.moderation import (
    ChaseFacts,
    ChaseItem,
    GradeMove,
    PanelItem,
    compose_assignment,
    compose_chases,
    compose_outcome,
    compose_panel_invite,
    compose_panel_list,
    compose_unbooked,
)
from auditcycle.notifications.notices import day_label, month_label
from auditcycle.notifications.outbox import MessageKey, enqueue, enqueue_digest, invited, mail_domain, told
from auditcycle.people.directory import Directory, moderation_panel, recipient, staff_with_role
from auditcycle.people.permissions import Subject, authorise, may
from auditcycle.storage.records import get_audit
from auditcycle.submissions.grades import OVERALL, current_grades, record_grades

PHASE = "moderate"
MODERATION = "moderation"  # the reason a grade change made by moderation is recorded under
GOOD = "graded good or better"
DISPUTED = "disputed"
RANDOM = "random"
PIM_EXTRA = "practice improvement manager's moderation"
# Added to the cycle's seed so the moderation top-up is reproducible yet independent of the draw.
SEED_OFFSET = 7919
# The steps of the chase of an undecided moderation, in the order of `moderation_chase_working_days`.
CHASE_STEPS = ("panel", "qa-manager", "assistant-director")
MODERATE_LINK = "moderate"  # the purpose of the link that opens one audit's moderation page
AGREE_LINK = "agree-moderation"  # the purpose of the link an assistant director agrees a good grade with


@dataclass
class ModerationSummary:
    """What a moderation run did, in counts and references only."""

    month: Month
    selected: dict[str, list[str]] = field(default_factory=dict)
    assigned: list[str] = field(default_factory=list)
    meeting_booked: bool = False
    meeting_unbooked: str | None = None
    closed: bool = False
    finalised: int = 0
    chased: int = 0
    messages: int = 0

    @property
    def selected_count(self) -> int:
        """Return how many audits this run selected, whatever the reason."""
        return sum(len(refs) for refs in self.selected.values())


def closure_day(ctx: AppContext, cycle: AuditCycle) -> date:
    """Return the last day of the moderation window: N working days after the due date."""
    return ctx.timescales.moderation_closes(cycle.due_date)


def is_closed(ctx: AppContext, cycle: AuditCycle) -> bool:
    """Say whether moderation of a cycle has closed, by record or by the calendar."""
    return cycle.moderation_closed_at is not None or ctx.timescales.today(ctx.now) > closure_day(ctx, cycle)


def needs_director(framework: FrameworkSettings, moderation: Moderation) -> bool:
    """Say whether a moderation is final only with an assistant director's agreement: a good or better grade."""
    good = framework.good_or_better
    return moderation.original_overall in good or moderation.moderated_overall in good


def awaiting_director(framework: FrameworkSettings, moderation: Moderation) -> bool:
    """Say whether the panel has decided a moderation that still waits for an assistant director's agreement."""
    return (moderation.decided_at is not None and moderation.director_agreed_at is None
            and needs_director(framework, moderation))


def stage(framework: FrameworkSettings, moderation: Moderation, *, in_moderation: bool) -> str:
    """Say where a moderation stands: awaiting the panel, awaiting an assistant director, or final."""
    if not in_moderation:
        return "final"
    return "awaiting an assistant director" if awaiting_director(framework, moderation) else "awaiting the panel"


def chase_steps_due(framework: FrameworkSettings, age: int) -> tuple[str, ...]:
    """Return the steps of the chase due for a moderation undecided for `age` working days, lowest first."""
    return tuple(step for step, days in zip(CHASE_STEPS, framework.moderation_chase_working_days, strict=True)
                 if age >= days)


def age_working_days(ctx: AppContext, moderation: Moderation) -> int:
    """Return how many working days have passed since a moderation was selected."""
    ts = ctx.timescales
    return max(ts.working_days_between(ts.today(moderation.selected_at), ts.today(ctx.now)), 0)


def share_target(share: float, submitted: int) -> int:
    """Return how many audits the share asks for, rounding up."""
    # Rounded first so 1/3 of 9 is 3, not 4 from floating-point dust.
    return math.ceil(round(share * submitted, 9))


def panel(session: Session, ctx: AppContext) -> list[Staff]:
    """Return the moderation panel under this council's settings."""
    return moderation_panel(session, ctx.settings.framework.moderation_panel_service)


def cycle_moderations(session: Session, cycle: AuditCycle) -> list[Moderation]:
    """List a cycle's moderations in the order they were selected."""
    return list(session.scalars(
        select(Moderation).join(Audit, Moderation.audit_id == Audit.id).where(Audit.cycle_id == cycle.id)
        .order_by(Moderation.id)
        .options(selectinload(Moderation.audit).selectinload(Audit.child))))


def _select(session: Session, ctx: AppContext, cycle: AuditCycle, summary: ModerationSummary, *,
            closed: bool) -> None:
    """Add this run's selections: good, disputed, then (while open) the random top-up and each manager's audit."""
    framework = ctx.settings.framework
    rows = session.execute(
        select(Audit, Submission).join(Submission, Submission.audit_id == Audit.id)
        .where(Audit.cycle_id == cycle.id).order_by(Audit.id)).all()
    existing = cycle_moderations(session, cycle)
    chosen = {m.audit_id for m in existing}
    candidates = [(a, sub) for a, sub in rows if a.status == AuditStatus.SUBMITTED and a.id not in chosen]
    disputed = set(session.scalars(
        select(Dispute.audit_id).join(Audit, Dispute.audit_id == Audit.id).where(Audit.cycle_id == cycle.id)))
    moderations = list(existing)

    def take(audit: Audit, submission: Submission, reason: str, **extra: str | None) -> Moderation:
        moderation = Moderation(audit_id=audit.id, audit=audit, reason=reason, status=ModerationStatus.PENDING,
                                original_overall=submission.overall, selected_at=ctx.now, **extra)
        session.add(moderation)
        audit.status = AuditStatus.IN_MODERATION
        chosen.add(audit.id)
        moderations.append(moderation)
        summary.selected.setdefault(reason, []).append(audit.reference)
        return moderation

    directors = staff_with_role(session, Role.ASSISTANT_DIRECTOR)
    # Continue the rotation from earlier runs so late good audits do not all land on the first director.
    turn = sum(1 for m in existing if m.assistant_director_id is not None)
    for audit, submission in candidates:
        if submission.overall in framework.good_or_better:
            director = directors[turn % len(directors)].id if directors else None
            turn += director is not None
            take(audit, submission, GOOD, assistant_director_id=director)
    for audit, submission in candidates:
        if audit.id not in chosen and (audit.id in disputed or submission.disagreement):
            take(audit, submission, DISPUTED)
    if closed:
        # The framework's musts still apply to late forms; the top-up and the managers' audits belong to the window.
        session.flush()
        return

    rng = random.Random((cycle.seed or 0) + SEED_OFFSET)
    remaining = [(a, sub) for a, sub in candidates if a.id not in chosen]
    rng.shuffle(remaining)
    shortfall = share_target(framework.moderation_share, len(rows)) - len(moderations)
    for audit, submission in remaining[:max(shortfall, 0)]:
        take(audit, submission, RANDOM)

    assigned = {m.moderator_id for m in moderations if m.moderator_id is not None}
    for manager in staff_with_role(session, Role.PRACTICE_IMPROVEMENT_MANAGER):
        if manager.id in assigned:
            continue  # once per cycle: a re-run never reassigns

        def colleague(audit: Audit, manager_id: str = manager.id) -> bool:
            return manager_id not in {audit.auditor_id, audit.buddy_id}

        open_ones = [m for m in moderations if m.moderator_id is None and m.status == ModerationStatus.PENDING
                     and colleague(m.audit)]
        # Audits the assistant directors already sit on come last, so moderators spread across the list.
        open_ones.sort(key=lambda m: m.assistant_director_id is not None)
        if open_ones:
            target = open_ones[0]
        else:
            spare = [(a, sub) for a, sub in remaining if a.id not in chosen and colleague(a)]
            if not spare:
                continue  # nothing eligible yet; a later run with more forms assigns one
            target = take(*spare[0], PIM_EXTRA)
        target.moderator_id = manager.id
        assigned.add(manager.id)
        summary.assigned.append(target.audit.reference)
    session.flush()


def _finalise(session: Session, ctx: AppContext, cycle: AuditCycle, summary: ModerationSummary) -> None:
    """Close moderation: every submitted audit not selected becomes final as submitted."""
    selected = select(Moderation.audit_id)
    audits = list(session.scalars(
        select(Audit).join(Submission, Submission.audit_id == Audit.id)
        .where(Audit.cycle_id == cycle.id, Audit.status == AuditStatus.SUBMITTED, Audit.id.not_in(selected))))
    for audit in audits:
        audit.status = AuditStatus.COMPLETED
    summary.finalised = len(audits)
    if cycle.moderation_closed_at is None:
        cycle.moderation_closed_at = ctx.now
    summary.closed = True
    session.flush()


def _busy(session: Session, cycle: AuditCycle, staff_ids: set[str], start: datetime,
          end: datetime) -> dict[str, list[Interval]]:
    """Load the panel's busy periods, booked meetings and other months' moderation panels in a window."""
    busy = diary_busy(session, staff_ids, start, end)
    # Another cycle's panel is no Meeting row, but it fills the same diaries.
    for s, e in session.execute(
        select(AuditCycle.moderation_starts_at, AuditCycle.moderation_ends_at).where(
            AuditCycle.id != cycle.id, AuditCycle.moderation_starts_at.is_not(None),
            AuditCycle.moderation_ends_at > start, AuditCycle.moderation_starts_at < end)
    ):
        for person in staff_ids:
            busy[person].append(Interval(s, e))
    return busy


def panel_reference(cycle: AuditCycle) -> str:
    """Return the reference of a cycle's panel meeting, as its invites and their links name it."""
    return f"{cycle.reference}-panel"


def panel_title(cycle: AuditCycle) -> str:
    """Return the panel meeting's title as its invite gives it."""
    return f"Audit moderation panel: {month_label(cycle.month)}"


def get_panel(session: Session, reference: str) -> AuditCycle | None:
    """Return the cycle whose panel meeting has this reference, if its panel is booked."""
    if not reference.endswith("-panel"):
        return None
    return session.scalar(select(AuditCycle).where(AuditCycle.reference == reference.removesuffix("-panel"),
                                                   AuditCycle.moderation_uid.is_not(None)))


def panel_attendees(session: Session, cycle: AuditCycle) -> list[Staff]:
    """Return everyone the panel meeting's invite was sent to, by id."""
    return invited(session, phase=PHASE, subject_ref=panel_reference(cycle))


def _panel_slot(session: Session, ctx: AppContext, cycle: AuditCycle, people: set[str], *,
                leaving: Interval | None = None) -> datetime | None:
    """Find the panel's first time free for these people if its invite is sent now, or None.

    The panel's rules: within working hours, no sooner than its notice from now (`panel_earliest_start`),
    and on or before the day moderation closes. `leaving` is a time it is moving away from.
    """
    last = closure_day(ctx, cycle)
    not_before = panel_earliest_start(ctx, cycle)
    request = SlotRequest(key=panel_reference(cycle), people=tuple(sorted(people)),
                          minutes=ctx.settings.framework.moderation_meeting_minutes,
                          earliest=ctx.timescales.today(not_before), latest=last, not_before=not_before)
    busy = _busy(session, cycle, people, not_before, ctx.timescales.due_at(last))
    if leaving is not None:
        for person in people:
            busy[person].append(leaving)
    return find_slot(request, busy, ctx.timescales, not_before=ctx.now)


def _book_panel(session: Session, ctx: AppContext, cycle: AuditCycle, members: list[Staff],
                summary: ModerationSummary, audits: int) -> int:
    """Book the panel meeting once per cycle; tell the QA manager plainly when it cannot be booked."""
    if cycle.moderation_uid is not None:
        return 0
    framework = ctx.settings.framework
    last = closure_day(ctx, cycle)
    # The invite goes out in this run, so the panel meets no sooner than its notice from now.
    earliest = ctx.timescales.today(panel_earliest_start(ctx, cycle))
    start = None
    if members:
        start = _panel_slot(session, ctx, cycle, {m.id for m in members})
        reason = (f"no {framework.moderation_meeting_minutes}-minute window within working hours between "
                  f"{day_label(earliest)} and {day_label(last)} when the whole panel is free")
    else:
        reason = (f"no moderation panel: there is no active principal social worker or service manager of "
                  f"{framework.moderation_panel_service}")
    if start is None:
        summary.meeting_unbooked = reason
        queued = 0
        for manager in Directory(session).qa_managers:
            message = compose_unbooked(recipient_name=manager.name, month=cycle.month, reason=reason, audits=audits)
            queued += enqueue(session, ctx, MessageKey(PHASE, cycle.month, panel_reference(cycle), "unbooked"), manager, message) is not None
        return queued
    cycle.moderation_uid = f"{uuid.uuid4()}@{mail_domain(ctx)}"
    cycle.moderation_starts_at = start
    cycle.moderation_ends_at = start + timedelta(minutes=framework.moderation_meeting_minutes)
    summary.meeting_booked = True
    session.flush()
    return 0


def moderate_link(session: Session, ctx: AppContext, audit: Audit, key: MessageKey, person: Staff) -> str | None:
    """Return the person's link to moderate one audit, made once per message, or None if they may not moderate it."""
    if not may(session, "moderate", person, Subject(audit=audit)):
        return None
    return issue_link(session, ctx, purpose=MODERATE_LINK, subject_ref=audit.reference, staff=person,
                      deadline=closure_day(ctx, audit.cycle),
                      key=f"{key.for_recipient(Recipient.of(person))}:{MODERATE_LINK}:{audit.reference}")


def agree_link(session: Session, ctx: AppContext, audit: Audit, key: MessageKey, person: Staff) -> str | None:
    """Return an assistant director's link to agree the panel's grade of one audit, or None if they may not."""
    if not may(session, "agree-moderation", person, Subject(audit=audit)):
        return None
    return issue_link(session, ctx, purpose=AGREE_LINK, subject_ref=audit.reference, staff=person,
                      key=f"{key.for_recipient(Recipient.of(person))}:{AGREE_LINK}:{audit.reference}")


def _panel_messages(session: Session, ctx: AppContext, cycle: AuditCycle, members: list[Staff], *,
                    closed: bool) -> int:
    """Queue the list to the panel and assistant directors, the invite, and each manager's assignment."""
    framework = ctx.settings.framework
    moderations = cycle_moderations(session, cycle)
    if not moderations:
        return 0
    wanted = ({m.moderator_id for m in moderations} | {m.assistant_director_id for m in moderations}) - {None}
    people = {s.id: s for s in session.scalars(select(Staff).where(Staff.id.in_(wanted)))}
    items = sorted(
        (PanelItem(audit_ref=m.audit.reference, child_id=m.audit.child_id, reason=m.reason,
                   grade_label=framework.grades.get(m.original_overall or "", m.original_overall or "not graded"),
                   moderator_name=people[m.moderator_id].name if m.moderator_id else None,
                   assistant_director_name=people[m.assistant_director_id].name if m.assistant_director_id else None)
         for m in moderations), key=lambda i: i.audit_ref)
    digest = hashlib.sha256(repr([tuple(vars(i).values()) for i in items]).encode()).hexdigest()[:12]
    directors = [people[d] for d in dict.fromkeys(m.assistant_director_id for m in moderations) if d]
    audience = sorted({recipient(s): s for s in [*members, *directors]}.items())
    close_label = day_label(closure_day(ctx, cycle))
    meeting_label = (time_label(ctx, cycle.moderation_starts_at, cycle.moderation_ends_at)
                     if cycle.moderation_starts_at and cycle.moderation_ends_at else None)
    # Anyone who already has a list of this cycle is sent the next one marked as an update.
    had_list = set(session.scalars(select(OutboxMessage.recipient_id).where(
        OutboxMessage.phase == PHASE, OutboxMessage.step == "list",
        OutboxMessage.subject_ref.startswith(f"{cycle.reference}-list-"))))
    queued = 0
    list_key = MessageKey(PHASE, cycle.month, f"{cycle.reference}-list-{digest}", "list")
    by_ref = {m.audit.reference: m.audit for m in moderations}
    for person, staff in audience:
        # Each audit on the list with its own link: a link names exactly one audit.
        linked = [replace(item, moderate_url=moderate_link(session, ctx, by_ref[item.audit_ref], list_key, staff))
                  for item in items]
        message = compose_panel_list(recipient_name=staff.name, month=cycle.month, items=linked,
                                     updated=person.staff_id in had_list, meeting_label=meeting_label,
                                     close_label=close_label, closed=closed)
        queued += enqueue(session, ctx, list_key, person, message) is not None
    # The meeting lies inside the window, so nobody added to the list after closure is invited to it.
    if cycle.moderation_uid and cycle.moderation_starts_at and cycle.moderation_ends_at and not closed:
        queued += _send_panel_invites(session, ctx, cycle, [staff for _, staff in audience], step="request-0",
                                      audits=len(items))
    for m in moderations:
        if m.moderator_id is None:
            continue
        manager = people[m.moderator_id]
        key = MessageKey(PHASE, cycle.month, m.audit.reference, "moderator")
        message = compose_assignment(recipient_name=manager.name, month=cycle.month, audit_ref=m.audit.reference,
                                     child_id=m.audit.child_id,
                                     grade_label=framework.grades.get(m.original_overall or "", "not graded"),
                                     close_label=close_label, meeting_label=meeting_label,
                                     moderate_url=moderate_link(session, ctx, m.audit, key, manager))
        queued += enqueue(session, ctx, key, manager, message) is not None
    return queued


def _send_panel_invites(session: Session, ctx: AppContext, cycle: AuditCycle, people: list[Staff], *, step: str,
                        audits: int, reason: Redacted | None = None) -> int:
    """Queue the panel meeting's request or update to each person not yet sent this step, with their can't-make link."""
    assert cycle.moderation_uid and cycle.moderation_starts_at and cycle.moderation_ends_at
    framework = ctx.settings.framework
    invite = Invite(uid=cycle.moderation_uid, sequence=cycle.moderation_sequence, summary=panel_title(cycle),
                    description=(f"Moderation of the {cycle.month} audits ({cycle.reference}). "
                                 "The list of audits comes in a separate email.\n"
                                 "Booked by the Quality Assurance team through auditcycle."),
                    location=meeting_location(ctx.settings), start=cycle.moderation_starts_at,
                    end=cycle.moderation_ends_at, organiser_name=ctx.settings.mail_from_name,
                    organiser_email=str(ctx.settings.mail_from), attendees=tuple(recipient(s) for s in people))
    key = MessageKey(PHASE, cycle.month, panel_reference(cycle), step)
    subject = Subject(participant_ids=frozenset(s.id for s in people))
    queued = 0
    for staff in people:
        if told(session, key, staff):
            continue  # its link was made with it; a re-run would make it again for nothing
        url = cant_make_link(session, ctx, reference=panel_reference(cycle), sequence=cycle.moderation_sequence,
                             starts_at=cycle.moderation_starts_at, subject=subject, key=key, person=staff)
        message = compose_panel_invite(invite, recipient_name=staff.name, month=cycle.month,
                                       when_label=time_label(ctx, cycle.moderation_starts_at, cycle.moderation_ends_at),
                                       minutes=framework.moderation_meeting_minutes, audits=audits,
                                       close_label=day_label(closure_day(ctx, cycle)), stamp=ctx.now,
                                       reason=reason, cant_make_url=url)
        queued += enqueue(session, ctx, key, staff, message) is not None
    return queued


def move_panel(session: Session, ctx: AppContext, cycle: AuditCycle, *, reason: Redacted) -> bool:
    """Move the panel meeting to the next time that suits everyone invited, by the panel's rules; False if none.

    The update goes now to everyone sent the invite, with the same UID and a higher SEQUENCE.
    """
    assert cycle.moderation_starts_at and cycle.moderation_ends_at
    people = panel_attendees(session, cycle)
    start = _panel_slot(session, ctx, cycle, {p.id for p in people},
                        leaving=Interval(cycle.moderation_starts_at, cycle.moderation_ends_at))
    if start is None:
        return False
    cycle.moderation_ends_at = start + (cycle.moderation_ends_at - cycle.moderation_starts_at)
    cycle.moderation_starts_at = start
    cycle.moderation_sequence += 1
    session.flush()
    _send_panel_invites(session, ctx, cycle, people, step=f"update-{cycle.moderation_sequence}",
                        audits=len(cycle_moderations(session, cycle)), reason=reason)
    return True


def _chase_people(session: Session, step: str, moderation: Moderation, members: list[Staff]) -> list[Staff]:
    """Return who one step of the chase goes to."""
    if step == "panel":
        moderator = [session.get(Staff, moderation.moderator_id)] if moderation.moderator_id else []
        return [*members, *moderator]
    if step == "qa-manager":
        return Directory(session).qa_managers
    director = session.get(Staff, moderation.assistant_director_id) if moderation.assistant_director_id else None
    return [director] if director is not None and director.active else staff_with_role(
        session, Role.ASSISTANT_DIRECTOR)


def _chase(session: Session, ctx: AppContext, cycle: AuditCycle, moderations: list[Moderation],
           members: list[Staff]) -> int:
    """Queue each chase step that has fallen due for the cycle's undecided moderations, once; return how many."""
    ts, framework = ctx.timescales, ctx.settings.framework
    if not ts.is_working_day(ts.today(ctx.now)):
        return 0
    chases: dict[Recipient, list[tuple[MessageKey, ChaseItem]]] = {}
    for moderation in moderations:
        if moderation.audit.status != AuditStatus.IN_MODERATION:
            continue
        age = age_working_days(ctx, moderation)
        facts = ChaseFacts(audit_ref=moderation.audit.reference, child_id=moderation.audit.child_id,
                           month=cycle.month, reason=moderation.reason,
                           grade_label=framework.grades.get(moderation.original_overall or "", "not graded"),
                           working_days=age, awaiting_director=awaiting_director(framework, moderation))
        for step in chase_steps_due(framework, age):
            key = MessageKey(PHASE, cycle.month, moderation.audit.reference, f"chase-{step}")
            for person, staff in sorted({recipient(s): s for s in _chase_people(session, step, moderation,
                                                                                 members)}.items()):
                if told(session, key, person):
                    continue
                # Waiting for an assistant director's agreement, the panel has nothing left to record.
                if facts.awaiting_director:
                    item = ChaseItem(facts, step, agree_url=agree_link(session, ctx, moderation.audit, key, staff))
                else:
                    item = ChaseItem(facts, step, moderate_url=moderate_link(session, ctx, moderation.audit, key, staff))
                chases.setdefault(person, []).append((key, item))
    # One message per person a day, however many moderations they are chased for.
    today = ts.today(ctx.now).isoformat()
    return sum(enqueue_digest(session, ctx, MessageKey(PHASE, cycle.month, f"chases-{today}", "chase"), person, items,
                              lambda found, person=person: compose_chases(recipient_name=person.name, items=found))
               is not None for person, items in chases.items())


def select_for_moderation(session: Session, ctx: AppContext, *, cycle: AuditCycle) -> ModerationSummary:
    """Select the cycle's audits for moderation, book the panel and tell everyone, chase, and close when due."""
    summary = ModerationSummary(month=cycle.month)
    closed = is_closed(ctx, cycle)
    # Selection comes first even once closed, so a late good or disputed form is moderated, not finalised.
    _select(session, ctx, cycle, summary, closed=closed)
    if closed:
        _finalise(session, ctx, cycle, summary)
    moderations = cycle_moderations(session, cycle)
    if not moderations:
        return summary
    members = panel(session, ctx)
    if not closed:
        summary.messages += _book_panel(session, ctx, cycle, members, summary, len(moderations))
    summary.messages += _panel_messages(session, ctx, cycle, members, closed=closed)
    summary.chased = _chase(session, ctx, cycle, moderations, members)
    summary.messages += summary.chased
    session.flush()
    return summary


def submitted_grades(session: Session, audit: Audit) -> dict[str, str]:
    """Return an audit's grades by domain (and 'overall') as submitted, before any moderation changed them."""
    submission = session.scalar(select(Submission).where(Submission.audit_id == audit.id))
    if submission is None:
        raise UserError(f"{audit.reference} has no submitted form")
    grades = current_grades(session, submission)
    for change in session.scalars(select(GradeChange).where(
            GradeChange.audit_id == audit.id, GradeChange.reason == MODERATION).order_by(GradeChange.id.desc())):
        if change.old_grade is not None:
            grades[change.domain] = change.old_grade  # the earliest change, read last, holds the submitted grade
    return grades


def _problems(ctx: AppContext, grade: str, domains: dict[str, str], note: str) -> list[str]:
    framework = ctx.settings.framework
    valid = ", ".join(framework.grades)
    problems = []
    if grade not in framework.grades:
        problems.append(f"overall grade {grade!r} is not one of {valid}")
    for domain, value in domains.items():
        if domain not in framework.domains:
            problems.append(f"domain {domain!r} is not one of {', '.join(framework.domains)}")
        elif value not in framework.grades:
            problems.append(f"{domain} grade {value!r} is not one of {valid}")
    if len(note) > framework.text_max_chars:
        problems.append(f"the note is {len(note)} characters; at most {framework.text_max_chars} are kept")
    return problems


def parse_domain_grades(items: list[str]) -> dict[str, str]:
    """Read changed domain grades written as slug=grade, saying how to write one that is not."""
    domains: dict[str, str] = {}
    for item in items:
        slug, sep, value = item.partition("=")
        if not sep:
            raise UserError(f"--domain {item!r}: write it as slug=grade, e.g. assessment=good")
        domains[slug.strip()] = value.strip()
    return domains


def record_moderation(session: Session, ctx: AppContext, *, reference: str, by: str, grade: str,
                      domains: dict[str, str], note: str) -> Moderation:
    """Record the moderated grades of an audit; final at once, or once an assistant director agrees a good grade."""
    audit = get_audit(session, reference)
    actor = authorise(session, command="moderate", staff_id=by, subject=Subject(audit=audit))
    moderation = session.scalar(select(Moderation).where(Moderation.audit_id == audit.id))
    submission = session.scalar(select(Submission).where(Submission.audit_id == audit.id))
    if audit.status != AuditStatus.IN_MODERATION or moderation is None or submission is None:
        raise UserError(f"{reference} is not in moderation")
    ctx.refuse_before(moderation.selected_at, f"{reference} was selected for moderation")
    problems = _problems(ctx, grade, domains, note)
    if problems:
        raise UserError(f"{reference}: nothing was recorded, because " + "; ".join(problems))
    framework = ctx.settings.framework
    record_grades(session, audit=audit, submission=submission, grades=dict(domains), overall=grade,
                  by=by, reason=MODERATION, now=ctx.now)
    # Judged against the submitted grades, so a second decision before it is final reads the same as a first.
    changed = bool(grade_moves(session, framework, audit))
    moderation.status = ModerationStatus.CHANGED if changed else ModerationStatus.AGREED
    moderation.moderated_overall = grade
    moderation.note = note
    moderation.decided_by_id = by
    moderation.decided_at = ctx.now
    moderation.recorded_at = wall_clock()
    if needs_director(framework, moderation):
        if actor.role != Role.ASSISTANT_DIRECTOR:
            session.flush()
            return moderation  # final once an assistant director agrees (agree_moderation)
        moderation.director_agreed_by_id, moderation.director_agreed_at = by, ctx.now
    _make_final(session, ctx, audit, moderation)
    return moderation


def agree_moderation(session: Session, ctx: AppContext, *, reference: str, by: str) -> Moderation:
    """Record an assistant director's agreement of the panel's good or better grade, which then becomes final."""
    audit = get_audit(session, reference)
    authorise(session, command="agree-moderation", staff_id=by, subject=Subject(audit=audit))
    moderation = session.scalar(select(Moderation).where(Moderation.audit_id == audit.id))
    if audit.status != AuditStatus.IN_MODERATION or moderation is None:
        raise UserError(f"{reference} is not in moderation")
    if moderation.decided_at is None:
        raise UserError(f"{reference}: the panel has not recorded its decision yet (auditcycle moderate); "
                        "an assistant director agrees it once it has")
    ctx.refuse_before(moderation.decided_at, f"{reference}'s moderation was recorded")
    moderation.director_agreed_by_id, moderation.director_agreed_at = by, ctx.now
    _make_final(session, ctx, audit, moderation)
    return moderation


def grade_moves(session: Session, framework: FrameworkSettings, audit: Audit) -> list[GradeMove]:
    """Return the grades moderation changed, from the submitted grade to the last decision, as labels."""
    first: dict[str, str | None] = {}
    last: dict[str, str] = {}
    for change in session.scalars(select(GradeChange).where(
            GradeChange.audit_id == audit.id, GradeChange.reason == MODERATION).order_by(GradeChange.id)):
        first.setdefault(change.domain, change.old_grade)
        last[change.domain] = change.new_grade
    labels = {OVERALL: "Overall grade", **framework.domains}
    return [GradeMove(domain_label=labels.get(domain, domain),
                      old_label=framework.grades.get(first[domain] or "", first[domain] or "not graded"),
                      new_label=framework.grades.get(new, new))
            for domain, new in last.items() if first[domain] != new]


def _make_final(session: Session, ctx: AppContext, audit: Audit, moderation: Moderation) -> None:
    """Make the moderated grades final and tell the auditor and the key worker."""
    framework = ctx.settings.framework
    audit.status = AuditStatus.COMPLETED
    session.flush()
    original = moderation.original_overall or ""
    grade = moderation.moderated_overall or original
    moves = grade_moves(session, framework, audit)
    child: Child = audit.child
    people = [s for s in (audit.auditor, child.key_worker) if s is not None]
    for person, staff in sorted({recipient(s): s for s in people}.items()):
        message = compose_outcome(recipient_name=staff.name, month=audit.cycle.month, audit_ref=audit.reference,
                                  child_id=audit.child_id, original_label=framework.grades.get(original, original),
                                  moderated_label=framework.grades.get(grade, grade), moves=moves)
        enqueue(session, ctx, MessageKey(PHASE, audit.cycle.month, audit.reference, "outcome"), person, message)


def agreement_rate(session: Session, *, month: Month) -> float | None:
    """Return the share of the month's decided moderations that agreed the submitted overall grade."""
    decided, agreed = session.execute(
        select(func.count(Moderation.id),
               func.count(Moderation.id).filter(Moderation.moderated_overall == Moderation.original_overall))
        .join(Audit, Moderation.audit_id == Audit.id).join(AuditCycle, Audit.cycle_id == AuditCycle.id)
        .where(AuditCycle.month == month, Moderation.decided_at.is_not(None))).one()
    return None if decided == 0 else agreed / decided
