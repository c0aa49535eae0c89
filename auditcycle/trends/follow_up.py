"""The follow-up to a trend flag: what contributed to the Inadequate grade, and what follows.

The framework: trends "will be scrutinised in more detail to ascertain what features contributed to the
Inadequate grade and discussions will follow as appropriate linking in with the relevant Assistant
Director/Service Manager, managers and practitioners". Each person a flag was sent to has a link to record
that follow-up; it is recorded once, by whoever records it first, and the QA managers are told.
"""
from datetime import tzinfo

from sqlalchemy import update
from sqlalchemy.orm import Session

from auditcycle.core.clock import wall_clock
from auditcycle.core.context import AppContext
from auditcycle.core.errors import UserError, shown
from auditcycle.core.text import Redacted, text_problem
from auditcycle.links.tokens import settle_links
from auditcycle.models import TrendFlag
from auditcycle.notifications.learning import compose_trend_followed_up
from auditcycle.notifications.notices import moment_label
from auditcycle.notifications.outbox import MessageKey, enqueue
from auditcycle.people.directory import Directory
from auditcycle.people.permissions import Subject, authorise
from auditcycle.privacy.redaction import Redactor
from auditcycle.storage.events import log_event

PHASE = "trends"
# The link's purpose; its subject is the flag's reference (TF-12), its holder each person the flag was sent to.
FOLLOW_UP_LINK = "trend-follow-up"
NO_FURTHER_ACTION = "no_further_action"
# What follows, as the framework's "discussions will follow as appropriate" comes to in practice.
OUTCOMES = {
    "discussion": "A discussion with the practitioner and their manager",
    "observation": "An observation of practice",
    "learning_session": "A learning session",
    "further_audit": "A further audit",
    NO_FURTHER_ACTION: "No further action",
}
CONTRIBUTED_MAX = 4000
NOTE_MAX = 2000
CONTRIBUTED, OUTCOME, NOTE = "contributed", "outcome", "note"


class FollowUpRefused(UserError):
    """A follow-up the rules refuse, naming the field at fault (None: the follow-up as a whole)."""

    def __init__(self, field_name: str | None, message: str) -> None:
        super().__init__(message)
        self.field_name = field_name


def flag_reference(flag: TrendFlag) -> str:
    """Return the reference a flag is known by in links and mail, e.g. TF-12."""
    return f"TF-{flag.id}"


def get_flag(session: Session, reference: str) -> TrendFlag:
    """Return the trend flag a reference names, or say plainly that there is none."""
    number = reference.removeprefix("TF-") if isinstance(reference, str) else ""
    # Read afresh: whether it was followed up is decided by the row as it is now.
    flag = session.get(TrendFlag, int(number), populate_existing=True) if number.isdigit() else None
    if flag is None:
        raise UserError(f"{shown(str(reference))}: no trend flag has that reference")
    return flag


def flag_summary(flag: TrendFlag) -> tuple[str, int]:
    """Return what a flag found, in a line, and how many audits it names, from its stored detail."""
    title, *audits = flag.detail.split("; ")
    return title, len(audits)


def _who(flag: TrendFlag) -> str:
    return flag.followed_up_by.name if flag.followed_up_by is not None else "someone no longer listed"


def follow_up_state(flag: TrendFlag, ctx: AppContext) -> str | None:
    """Say who followed a flag up and when, or None while it waits."""
    if flag.followed_up_at is None:
        return None
    return f"followed up by {_who(flag)} at {moment_label(flag.followed_up_at, ctx.tz)}"


def _text(field_name: str, value: str | None, *, limit: int, label: str, required: bool) -> str | None:
    text = (value or "").strip()
    if not text:
        if required:
            raise FollowUpRefused(field_name, f"Enter {label}")
        return None
    if len(text) > limit:
        raise FollowUpRefused(field_name, f"{label.capitalize()} is {len(text):,} characters; keep it to {limit:,}")
    if problem := text_problem(text, multiline=True):
        raise FollowUpRefused(field_name, f"{label.capitalize()} {problem}")
    return text


def record_follow_up(session: Session, ctx: AppContext, *, reference: str, by: str, contributed: str, outcome: str,
                     note: str | None = None) -> TrendFlag:
    """Record a flag's follow-up once, tell the QA managers, and show everyone else's link it is done."""
    flag = get_flag(session, reference)
    actor = authorise(session, command="trend-follow-up", staff_id=by, subject=Subject(service_id=flag.service_id))
    if (done := follow_up_state(flag, ctx)) is not None:
        raise FollowUpRefused(None, f"{reference} was already {done}")
    ctx.refuse_before(flag.raised_at, f"{reference} was raised")
    what = _text(CONTRIBUTED, contributed, limit=CONTRIBUTED_MAX, label="what contributed to the grade",
                 required=True)
    if outcome not in OUTCOMES:
        raise FollowUpRefused(OUTCOME, "Select what follows")
    said = _text(NOTE, note, limit=NOTE_MAX, label="a note", required=False)
    if outcome == NO_FURTHER_ACTION and said is None:
        raise FollowUpRefused(NOTE, "Say in the note why no further action is needed")
    # Conditional on the row as it is now: of two recipients recording at once, exactly one succeeds.
    result = session.execute(
        update(TrendFlag).where(TrendFlag.id == flag.id, TrendFlag.followed_up_at.is_(None))
        .values(followed_up_at=ctx.now, followed_up_by_id=actor.id, follow_up_contributed=what,
                follow_up_outcome=outcome, follow_up_note=said, follow_up_recorded_at=wall_clock())
        .execution_options(synchronize_session=False))
    session.refresh(flag)
    if result.rowcount != 1:
        raise FollowUpRefused(None, f"{reference} was already {follow_up_state(flag, ctx)}")
    log_event(session, ctx, subject_ref=reference, kind="trend-followed-up", actor_id=actor.id,
              detail=Redacted.fixed(outcome))
    settle_links(session, ctx, purpose=FOLLOW_UP_LINK, subject_ref=reference, by=actor.id)
    redact = Redactor.for_caseload(session)
    key = MessageKey(PHASE, flag.month, f"trend-{flag.id}", "followed-up")
    for qa in Directory(session).qa_managers:
        enqueue(session, ctx, key, qa, compose_trend_followed_up(
            recipient_name=qa.name, reference=reference, month=flag.month, title=flag_summary(flag)[0],
            by_name=actor.name, at_label=moment_label(ctx.now, ctx.tz), contributed=redact(what),
            outcome_label=OUTCOMES[outcome], note=redact.optional(said)))
    return flag


def follow_up_label(flag: TrendFlag, tz: tzinfo) -> str:
    """Say in a few words where a flag's follow-up stands, for a list of flags."""
    if flag.followed_up_at is None:
        return "Not yet followed up"
    what = OUTCOMES.get(flag.follow_up_outcome or "", flag.follow_up_outcome)
    return f"{what}: recorded by {_who(flag)} on {flag.followed_up_at.astimezone(tz):%d %B %Y}"
