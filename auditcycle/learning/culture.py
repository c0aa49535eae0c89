"""The learning culture: Make a Difference summaries and interviews, the reflective learning session.

- An audit finalised good or better gets a draft Make a Difference summary from its strengths, which the
  QA team approves before the monthly report may show it.
- A manager who sees a good outcome in supervision nominates the practitioner for a Make a Difference
  interview, booked with the principal social worker or another free member of the QA team.
- After moderation closes, everyone involved in the month's audits is invited to the reflective learning
  session, each with a copy naming only themselves, so the invite does not reveal who was audited.

The new-auditor questionnaire is `auditcycle/learning/questionnaire.py`.
"""
import uuid
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from auditcycle.booking.location import meeting_location
from auditcycle.booking.meetings import cant_make_link, diary_busy, time_label
from auditcycle.booking.slots import Interval, SlotRequest, find_slot
from auditcycle.booking.window import interview_earliest_start
from auditcycle.core.clock import Month, localize, wall_clock
from auditcycle.core.context import AppContext
from auditcycle.core.errors import UserError, shown
from auditcycle.core.text import Redacted
from auditcycle.links.tokens import issue_link
from auditcycle.models import Audit, AuditCycle, MakeADifference, OutboxMessage, SessionApology, Staff, Submission
from auditcycle.models.enums import QA_TEAM_ROLES, AuditStatus, Role
from auditcycle.moderation.panel import closure_day
from auditcycle.notifications.invites import Invite
from auditcycle.notifications.learning import (
    MadDraft,
    compose_learning_session,
    compose_mad_drafts,
    compose_mad_interview,
    compose_mad_nominated,
    compose_mad_unbooked,
    compose_session_apology,
)
from auditcycle.notifications.message import Recipient
from auditcycle.notifications.notices import day_label, moment_label, month_label
from auditcycle.notifications.outbox import MessageKey, enqueue, enqueue_digest, invited, mail_domain, told
from auditcycle.people.cases import audited_key_worker
from auditcycle.people.directory import AUDIT_PEOPLE, Directory, recipient
from auditcycle.people.permissions import Subject, authorise, may
from auditcycle.privacy.redaction import Redactor
from auditcycle.storage.events import log_event
from auditcycle.storage.records import get_audit
from auditcycle.trends.scrutiny import finalised_audits

PHASE = "learn"
SUMMARY = "summary"
INTERVIEW = "interview"
DRAFT = "draft"
APPROVED = "approved"
BOOKED = "booked"
INTERVIEW_WINDOW_WORKING_DAYS = 15
# Who is invited to the learning session: the people around each audited record, not the IRO or CP chair.
SESSION_ROLES = frozenset({"allocated key worker", "team manager", "service manager"})
CLOSED = (AuditStatus.REPLACED, AuditStatus.WITHDRAWN)
APPROVE_LINK = "mad-approve"  # the purpose of the link that opens a draft summary's page
# The learning session never moves for one person's answer, so its invite keeps its first SEQUENCE.
SESSION_SEQUENCE = 0


def _qa_team(session: Session) -> list[Staff]:
    return list(session.scalars(select(Staff).where(Staff.active, Staff.role.in_(QA_TEAM_ROLES))
                                .order_by(Staff.id)))


def get_mad(session: Session, reference: str) -> MakeADifference:
    """Get a Make a Difference summary or interview by reference, or say plainly that there is none."""
    mad = session.scalar(select(MakeADifference).where(MakeADifference.reference == reference))
    if mad is None:
        raise UserError(f"{shown(reference)}: no Make a Difference summary or interview has that reference")
    return mad


def approve_link(session: Session, ctx: AppContext, key: MessageKey, person: Staff, reference: str) -> str | None:
    """Return the person's link to check, edit and approve one draft summary, or None if they may not approve."""
    if not may(session, "mad-approve", person):
        return None
    return issue_link(session, ctx, purpose=APPROVE_LINK, subject_ref=reference, staff=person,
                      key=f"{key.for_recipient(Recipient.of(person))}:{APPROVE_LINK}")


