"""The console's moderation page: a month's worklist for the panel, with who is deciding each audit, what is
still undecided and for how long (in working days, as `auditcycle list moderations` counts them), the disputes,
and the decided ones with their outcome. It only reads; the decisions are made from the moderation links."""
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from auditcycle.core.clock import Month
from auditcycle.core.context import AppContext
from auditcycle.core.text import Redacted
from auditcycle.models import Audit, Dispute, Moderation, Staff, Submission, Team
from auditcycle.models.enums import AuditStatus, ModerationStatus
from auditcycle.moderation.panel import (
    CHASE_STEPS,
    DISPUTED,
    GOOD,
    PHASE,
    PIM_EXTRA,
    RANDOM,
    age_working_days,
    chase_steps_due,
    closure_day,
    cycle_moderations,
    is_closed,
    panel,
    stage,
)
from auditcycle.notifications.outbox import steps_told
from auditcycle.privacy.redaction import redactors_for
from auditcycle.sampling.cycle import monthly_cycle

# The chase ladder's steps as the page names who has been asked to decide.
CHASE_LABELS = dict(zip(CHASE_STEPS, ("the panel", "the QA managers", "the assistant director"), strict=True))
REASONS = {GOOD: "Graded good or better", DISPUTED: "Grade disputed", RANDOM: "Chosen at random",
           PIM_EXTRA: "A practice improvement manager's moderation"}


@dataclass(frozen=True)
class DisputeNote:
    """A disagreement with the audit's grade: who raised it, when, and what they said (redacted)."""

    raised_by: str
    raised_at: datetime
    note: Redacted


@dataclass(frozen=True)
class WorkItem:
    """One audit in moderation: why, who decides it, where it stands, and what was decided."""

    audit_ref: str
    case_id: str
    team: str
    reason: str
    submitted: str
    stage: str
    age: int | None                    # working days since selection while undecided, as the CLI counts them
    chased: tuple[str, ...]            # the chase ladder's steps queued: who has been asked
    chase_due: tuple[str, ...]         # steps due by its age but not queued yet (the next moderation run sends them)
    next_chase: tuple[str, int] | None  # the next step and the working day it falls due
    moderator: str | None              # the practice improvement manager assigned to it
    assistant_director: str | None     # who agrees a good or better grade
    disagreement: bool                 # the auditor said on the form that they disagreed
    disputes: tuple[DisputeNote, ...]
    outcome: str | None                # "Grade agreed (Good)", "Grade changed from Good to Inadequate"
    note: Redacted | None
    decided_by: str | None
    decided_at: datetime | None
    agreed_by: str | None
    agreed_at: datetime | None


@dataclass(frozen=True)
class ModerationWorklist:
    """A month's moderation as the panel works through it."""

    month: Month
    drawn: bool
    closes_on: date | None
    closed: bool
    meeting: tuple[datetime, datetime] | None
    panel: tuple[str, ...]
    undecided: tuple[WorkItem, ...]
    decided: tuple[WorkItem, ...]


def _names(session: Session, ids: set[str | None]) -> dict[str, str]:
    wanted = {i for i in ids if i}
    return dict(session.execute(select(Staff.id, Staff.name).where(Staff.id.in_(wanted))).all()) if wanted else {}


def _outcome(ctx: AppContext, moderation: Moderation) -> str | None:
    if moderation.decided_at is None:
        return None
    grades = ctx.settings.framework.grades
    new = grades.get(moderation.moderated_overall or "", moderation.moderated_overall or "not graded")
    if moderation.status == ModerationStatus.CHANGED and moderation.moderated_overall != moderation.original_overall:
        old = grades.get(moderation.original_overall or "", moderation.original_overall or "not graded")
        return f"Grade changed from {old} to {new}"
    if moderation.status == ModerationStatus.CHANGED:
        return f"Domain grades changed; overall {new}"
    return f"Grade agreed ({new})"


