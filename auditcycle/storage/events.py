"""The event log: each step of a decision, at the decision clock and the real clock."""
from sqlalchemy.orm import Session

from auditcycle.core.clock import wall_clock
from auditcycle.core.context import AppContext
from auditcycle.models import Event


def log_event(session: Session, ctx: AppContext, *, subject_ref: str, kind: str, actor_id: str | None = None,
              detail: str = "") -> None:
    """Log one step in the event log, at the decision clock and the real clock."""
    session.add(Event(subject_ref=subject_ref, kind=kind, actor_id=actor_id, detail=detail, at=ctx.now,
                      recorded_at=wall_clock()))