def draft_summaries(session: Session, ctx: AppContext, *, cycle: AuditCycle) -> int:
    """Draft a summary for each audit of the cycle finalised good or better, and tell the QA team; return how many."""
    framework = ctx.settings.framework
    good = set(framework.good_or_better)
    finalised = [a for a in finalised_audits(session, up_to=cycle.month, cycle_id=cycle.id) if a.overall in good]
    have = set(session.scalars(select(MakeADifference.audit_id).where(
        MakeADifference.audit_id.in_([a.audit_id for a in finalised]))))
    team = _qa_team(session)
    drafts: list[tuple[MessageKey, MadDraft]] = []
    for item in finalised:
        if item.audit_id in have:
            continue
        audit = session.get(Audit, item.audit_id)
        child = audit.child
        submission = session.scalar(select(Submission).where(Submission.audit_id == audit.id))
        practitioner = child.key_worker
        mad = MakeADifference(
            reference=f"MAD-{audit.reference}", kind=SUMMARY, status=DRAFT, audit_id=audit.id,
            practitioner_id=practitioner.id if practitioner else None,
            summary=submission.strengths or "", created_at=ctx.now,
            recorded_at=wall_clock())
        session.add(mad)
        session.flush()
        drafts.append((MessageKey(PHASE, cycle.month, mad.reference, "draft"), MadDraft(
            reference=mad.reference, audit_ref=audit.reference, child_id=child.id,
            grade_label=framework.grades.get(item.overall, item.overall),
            practitioner_name=practitioner.name if practitioner else None,
            summary=Redactor.about(session, child)(mad.summary))))
    # One message per person a day, however many audits became final: each draft named with its reference.
    digest = MessageKey(PHASE, cycle.month, f"MAD-drafts-{ctx.timescales.today(ctx.now).isoformat()}", "draft")
    for person in team:
        # Each draft with the person's own link to it: a link names exactly one summary.
        mine = [(key, replace(draft, approve_url=approve_link(session, ctx, key, person, draft.reference)))
                for key, draft in drafts]
        enqueue_digest(session, ctx, digest, person, mine,
                       lambda items, person=person: compose_mad_drafts(recipient_name=person.name,
                                                                       month=cycle.month, drafts=items))
    session.flush()
    return len(drafts)


def shown_summary(session: Session, mad: MakeADifference) -> Redacted:
    """Return a summary as the QA team is shown it to check and edit: names of the child and family as initials."""
    audit = session.get(Audit, mad.audit_id) if mad.audit_id is not None else None
    return Redactor.about(session, audit.child if audit else None)(mad.summary)


def approve(session: Session, ctx: AppContext, *, reference: str, by: str,
            summary: str | None = None) -> MakeADifference:
    """Approve a draft Make a Difference summary so the monthly report may show it, as edited if a text is given."""
    authorise(session, command="mad-approve", staff_id=by)
    mad = get_mad(session, reference)
    if mad.kind != SUMMARY:
        raise UserError(f"{reference} is an interview: only a Make a Difference summary is approved")
    if mad.status != DRAFT:
        raise UserError(f"{reference} is {mad.status}: only a draft summary can be approved")
    edited = summary is not None and summary.strip() != str(shown_summary(session, mad)).strip()
    if edited:
        text = summary.strip()
        limit = ctx.settings.framework.text_max_chars
        if len(text) > limit:
            raise UserError(f"{reference}: the summary is {len(text)} characters; keep it to {limit}")
        mad.summary = text
    mad.status = APPROVED
    mad.approved_by_id = by
    mad.approved_at = ctx.now
    mad.recorded_at = wall_clock()
    session.flush()
    log_event(session, ctx, subject_ref=mad.reference, kind="mad-approved", actor_id=by,
              detail=Redacted.fixed("edited before approval" if edited else ""))
    return mad