def moderation_worklist(session: Session, ctx: AppContext, month: Month) -> ModerationWorklist:
    """Return a month's moderation worklist: every audit selected, undecided first (oldest first), then decided."""
    cycle = monthly_cycle(session, month)
    if cycle is None:
        return ModerationWorklist(month=month, drawn=False, closes_on=None, closed=False, meeting=None, panel=(),
                                  undecided=(), decided=())
    framework = ctx.settings.framework
    moderations = cycle_moderations(session, cycle)
    audit_ids = [m.audit_id for m in moderations]
    teams = dict(session.execute(select(Audit.id, Team.name).join(Team, Audit.team_id == Team.id)
                                 .where(Audit.id.in_(audit_ids))).all())
    disagreed = set(session.scalars(select(Submission.audit_id).where(Submission.audit_id.in_(audit_ids),
                                                                      Submission.disagreement)))
    disputes: dict[int, list[Dispute]] = {}
    for row in session.scalars(select(Dispute).where(Dispute.audit_id.in_(audit_ids)).order_by(Dispute.id)):
        disputes.setdefault(row.audit_id, []).append(row)
    names = _names(session, {p for m in moderations for p in (m.moderator_id, m.assistant_director_id,
                                                               m.decided_by_id, m.director_agreed_by_id)}
                   | {d.raised_by_id for rows in disputes.values() for d in rows})
    steps = dict(zip(CHASE_STEPS, framework.moderation_chase_working_days, strict=True))
    sent: dict[str, set[str]] = {}
    for ref, step in steps_told(session, phase=PHASE, subject_refs={m.audit.reference for m in moderations},
                                steps={f"chase-{s}" for s in CHASE_STEPS}):
        sent.setdefault(ref, set()).add(step.removeprefix("chase-"))
    redactors = redactors_for(session, [m.audit.child_id for m in moderations])
    undecided, decided = [], []
    for m in moderations:
        audit = m.audit
        in_moderation = audit.status == AuditStatus.IN_MODERATION
        age = age_working_days(ctx, m) if in_moderation else None
        queued = sent.get(audit.reference, set())
        due = chase_steps_due(framework, age) if age is not None else ()
        upcoming = [s for s in CHASE_STEPS if age is not None and steps[s] > age]
        redact = redactors[audit.child_id]
        item = WorkItem(
            audit_ref=audit.reference, case_id=audit.child_id, team=teams.get(audit.id, ""),
            reason=REASONS.get(m.reason, m.reason.capitalize()),
            submitted=framework.grades.get(m.original_overall or "", m.original_overall or "not graded"),
            stage=stage(framework, m, in_moderation=in_moderation), age=age,
            chased=tuple(CHASE_LABELS[s] for s in CHASE_STEPS if s in queued),
            chase_due=tuple(CHASE_LABELS[s] for s in due if s not in queued),
            next_chase=(CHASE_LABELS[upcoming[0]], steps[upcoming[0]]) if upcoming else None,
            moderator=names.get(m.moderator_id or ""), assistant_director=names.get(m.assistant_director_id or ""),
            disagreement=audit.id in disagreed,
            disputes=tuple(DisputeNote(raised_by=names.get(d.raised_by_id, d.raised_by_id), raised_at=d.raised_at,
                                       note=redact(d.note)) for d in disputes.get(audit.id, [])),
            outcome=_outcome(ctx, m), note=redact.optional(m.note),
            decided_by=names.get(m.decided_by_id or ""), decided_at=m.decided_at,
            agreed_by=names.get(m.director_agreed_by_id or ""), agreed_at=m.director_agreed_at)
        (undecided if in_moderation else decided).append(item)
    undecided.sort(key=lambda i: (-(i.age or 0), i.audit_ref))
    meeting = ((cycle.moderation_starts_at, cycle.moderation_ends_at)
               if cycle.moderation_starts_at and cycle.moderation_ends_at else None)
    return ModerationWorklist(
        month=month, drawn=True, closes_on=closure_day(ctx, cycle),
        closed=is_closed(ctx, cycle),
        meeting=meeting, panel=tuple(p.name for p in panel(session, ctx)), undecided=tuple(undecided),
        decided=tuple(decided))
