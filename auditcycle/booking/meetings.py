"""Book, move and cancel the meetings of each audit, and send the invites that go with them."""
import hashlib
import uuid
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, object_session

from auditcycle.booking.diaries import Diary, open_diary
from auditcycle.booking.diaries.imported import ImportedDiary
from auditcycle.booking.family_advice import advice_by_audit, waiting_for_advice
from auditcycle.booking.location import meeting_location
from auditcycle.booking.slots import Interval, SlotRequest, Spread, find_slot, plan_slots
from auditcycle.booking.window import earliest_start
from auditcycle.core.clock import Month, parse_instant
from auditcycle.core.context import AppContext
from auditcycle.core.errors import UserError, shown
from auditcycle.core.text import Redacted
from auditcycle.links.tokens import issue_link
from auditcycle.models import (
    Audit,
    AuditCycle,
    BusyPeriod,
    Child,
    ContactAdvice,
    DiaryRecheck,
    FamilyContact,
    Meeting,
    Staff,
)
from auditcycle.models.enums import AuditStatus, Cohort, MeetingKind, MeetingStatus
from auditcycle.notifications.invites import Invite, MeetingFacts, compose_invite
from auditcycle.notifications.message import Recipient
from auditcycle.notifications.notices import month_label
from auditcycle.notifications.outbox import MessageKey, enqueue, mail_domain
from auditcycle.notifications.render import render
from auditcycle.people.directory import AUDIT_PEOPLE, Directory, recipient
from auditcycle.people.permissions import Subject, authorise, may
from auditcycle.privacy.redaction import Redactor

PHASE = "book"
# The purpose of the link in each invite, of every kind of meeting, that says "I can't make this time".
CANT_MAKE = "meeting-cant-make"


@dataclass(frozen=True)
class Need:
    """A meeting an audit needs: its kind, who must be free, and what the invite says."""

    audit: Audit
    kind: MeetingKind
    slot_key: str
    attendee: Staff | None
    contact: FamilyContact | None
    minutes: int
    title: str
    note: str | None = None
    advice: "ContactAdvice | None" = None  # the key worker's, on how to reach this family contact

    @property
    def key(self) -> str:
        """Return the request key, unique within a run."""
        return f"{self.audit.reference}:{self.slot_key}"

    @property
    def people(self) -> tuple[str, ...]:
        """Return the staff who must all be free."""
        assert self.audit.auditor_id
        return (self.audit.auditor_id,) + ((self.attendee.id,) if self.attendee else ())


@dataclass
class BookingSummary:
    """What a booking run did, in counts and references."""

    booked: int = 0
    unbooked: list[str] = field(default_factory=list)
    messages: int = 0
    # Meetings booked while one of their people's diaries could not be read (meeting:staff), and meetings
    # moved because a diary read again showed a clash.
    unchecked: list[str] = field(default_factory=list)
    moved: int = 0


def needs_of(audit: Audit, ctx: AppContext) -> list[Need]:
    """List every meeting the framework asks for in an audit of this child."""
    f = ctx.settings.framework
    child: Child = audit.child
    age = child.age_on(ctx.timescales.today(ctx.now))
    needs = [Need(audit, MeetingKind.LEARNING_CONVERSATION, "LC", child.key_worker, None,
                  f.learning_conversation_minutes, f"Audit learning conversation ({audit.reference})")]
    if child.iro is not None:
        needs.append(Need(audit, MeetingKind.IRO_CONVERSATION, "IRO", child.iro, None, f.iro_conversation_minutes,
                          f"IRO conversation ({audit.reference})"))
    if child.cp_chair is not None:
        needs.append(Need(audit, MeetingKind.IRO_CONVERSATION, "CPC", child.cp_chair, None,
                          f.iro_conversation_minutes, f"CP chair conversation ({audit.reference})"))
    if age >= f.young_person_min_age or child.cohort == Cohort.CARE_EXPERIENCED:
        needs.append(Need(audit, MeetingKind.YOUNG_PERSON_CALL, "YP", None, None, f.young_person_call_minutes,
                          f"Call with the young person ({audit.reference})"))
    if age < f.adult_age:
        for contact in child.contacts:
            note = f"interpreter needed: {contact.language or 'language to be confirmed'}" \
                if contact.interpreter_needed else None
            needs.append(Need(audit, MeetingKind.FAMILY_CALL, f"FC{contact.id}", None, contact,
                              f.family_call_minutes, f"Family call: {contact.relation} ({audit.reference})", note))
    return needs