def approved_summaries(session: Session, *, month: Month) -> list[MakeADifference]:
    """List the month's approved Make a Difference summaries: the only ones the report may show."""
    return list(session.scalars(
        select(MakeADifference).join(Audit, MakeADifference.audit_id == Audit.id)
        .join(AuditCycle, Audit.cycle_id == AuditCycle.id)
        .where(MakeADifference.kind == SUMMARY, MakeADifference.status == APPROVED, AuditCycle.month == month)
        .order_by(MakeADifference.reference)))


def _calendar_busy(session: Session, staff_ids: set[str], start: datetime,
                   end: datetime) -> list[tuple[str, Interval]]:
    """Return the interviews, learning sessions and moderation panels these staff were invited to, in a window."""
    events: dict[tuple[str, str], Interval] = {}
    for ref, s, e in session.execute(
        select(MakeADifference.reference, MakeADifference.starts_at, MakeADifference.ends_at).where(
            MakeADifference.status == BOOKED, MakeADifference.ends_at > start, MakeADifference.starts_at < end)
    ):
        events[(PHASE, ref)] = Interval(s, e)
    for ref, ls, le, ms, me in session.execute(
        select(AuditCycle.reference, AuditCycle.learning_starts_at, AuditCycle.learning_ends_at,
               AuditCycle.moderation_starts_at, AuditCycle.moderation_ends_at).where(or_(
                   (AuditCycle.learning_ends_at > start) & (AuditCycle.learning_starts_at < end),
                   (AuditCycle.moderation_ends_at > start) & (AuditCycle.moderation_starts_at < end)))
    ):
        if ls is not None and le > start and ls < end:
            events[(PHASE, f"{ref}-learning")] = Interval(ls, le)
        if ms is not None and me > start and ms < end:
            events[("moderate", f"{ref}-panel")] = Interval(ms, me)
    if not events:
        return []
    # These events are no Meeting rows; who attends each is whoever was sent its request.
    rows = session.execute(
        select(OutboxMessage.phase, OutboxMessage.subject_ref, OutboxMessage.recipient_id).where(
            OutboxMessage.calendar_method == "REQUEST", OutboxMessage.recipient_id.in_(staff_ids),
            OutboxMessage.subject_ref.in_({ref for _, ref in events})))
    return [(person, events[(phase, ref)]) for phase, ref, person in rows if (phase, ref) in events]


def _busy(session: Session, staff_ids: set[str], start: datetime, end: datetime) -> dict[str, list[Interval]]:
    """Load the busy periods, booked meetings and invited events of some staff overlapping a window."""
    busy = diary_busy(session, staff_ids, start, end)
    for person, interval in _calendar_busy(session, staff_ids, start, end):
        busy[person].append(interval)
    return busy


def _interviewers(session: Session, practitioner: Staff) -> list[Staff]:
    """Return the QA team in the order they are asked to interview: the principal social worker first."""
    team = [s for s in _qa_team(session) if s.id != practitioner.id]
    return sorted(team, key=lambda s: (s.role != Role.PRINCIPAL_SOCIAL_WORKER, s.id))


def nomination_from(session: Session, audit: Audit) -> MakeADifference | None:
    """Return the Make a Difference interview nominated from an audit's supervision prompt, if there is one."""
    return session.scalar(select(MakeADifference).where(MakeADifference.from_audit_id == audit.id))


def already_nominated(session: Session, ctx: AppContext, mad: MakeADifference, *, audit: Audit) -> str:
    """Say who nominated an audit's key worker from it, and when: a second nomination from it is refused."""
    practitioner = session.get(Staff, mad.practitioner_id) if mad.practitioner_id else None
    nominator = session.get(Staff, mad.nominated_by_id) if mad.nominated_by_id else None
    return (f"{practitioner.name if practitioner else 'The key worker'} was already nominated from audit "
            f"{audit.reference}: this was already done by {nominator.name if nominator else 'a manager'} at "
            f"{moment_label(mad.created_at, ctx.tz)} (interview {mad.reference})")