def diary_busy(session: Session, staff_ids: set[str], start: datetime, end: datetime,
               skip_meeting: int | None = None) -> dict[str, list[Interval]]:
    """Load imported busy periods and booked meetings of some staff overlapping a window."""
    busy, _unread = read_diaries(session, staff_ids, start, end, diary=ImportedDiary(session),
                                 skip_meeting=skip_meeting)
    return busy


def read_diaries(session: Session, staff_ids: set[str], start: datetime, end: datetime, *, diary: Diary,
                 skip_meeting: int | None = None) -> tuple[dict[str, list[Interval]], dict[str, str]]:
    """Read some staff's diaries over a window, once a person, with their booked meetings; say whose was unread."""
    ids = sorted(staff_ids)
    # Only staff addresses and the window go to a diary server: nothing about a child.
    addresses = {}
    for chunk in (ids[i:i + 500] for i in range(0, len(ids), 500)):
        addresses.update((i, e) for i, e in session.execute(select(Staff.id, Staff.email).where(Staff.id.in_(chunk))))
    found = diary.read(addresses, start, end)
    busy: dict[str, list[Interval]] = defaultdict(list, found.busy_with_hours(start, end))
    for chunk in (ids[i:i + 500] for i in range(0, len(ids), 500)):
        for m in session.scalars(
            select(Meeting).where(
                Meeting.status == MeetingStatus.BOOKED, Meeting.ends_at > start, Meeting.starts_at < end,
                or_(Meeting.organiser_id.in_(chunk), Meeting.attendee_id.in_(chunk)))
        ):
            if m.id == skip_meeting:
                continue
            for person in {m.organiser_id, m.attendee_id} - {None}:
                busy[person].append(Interval(m.starts_at, m.ends_at))
    return busy, dict(found.unread)


def _teams_link(diary: Diary, meeting: Meeting) -> str | None:
    """Return a Teams join link for a meeting where the diary is Microsoft Graph and Teams links are set up."""
    make = getattr(diary, "teams_link", None)
    # Our own invite carries the link: a Graph calendar event would make Exchange send a second invite.
    return make(subject=meeting_title(meeting), start=meeting.starts_at, end=meeting.ends_at) if make else None


def _note_unread(session: Session, ctx: AppContext, meeting: Meeting, unread: dict[str, str]) -> list[dict]:
    """Mark a meeting booked without some of its people's diaries for a re-check; return its exception items."""
    items = []
    for person in _participants(meeting):
        if person.id not in unread:
            continue
        held = session.scalar(select(DiaryRecheck).where(DiaryRecheck.meeting == meeting,
                                                         DiaryRecheck.staff_id == person.id)) \
            if meeting.id is not None else None
        if held is None:
            session.add(DiaryRecheck(meeting=meeting, staff_id=person.id, reason=unread[person.id], noted_at=ctx.now))
        items.append({"key": f"{meeting.reference}:{person.id}", "audit_ref": meeting.audit.reference,
                      "child_id": meeting.audit.child_id, "title": meeting_title(meeting),
                      "when": time_label(ctx, meeting.starts_at, meeting.ends_at),
                      "reason": f"{person.name}'s diary could not be read ({unread[person.id]})"})
    return items


def recheck_diaries(session: Session, ctx: AppContext, *, diary: Diary) -> tuple[int, list[dict]]:
    """Read again the diaries unread when future meetings were booked; move a meeting that clashes.

    Returns how many meetings moved, and the exception items of those still unread or stuck.
    """
    rows = list(session.scalars(select(DiaryRecheck).join(Meeting).where(
        Meeting.status == MeetingStatus.BOOKED, Meeting.starts_at > ctx.now).order_by(DiaryRecheck.id)))
    if not rows:
        return 0, []
    start = min(r.meeting.starts_at for r in rows)
    end = max(r.meeting.ends_at for r in rows)
    found = diary.read({r.staff_id: session.get(Staff, r.staff_id).email for r in rows}, start, end)
    busy = found.busy_with_hours(start, end)
    moved, items, clashing = 0, [], []
    for row in rows:
        meeting = row.meeting
        if row.staff_id in found.unread:
            items += _note_unread(session, ctx, meeting, {row.staff_id: found.unread[row.staff_id]})
            continue
        session.delete(row)
        # The meeting itself is in the diary once accepted: only another busy period is a clash.
        if any(i.start < meeting.ends_at and i.end > meeting.starts_at
               and (i.start, i.end) != (meeting.starts_at, meeting.ends_at) for i in busy.get(row.staff_id, ())):
            clashing.append(meeting)
    session.flush()
    for meeting in dict.fromkeys(clashing):
        if move(session, ctx, meeting, reason=Redacted.fixed("a diary clash"), diary=diary):
            moved += 1
        else:
            items.append({"key": meeting.reference, "audit_ref": meeting.audit.reference,
                          "child_id": meeting.audit.child_id, "title": meeting_title(meeting),
                          "when": time_label(ctx, meeting.starts_at, meeting.ends_at),
                          "reason": "a diary read again clashes with it and no other slot is free before the due "
                                    "date, so it stays where it is"})
    return moved, items


def _participants(meeting: Meeting) -> list[Staff]:
    return [s for s in (meeting.organiser, meeting.attendee) if s is not None]


def _optional(meeting: Meeting) -> list[Staff]:
    """Return who is invited to come if they can: a new auditor's buddy, to their learning conversation."""
    buddy = meeting.audit.buddy
    if meeting.kind != MeetingKind.LEARNING_CONVERSATION or buddy is None or buddy in _participants(meeting):
        return []
    return [buddy]


def _invite(meeting: Meeting, ctx: AppContext) -> Invite:
    attendees = tuple(recipient(s) for s in _participants(meeting))
    return Invite(uid=meeting.uid, sequence=meeting.sequence, summary=meeting_title(meeting),
                  description=_description(meeting),
                  location=meeting.join_url or meeting_location(ctx.settings, meeting.organiser),
                  start=meeting.starts_at, end=meeting.ends_at, organiser_name=ctx.settings.mail_from_name,
                  organiser_email=str(ctx.settings.mail_from), attendees=attendees,
                  optional=tuple(recipient(s) for s in _optional(meeting)))


def meeting_title(meeting: Meeting) -> str:
    """Return the meeting's title as its invite gives it, with the audit's reference and no name."""
    ref = meeting.audit.reference
    return {
        MeetingKind.LEARNING_CONVERSATION: f"Audit learning conversation ({ref})",
        MeetingKind.IRO_CONVERSATION: f"{'CP chair' if meeting.slot_key == 'CPC' else 'IRO'} conversation ({ref})",
        MeetingKind.YOUNG_PERSON_CALL: f"Call with the young person ({ref})",
        MeetingKind.MANAGER_CONVERSATION: f"Team manager conversation ({ref})",
        MeetingKind.FAMILY_CALL: f"Family call: {meeting.contact.relation if meeting.contact else 'family'} ({ref})",
    }[meeting.kind]


def _note(meeting: Meeting) -> str | None:
    if meeting.interpreter_language:
        return f"interpreter needed: {meeting.interpreter_language}"
    return None


def _description(meeting: Meeting) -> str:
    lines = [f"Audit {meeting.audit.reference}, case {meeting.audit.child_id}."]
    if note := _note(meeting):
        lines.append(f"{note[0].upper()}{note[1:]}: please book Language Line before the call.")
    if best := _best_times(meeting):
        lines.append(f"The key worker says the best times to call are: {best}")
    lines.append("Booked by the Quality Assurance team through auditcycle.")
    return "\n".join(lines)