def nominate_from_audit(session: Session, ctx: AppContext, *, reference: str, by: str,
                        note: str) -> MakeADifference:
    """Nominate an audit's key worker for a Make a Difference interview, once from that audit, and book it."""
    audit = get_audit(session, reference)
    practitioner = audited_key_worker(session, audit)
    if practitioner is None:
        raise UserError(f"{reference}: the audit's key worker is no longer an active member of staff")
    return nominate_interview(session, ctx, practitioner_id=practitioner.id, by=by, note=note, from_audit=audit)


def nominate_interview(session: Session, ctx: AppContext, *, practitioner_id: str, by: str,
                       note: str, from_audit: Audit | None = None) -> MakeADifference:
    """Record a manager's Make a Difference nomination and book the interview, or tell the QA manager it cannot be."""
    nominator = authorise(session, command="nominate-mad", staff_id=by)
    practitioner = session.get(Staff, practitioner_id)
    if practitioner is None or not practitioner.active:
        raise UserError(f"{shown(practitioner_id)}: no active member of staff has that id")
    if from_audit is not None and (done := nomination_from(session, from_audit)) is not None:
        raise UserError(already_nominated(session, ctx, done, audit=from_audit))
    note = note.strip()
    if not note:
        raise UserError("--note is required: say what good outcome the practitioner achieved")
    limit = ctx.settings.framework.text_max_chars
    if len(note) > limit:
        raise UserError(f"the note is {len(note)} characters; at most {limit} are kept")
    framework = ctx.settings.framework
    number = session.scalar(select(func.count(MakeADifference.id)).where(MakeADifference.kind == INTERVIEW)) + 1
    mad = MakeADifference(reference=f"MAD-I-{number}", kind=INTERVIEW, status=DRAFT, practitioner_id=practitioner.id,
                          nominated_by_id=nominator.id, note=note, created_at=ctx.now, recorded_at=wall_clock(),
                          from_audit_id=from_audit.id if from_audit is not None else None)
    session.add(mad)
    session.flush()
    log_event(session, ctx, subject_ref=mad.reference, kind="mad-nominated", actor_id=by,
              detail=Redacted.fixed(practitioner.id + (f" from audit {from_audit.reference}" if from_audit else "")))

    today = ctx.timescales.today(ctx.now)
    last = interview_last_day(ctx)
    minutes = framework.mad_interview_minutes
    candidates = _interviewers(session, practitioner)
    interviewer, start = None, None
    for candidate in candidates:
        start = _interview_slot(session, ctx, mad.reference, (practitioner.id, candidate.id))
        if start is not None:
            interviewer = candidate
            break
    if interviewer is None or start is None:
        reason = (f"no {minutes}-minute window within working hours between {day_label(today)} and "
                  f"{day_label(last)} when {practitioner.name} and a member of the QA team are both free"
                  if candidates else "there is no active member of the QA team to interview")
        _unbooked(session, ctx, mad, practitioner=practitioner, nominator=nominator, reason=reason)
        return mad

    mad.uid = f"{uuid.uuid4()}@{mail_domain(ctx)}"
    mad.starts_at = start
    mad.ends_at = start + timedelta(minutes=minutes)
    mad.sequence = 0
    mad.status = BOOKED
    mad.interviewer_id = interviewer.id
    session.flush()
    when = time_label(ctx, mad.starts_at, mad.ends_at)
    _send_interview_invites(session, ctx, mad, practitioner, interviewer, step="request-0")
    message = compose_mad_nominated(recipient_name=nominator.name, reference=mad.reference,
                                    practitioner_name=practitioner.name, interviewer_name=interviewer.name,
                                    when_label=when)
    enqueue(session, ctx, MessageKey(PHASE, None, mad.reference, "nominated"), nominator, message)
    log_event(session, ctx, subject_ref=mad.reference, kind="mad-booked",
              detail=Redacted.fixed(f"interviewer {interviewer.id}"))
    return mad