def _best_times(meeting: Meeting) -> Redacted | None:
    """Return the key worker's advice on when to call this family contact, redacted, if they gave any."""
    session = object_session(meeting)
    if meeting.kind != MeetingKind.FAMILY_CALL or meeting.contact is None or session is None:
        return None
    said = session.scalar(select(ContactAdvice.best_times).where(ContactAdvice.audit_id == meeting.audit.id,
                                                                 ContactAdvice.contact_id == meeting.contact.id))
    return Redactor.about(session, meeting.audit.child)(said) if said else None


def time_label(ctx: AppContext, start: datetime, end: datetime) -> str:
    """Format a meeting's time as its invite gives it: 'Monday 14 December 2026, 10:00–11:00'."""
    start, end = start.astimezone(ctx.tz), end.astimezone(ctx.tz)
    return f"{start:%A} {start.day} {start:%B %Y}, {start:%H:%M}–{end:%H:%M}"


def _when(meeting: Meeting, ctx: AppContext) -> str:
    return time_label(ctx, meeting.starts_at, meeting.ends_at)


def _send_invites(session: Session, ctx: AppContext, meeting: Meeting, *, method: str, step: str,
                  reason: Redacted | None = None) -> int:
    """Queue the request, update or cancellation to each participant, one To each."""
    invite = _invite(meeting, ctx)
    minutes = int((meeting.ends_at - meeting.starts_at).total_seconds() // 60)
    facts = MeetingFacts(title=meeting_title(meeting), audit_ref=meeting.audit.reference, child_id=meeting.audit.child_id,
                         note=_note(meeting), location=invite.location, minutes=minutes, when_label=_when(meeting, ctx))
    queued = 0
    optional = _optional(meeting)
    key = MessageKey(PHASE, meeting.audit.cycle.month, meeting.reference, step)
    for person in [*_participants(meeting), *optional]:
        url = None if method == "CANCEL" else _cant_make_link(session, ctx, meeting, key, person)
        message = compose_invite(invite, facts, recipient_name=person.name, method=method, stamp=ctx.now,
                                 reason=reason, optional=person in optional, cant_make_url=url)
        queued += enqueue(session, ctx, key, person, message) is not None
    return queued


def meeting_subject(meeting: Meeting) -> Subject:
    """Return what a decision about an audit meeting is about: its audit and everyone its invite asks to attend."""
    return Subject(audit=meeting.audit,
                   participant_ids=frozenset(s.id for s in [*_participants(meeting), *_optional(meeting)]))


def optional_ids(meeting: Meeting) -> frozenset[str]:
    """Return who is invited to an audit meeting only if they can come: their answer never moves it."""
    return frozenset(s.id for s in _optional(meeting))


def cant_make_link(session: Session, ctx: AppContext, *, reference: str, sequence: int, starts_at: datetime,
                   subject: Subject, key: MessageKey, person: Staff) -> str | None:
    """Return a person's link to say they cannot make one version of any meeting's time, or None if they may not.

    `reference` names the meeting of whatever kind (an audit meeting, the panel, an interview, the learning
    session) and `sequence` the version of its time the invite gives; `key` is the invite's message key.
    """
    if not person.active or not may(session, "cant-make", person, subject):
        return None
    # One act per version of the time: once the meeting moves, the new invite's link asks about the new time.
    return issue_link(session, ctx, purpose=CANT_MAKE, subject_ref=f"{reference}:{sequence}", staff=person,
                      deadline=starts_at, key=f"{key.for_recipient(Recipient.of(person))}:{CANT_MAKE}")


def _cant_make_link(session: Session, ctx: AppContext, meeting: Meeting, key: MessageKey, person: Staff) -> str | None:
    return cant_make_link(session, ctx, reference=meeting.reference, sequence=meeting.sequence,
                          starts_at=meeting.starts_at, subject=meeting_subject(meeting), key=key, person=person)


def cant_make_subject(subject_ref: str) -> tuple[str, int]:
    """Split a can't-make link's subject into the meeting's reference and the sequence of the invite it came in."""
    reference, _, sequence = subject_ref.rpartition(":")
    if not reference or not sequence.isdigit():
        raise UserError(f"{shown(subject_ref)}: not a meeting reference and invite sequence")
    return reference, int(sequence)


def _report_exceptions(session: Session, ctx: AppContext, month: Month, items: list[dict],
                       unchecked: list[dict] | None = None) -> int:
    """Queue one exception email to the QA manager: what could not be booked, and what was booked unchecked."""
    unchecked = unchecked or []
    if not items and not unchecked:
        return 0
    directory = Directory(session)
    keys = [i["key"] for i in items] + [f"unchecked:{i['key']}" for i in unchecked]
    digest = hashlib.sha256("|".join(sorted(keys)).encode()).hexdigest()[:12]
    queued = 0
    for manager in directory.qa_managers:
        message = render("booking_exceptions", recipient_name=manager.name, month_label=month_label(month),
                         items=items, unchecked=unchecked)
        queued += enqueue(session, ctx, MessageKey(PHASE, month, f"exceptions-{digest}", "exceptions"), manager, message) is not None
    return queued


def booked_starts(session: Session, start: datetime, end: datetime, *, staff_ids: set[str] | None = None,
                  skip_meeting: int | None = None) -> list[tuple[datetime, tuple[str, ...]]]:
    """List booked meetings starting in a window (all, or of some staff), as (start, people), for spreading."""
    query = select(Meeting.starts_at, Meeting.organiser_id, Meeting.attendee_id).where(
        Meeting.status == MeetingStatus.BOOKED, Meeting.starts_at >= start, Meeting.starts_at < end)
    if staff_ids is not None:
        query = query.where(or_(Meeting.organiser_id.in_(staff_ids), Meeting.attendee_id.in_(staff_ids)))
    if skip_meeting is not None:
        query = query.where(Meeting.id != skip_meeting)
    return [(s, tuple(p for p in (o, a) if p is not None)) for s, o, a in session.execute(query)]


def _cap(session: Session, ctx: AppContext, request: SlotRequest, skip_meeting: int | None = None) -> Spread:
    """Return the daily cap on a request's people, counting their audit meetings already booked in its window."""
    assert request.not_before is not None
    opens, _ = ctx.timescales.working_hours(request.earliest)
    existing = booked_starts(session, opens, ctx.timescales.due_at(request.latest), staff_ids=set(request.people),
                             skip_meeting=skip_meeting)
    return Spread(daily_cap=ctx.settings.framework.audit_meetings_per_person_per_day, existing=existing)


def _request(ctx: AppContext, cycle: AuditCycle, kind: MeetingKind, *, key: str, people: tuple[str, ...],
             minutes: int, latest: date) -> SlotRequest:
    """Make the slot request of a meeting whose invite is sent now: from its earliest start to `latest`."""
    not_before = earliest_start(ctx, cycle, kind)
    return SlotRequest(key=key, people=people, minutes=minutes, earliest=ctx.timescales.today(not_before),
                       latest=latest, not_before=not_before)


def _with_family_advice(session: Session, ctx: AppContext, needs: list[Need]) -> tuple[list[Need], set[int]]:
    """Apply the key worker's advice to the family calls: wait for it, leave out whom not to call, use its language."""
    calls = [n for n in needs if n.kind == MeetingKind.FAMILY_CALL]
    advice = advice_by_audit(session, sorted({n.audit.id for n in calls}))
    waiting = {audit_id for audit_id, a in advice.items() if waiting_for_advice(ctx, a)}
    kept: list[Need] = []
    for need in needs:
        if need.kind != MeetingKind.FAMILY_CALL:
            kept.append(need)
            continue
        if need.audit.id in waiting:
            continue
        given = advice.get(need.audit.id)
        said = next((c for c in given.contacts if c.contact_id == need.contact.id), None) if given else None
        if said is not None and said.do_not_contact_reason:
            continue
        kept.append(replace(need, advice=said) if said is not None else need)
    return kept, waiting


def _interpreter(need: Need) -> str | None:
    """Return the language an interpreter is booked for: the key worker's advice first, then the import."""
    if need.advice is not None:
        return (need.advice.language or "language to be confirmed") if need.advice.interpreter_needed else None
    if need.contact and need.contact.interpreter_needed:
        return need.contact.language or "language to be confirmed"
    return None


def book(session: Session, ctx: AppContext, *, cycle: AuditCycle, diary: Diary | None = None) -> BookingSummary:
    """Book every meeting each notified audit still needs on the council's diaries; report what cannot be booked.

    Diaries are read once a person for the whole window (auditcycle.booking.diaries). A diary that cannot be
    read does not stop the run: its meetings are booked on what is known, listed for the QA manager, and
    read again by the next run, which moves any that clash.
    """
    summary = BookingSummary()
    diary = diary or open_diary(session, ctx.settings)
    summary.moved, unchecked = recheck_diaries(session, ctx, diary=diary)
    audits = list(session.scalars(
        select(Audit).where(Audit.cycle_id == cycle.id,
                            Audit.status.in_([AuditStatus.NOTIFIED, AuditStatus.BOOKED]))
        .order_by(Audit.id).options(*AUDIT_PEOPLE)))
    have = {(a, k) for a, k in session.execute(
        select(Meeting.audit_id, Meeting.slot_key).join(Audit).where(Audit.cycle_id == cycle.id))}
    needs = [n for a in audits if a.auditor_id for n in needs_of(a, ctx) if (a.id, n.slot_key) not in have]
    needs, waiting = _with_family_advice(session, ctx, needs)
    # Two-person meetings are hardest to place, so they go first.
    needs.sort(key=lambda n: (n.attendee is None, n.kind != MeetingKind.LEARNING_CONVERSATION))
    requests = [_request(ctx, cycle, n.kind, key=n.key, people=n.people, minutes=n.minutes, latest=cycle.due_date)
                for n in needs]
    window_start = min((r.not_before for r in requests if r.not_before), default=ctx.now)
    window_end = ctx.timescales.due_at(cycle.due_date)
    busy, unread = read_diaries(session, {p for n in needs for p in n.people}, window_start, window_end,
                                diary=diary) if needs else ({}, {})
    # The whole council's booked meetings load the days, so this batch fills the quieter ones.
    start_of_day, _ = ctx.timescales.working_hours(ctx.timescales.today(window_start))
    spread = Spread(daily_cap=ctx.settings.framework.audit_meetings_per_person_per_day,
                    existing=booked_starts(session, start_of_day, window_end))
    booked, unbooked = plan_slots(requests, busy, ctx.timescales, not_before=ctx.now, spread=spread)
    by_key = {n.key: n for n in needs}
    for slot in booked:
        need = by_key[slot.key]
        meeting = Meeting(
            reference=f"{need.audit.reference}-{need.slot_key}", uid=f"{uuid.uuid4()}@{mail_domain(ctx)}",
            audit=need.audit, kind=need.kind, slot_key=need.slot_key, organiser=need.audit.auditor,
            attendee=need.attendee, contact=need.contact,
            interpreter_language=_interpreter(need),
            starts_at=slot.start, ends_at=slot.end, sequence=0, status=MeetingStatus.BOOKED, booked_at=ctx.now)
        # Related objects rather than ids, so the invite can be written before the batch is flushed.
        session.add(meeting)
        if need.kind == MeetingKind.LEARNING_CONVERSATION:
            meeting.join_url = _teams_link(diary, meeting)
        summary.messages += _send_invites(session, ctx, meeting, method="REQUEST", step="request-0")
        summary.booked += 1
        unchecked += _note_unread(session, ctx, meeting, unread)
    exceptions = [{"key": u.key, "audit_ref": by_key[u.key].audit.reference,
                   "child_id": by_key[u.key].audit.child_id, "title": by_key[u.key].title, "reason": u.reason}
                  for u in unbooked]
    summary.unbooked = [u.key for u in unbooked]
    summary.unchecked = [i["key"] for i in unchecked]
    summary.messages += _report_exceptions(session, ctx, cycle.month, exceptions, unchecked)
    for audit in audits:
        # An audit whose family calls still wait for the key worker's advice is booked by a later run.
        if audit.status == AuditStatus.NOTIFIED and audit.id not in waiting:
            audit.status = AuditStatus.BOOKED
    session.flush()
    return summary


def book_manager_conversation(session: Session, ctx: AppContext, *, audit: Audit, why: str) -> Meeting | None:
    """Book, once per audit, the auditor's conversation with the key worker's team manager that the framework asks for.

    It is asked for when an audit is graded inadequate, raises an Immediate Response or is disputed
    (`why` says which, for the exception mail). It falls after the notice setting and on or before the
    day moderation closes; with no free slot, the QA manager is told.
    """
    managers = Directory(session).team_managers_of(audit.child)
    if audit.auditor is None or not managers or session.scalar(select(Meeting.id).where(
            Meeting.audit_id == audit.id, Meeting.slot_key == "TM")) is not None:
        return None
    manager, f = managers[0], ctx.settings.framework
    latest = ctx.timescales.moderation_closes(audit.cycle.due_date)
    request = _request(ctx, audit.cycle, MeetingKind.MANAGER_CONVERSATION, key=f"{audit.reference}-TM",
                       people=(audit.auditor.id, manager.id), minutes=f.manager_conversation_minutes, latest=latest)
    assert request.not_before is not None
    busy, unread = read_diaries(session, set(request.people), request.not_before, ctx.timescales.due_at(latest),
                                diary=open_diary(session, ctx.settings))
    start = find_slot(request, busy, ctx.timescales, not_before=ctx.now, spread=_cap(session, ctx, request))
    if start is None:
        _report_exceptions(session, ctx, audit.cycle.month, [{
            "key": request.key, "audit_ref": audit.reference, "child_id": audit.child_id,
            "title": f"Team manager conversation ({audit.reference})",
            "reason": f"{why}; no {request.minutes}-minute window when {audit.auditor.name} and {manager.name} are "
                      f"both free, on a day when each has fewer than {f.audit_meetings_per_person_per_day} "
                      f"audit meetings, before moderation closes on {latest}"}])
        return None
    meeting = Meeting(reference=f"{audit.reference}-TM", uid=f"{uuid.uuid4()}@{mail_domain(ctx)}", audit=audit,
                      kind=MeetingKind.MANAGER_CONVERSATION, slot_key="TM", organiser=audit.auditor,
                      attendee=manager, starts_at=start, ends_at=start + timedelta(minutes=request.minutes),
                      sequence=0, status=MeetingStatus.BOOKED, booked_at=ctx.now)
    session.add(meeting)
    session.flush()
    _send_invites(session, ctx, meeting, method="REQUEST", step="request-0")
    _report_exceptions(session, ctx, audit.cycle.month, [], _note_unread(session, ctx, meeting, unread))
    return meeting


def get_meeting(session: Session, reference: str) -> Meeting:
    """Get a meeting by reference or say plainly that there is none."""
    meeting = session.scalar(select(Meeting).where(Meeting.reference == reference))
    if meeting is None:
        raise UserError(f"{shown(reference)}: no meeting has that reference (see `auditcycle list meetings`)")
    return meeting


def move(session: Session, ctx: AppContext, meeting: Meeting, *, to: datetime | None = None,
         reason: Redacted | None = None, diary: Diary | None = None) -> bool:
    """Move a booked meeting to `to`, or to the next free slot; send an update. False if no slot.

    The update is sent now, so the new time keeps the meeting's minimum notice from now (booking.window).
    """
    minutes = int((meeting.ends_at - meeting.starts_at).total_seconds() // 60)
    people = tuple(s.id for s in _participants(meeting))
    due = meeting.audit.due_date
    request = _request(ctx, meeting.audit.cycle, meeting.kind, key=meeting.reference, people=people,
                       minutes=minutes, latest=due)
    assert request.not_before is not None
    busy, unread = read_diaries(session, set(people), request.not_before, ctx.timescales.due_at(due),
                                diary=diary or open_diary(session, ctx.settings), skip_meeting=meeting.id)
    cap = _cap(session, ctx, request, skip_meeting=meeting.id)
    if to is not None:
        valid = find_slot(request, busy, ctx.timescales, not_before=to, step_minutes=1, spread=cap)
        if valid is None or valid != to:
            raise UserError(f"--to {to.astimezone(ctx.tz):%Y-%m-%d %H:%M} is not free: it must be a working day "
                            f"within working hours, no sooner than "
                            f"{request.not_before.astimezone(ctx.tz):%Y-%m-%d %H:%M} (the meeting's notice), "
                            f"on or before {due}, clear of {' and '.join(people)}'s diaries, and on a day when "
                            f"each has fewer than {cap.daily_cap} audit meetings")
        start = to
    else:
        # The current slot is no longer wanted, so it counts as busy while looking for the next.
        for person in people:
            busy.setdefault(person, []).append(Interval(meeting.starts_at, meeting.ends_at))
        start = find_slot(request, busy, ctx.timescales, not_before=ctx.now, spread=cap)
        if start is None:
            return False
    meeting.starts_at = start
    meeting.ends_at = start + timedelta(minutes=minutes)
    meeting.sequence += 1
    session.flush()
    _send_invites(session, ctx, meeting, method="REQUEST", step=f"update-{meeting.sequence}", reason=reason)
    _report_exceptions(session, ctx, meeting.audit.cycle.month, [], _note_unread(session, ctx, meeting, unread))
    return True


def reschedule(session: Session, ctx: AppContext, *, reference: str, by: str, to: str | None = None) -> Meeting:
    """Move a meeting at the QA team's request, to a given time or the next free slot."""
    authorise(session, command="reschedule", staff_id=by)
    meeting = get_meeting(session, reference)
    if meeting.status != MeetingStatus.BOOKED:
        raise UserError(f"{reference} is {meeting.status.value}: only a booked meeting can be moved")
    target = parse_instant(to, ctx.tz) if to else None
    if not move(session, ctx, meeting, to=target):
        raise UserError(f"no free slot for {reference} before its due date {meeting.audit.due_date}")
    return meeting


def reschedule_clashes(session: Session, ctx: AppContext, *, staff_ids: set[str]) -> tuple[int, list[str]]:
    """Move future meetings that now clash with these staff's busy periods; return moved and stuck refs."""
    if not staff_ids:
        return 0, []
    meetings = list(session.scalars(
        select(Meeting).where(Meeting.status == MeetingStatus.BOOKED, Meeting.starts_at > ctx.now,
                              or_(Meeting.organiser_id.in_(staff_ids), Meeting.attendee_id.in_(staff_ids)))
        .order_by(Meeting.starts_at)))
    moved, stuck = 0, []
    for meeting in meetings:
        clash = session.scalar(select(BusyPeriod.id).where(
            BusyPeriod.staff_id.in_([p.id for p in _participants(meeting)]),
            BusyPeriod.starts_at < meeting.ends_at, BusyPeriod.ends_at > meeting.starts_at).limit(1))
        if clash is None:
            continue
        if move(session, ctx, meeting, reason=Redacted.fixed("a diary clash")):
            moved += 1
        else:
            stuck.append(meeting.reference)
    if stuck:
        items = [{"key": ref, "audit_ref": m.audit.reference, "child_id": m.audit.child_id, "title": meeting_title(m),
                  "reason": "a new busy period clashes and no other slot is free before the due date"}
                 for ref in stuck for m in [get_meeting(session, ref)]]
        _report_exceptions(session, ctx, meetings[0].audit.cycle.month, items)
    return moved, stuck


def cancel_meetings(session: Session, ctx: AppContext, *, audit: Audit, reason: Redacted) -> int:
    """Cancel an audit's booked meetings, sending METHOD:CANCEL with a higher sequence."""
    queued = 0
    for meeting in session.scalars(select(Meeting).where(Meeting.audit_id == audit.id,
                                                         Meeting.status == MeetingStatus.BOOKED)):
        meeting.status = MeetingStatus.CANCELLED
        meeting.sequence += 1
        session.flush()
        queued += _send_invites(session, ctx, meeting, method="CANCEL", step=f"cancel-{meeting.sequence}",
                                reason=reason)
    return queued


def involved_recipients(session: Session, audit: Audit) -> set[Recipient]:
    """Return everyone who was told about an audit, the auditor and buddy included."""
    people = {recipient(p.staff) for p in Directory(session).involved(audit.child)}
    people |= {recipient(s) for s in (audit.auditor, audit.buddy) if s is not None}
    return people