def interview_last_day(ctx: AppContext) -> date:
    """Return the last day an interview booked or moved now may fall on: N working days from today."""
    return ctx.timescales.add_working_days(ctx.timescales.today(ctx.now), INTERVIEW_WINDOW_WORKING_DAYS)


def _interview_slot(session: Session, ctx: AppContext, reference: str, people: tuple[str, str]) -> datetime | None:
    """Find the first hour, from now, that the practitioner and interviewer are both free within the window, or None.

    Their other interviews, learning sessions and panels count as busy, this interview's own time included,
    so a moved interview never lands on the time it leaves.
    """
    today = ctx.timescales.today(ctx.now)
    last = interview_last_day(ctx)
    window_start, _ = ctx.timescales.working_hours(today)
    busy = _busy(session, set(people), window_start, ctx.timescales.due_at(last))
    request = SlotRequest(key=reference, people=people, minutes=ctx.settings.framework.mad_interview_minutes,
                          earliest=today, latest=last)
    return find_slot(request, busy, ctx.timescales, not_before=interview_earliest_start(ctx))


def interview_title(practitioner: Staff) -> str:
    """Return a Make a Difference interview's title as its invite gives it."""
    return f"Make a Difference interview: {practitioner.name}"


def get_interview(session: Session, reference: str) -> MakeADifference | None:
    """Return the booked Make a Difference interview with this reference, if there is one."""
    return session.scalar(select(MakeADifference).where(
        MakeADifference.reference == reference, MakeADifference.kind == INTERVIEW, MakeADifference.uid.is_not(None)))


def interview_people(session: Session, mad: MakeADifference) -> list[Staff]:
    """Return the practitioner and the interviewer of a booked interview."""
    return [session.get(Staff, mad.practitioner_id), session.get(Staff, mad.interviewer_id)]


def _send_interview_invites(session: Session, ctx: AppContext, mad: MakeADifference, practitioner: Staff,
                            interviewer: Staff, *, step: str, reason: Redacted | None = None) -> None:
    """Queue an interview's request or update to the practitioner and the interviewer, each with their link."""
    assert mad.uid and mad.starts_at and mad.ends_at
    people = [practitioner, interviewer]
    invite = Invite(uid=mad.uid, sequence=mad.sequence, summary=interview_title(practitioner),
                    description=(f"Make a Difference interview {mad.reference} of {practitioner.name} with "
                                 f"{interviewer.name}.\nBooked by the Quality Assurance team through auditcycle."),
                    location=meeting_location(ctx.settings, interviewer), start=mad.starts_at, end=mad.ends_at,
                    organiser_name=ctx.settings.mail_from_name, organiser_email=str(ctx.settings.mail_from),
                    attendees=tuple(recipient(p) for p in people))
    key = MessageKey(PHASE, None, mad.reference, step)
    subject = Subject(participant_ids=frozenset(p.id for p in people))
    for person in people:
        url = cant_make_link(session, ctx, reference=mad.reference, sequence=mad.sequence, starts_at=mad.starts_at,
                             subject=subject, key=key, person=person)
        message = compose_mad_interview(invite, recipient_name=person.name, reference=mad.reference,
                                        practitioner_name=practitioner.name, interviewer_name=interviewer.name,
                                        when_label=time_label(ctx, mad.starts_at, mad.ends_at),
                                        minutes=int((mad.ends_at - mad.starts_at).total_seconds() // 60),
                                        stamp=ctx.now, reason=reason, cant_make_url=url)
        enqueue(session, ctx, key, person, message)


def move_interview(session: Session, ctx: AppContext, mad: MakeADifference, *, reason: Redacted) -> bool:
    """Move a booked interview to the next hour the practitioner and interviewer are both free; False if none.

    The same window as its booking, counted from now; the update goes to both, same UID, higher SEQUENCE.
    """
    assert mad.starts_at and mad.ends_at
    practitioner, interviewer = interview_people(session, mad)
    start = _interview_slot(session, ctx, mad.reference, (practitioner.id, interviewer.id))
    if start is None:
        return False
    mad.ends_at = start + (mad.ends_at - mad.starts_at)
    mad.starts_at = start
    mad.sequence += 1
    mad.recorded_at = wall_clock()
    session.flush()
    _send_interview_invites(session, ctx, mad, practitioner, interviewer, step=f"update-{mad.sequence}",
                            reason=reason)
    return True


def _unbooked(session: Session, ctx: AppContext, mad: MakeADifference, *, practitioner: Staff, nominator: Staff,
              reason: str) -> None:
    """Leave the interview a draft, tell the QA manager plainly why, and tell the nominator it will be arranged."""
    for manager in Directory(session).qa_managers:
        message = compose_mad_unbooked(recipient_name=manager.name, reference=mad.reference,
                                       practitioner_name=practitioner.name, nominator_name=nominator.name,
                                       reason=reason)
        enqueue(session, ctx, MessageKey(PHASE, None, mad.reference, "unbooked"), manager, message)
    message = compose_mad_nominated(recipient_name=nominator.name, reference=mad.reference,
                                    practitioner_name=practitioner.name, interviewer_name=None, when_label=None)
    enqueue(session, ctx, MessageKey(PHASE, None, mad.reference, "nominated"), nominator, message)
    log_event(session, ctx, subject_ref=mad.reference, kind="mad-unbooked", detail=Redacted.fixed(reason))


def session_day(ctx: AppContext, cycle: AuditCycle) -> date:
    """Return the day of a cycle's learning session: N working days after moderation's closure day."""
    days = ctx.settings.framework.learning_session_working_days_after_close
    return ctx.timescales.working_day_on_or_after(ctx.timescales.add_working_days(closure_day(ctx, cycle), days))


def _session_start(ctx: AppContext, cycle: AuditCycle) -> datetime:
    day = session_day(ctx, cycle)
    at = ctx.settings.framework.learning_session_time
    start = localize(datetime.combine(day, at), ctx.tz)
    # Closed late (a replayed month, a missed run): the next working day when the time is still ahead.
    while start <= ctx.now:
        day = ctx.timescales.next_working_day(day)
        start = localize(datetime.combine(day, at), ctx.tz)
    return start


def session_invitees(session: Session, cycle: AuditCycle) -> list[Staff]:
    """List everyone involved in a cycle's audits: key workers, their managers, auditors and buddies."""
    audits = list(session.scalars(select(Audit).where(Audit.cycle_id == cycle.id, Audit.status.not_in(CLOSED))
                                  .order_by(Audit.id).options(*AUDIT_PEOPLE)))
    directory = Directory(session)
    people: dict[str, Staff] = {}
    for audit in audits:
        involved = [p.staff for p in directory.involved(audit.child) if p.role in SESSION_ROLES]
        for person in [*involved, audit.auditor, audit.buddy]:
            if person is not None and person.active:
                people.setdefault(person.id, person)
    return [people[k] for k in sorted(people)]


def invite_learning_session(session: Session, ctx: AppContext, *, cycle: AuditCycle) -> int:
    """Book the month's reflective learning session once moderation closes and invite each person; return how many."""
    if cycle.moderation_closed_at is None:
        return 0
    minutes = ctx.settings.framework.learning_session_minutes
    if cycle.learning_uid is None:
        start = _session_start(ctx, cycle)
        cycle.learning_uid = f"{uuid.uuid4()}@{mail_domain(ctx)}"
        cycle.learning_starts_at = start.astimezone(UTC)
        cycle.learning_ends_at = start.astimezone(UTC) + timedelta(minutes=minutes)
        session.flush()
    when = time_label(ctx, cycle.learning_starts_at, cycle.learning_ends_at)
    title = session_title(cycle)
    key = MessageKey(PHASE, cycle.month, session_reference(cycle), "request-0")
    queued = 0
    for person in session_invitees(session, cycle):
        if told(session, key, person):
            continue
        # Each copy names only its own recipient, so no invite shows whose work was audited.
        invite = Invite(uid=cycle.learning_uid, sequence=SESSION_SEQUENCE, summary=title,
                        description=(f"The reflective learning session following the {month_label(cycle.month)} "
                                     f"audits ({cycle.reference}): findings, feedback and ideas.\n"
                                     "Booked by the Quality Assurance team through auditcycle."),
                        location=meeting_location(ctx.settings), start=cycle.learning_starts_at, end=cycle.learning_ends_at,
                        organiser_name=ctx.settings.mail_from_name, organiser_email=str(ctx.settings.mail_from),
                        attendees=(recipient(person),))
        url = cant_make_link(session, ctx, reference=session_reference(cycle), sequence=SESSION_SEQUENCE,
                             starts_at=cycle.learning_starts_at, subject=Subject(participant_ids=frozenset({person.id})),
                             key=key, person=person)
        message = compose_learning_session(invite, recipient_name=person.name, month=cycle.month, when_label=when,
                                           minutes=minutes, stamp=ctx.now, cant_make_url=url)
        queued += enqueue(session, ctx, key, person, message) is not None
    session.flush()
    return queued


def session_reference(cycle: AuditCycle) -> str:
    """Return the reference of a cycle's learning session, as its invites and their links name it."""
    return f"{cycle.reference}-learning"


def session_title(cycle: AuditCycle) -> str:
    """Return the learning session's title as its invite gives it."""
    return f"Reflective learning session: {month_label(cycle.month)} audits"


def get_session(session: Session, reference: str) -> AuditCycle | None:
    """Return the cycle whose learning session has this reference, if its session is booked."""
    if not reference.endswith("-learning"):
        return None
    return session.scalar(select(AuditCycle).where(AuditCycle.reference == reference.removesuffix("-learning"),
                                                   AuditCycle.learning_uid.is_not(None)))


def session_attendees(session: Session, cycle: AuditCycle) -> list[Staff]:
    """Return everyone the learning session's invite was sent to, by id."""
    return invited(session, phase=PHASE, subject_ref=session_reference(cycle))


def apology(session: Session, cycle: AuditCycle, person: Staff) -> SessionApology | None:
    """Return the apology a person sent for a cycle's learning session, if they sent one."""
    return session.scalar(select(SessionApology).where(SessionApology.cycle_id == cycle.id,
                                                       SessionApology.staff_id == person.id))


def apologise(session: Session, ctx: AppContext, cycle: AuditCycle, *, person: Staff, reason: str) -> SessionApology:
    """Record that someone cannot come to the learning session and tell the QA team; the session does not move.

    It is one session many people join, so one person's answer leaves it where it is. The reason is kept
    as written and mailed through the redactor.
    """
    if (given := apology(session, cycle, person)) is not None:
        raise UserError(f"{session_reference(cycle)}: {person.name} already sent apologies for this session, at "
                        f"{moment_label(given.given_at, ctx.tz)}")
    given = SessionApology(cycle_id=cycle.id, staff_id=person.id, reason=reason or None, given_at=ctx.now,
                           recorded_at=wall_clock())
    session.add(given)
    session.flush()
    assert cycle.learning_starts_at and cycle.learning_ends_at
    when = time_label(ctx, cycle.learning_starts_at, cycle.learning_ends_at)
    apologies = session.scalar(select(func.count(SessionApology.id)).where(SessionApology.cycle_id == cycle.id))
    shown_reason = Redactor.about(session, None)(reason) if reason else None
    key = MessageKey(PHASE, cycle.month, session_reference(cycle), f"apology-{person.id}")
    for member in _qa_team(session):
        message = compose_session_apology(recipient_name=member.name, title=session_title(cycle), when_label=when,
                                          person_name=person.name, reason=shown_reason, apologies=apologies,
                                          invited=len(session_attendees(session, cycle)))
        enqueue(session, ctx, key, member, message)
    return given

