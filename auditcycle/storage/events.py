"""The event log: each step of a decision, at the decision clock and the real clock."""
from sqlalchemy.orm import Session

from auditcycle.core.clock import wall_clock
from auditcycle.core.context import AppContext
from auditcycle.core.text import Redacted
from auditcycle.models import Event


def log_event(session: Session, ctx: AppContext, *, subject_ref: str, kind: str, actor_id: str | None = None,
              detail: Redacted = Redacted("")) -> None:
    """Log one step in the event log, at the decision clock and the real clock.

    The detail leaves the database (the tracker, exports, the console), so it must have been through the
    redactor, or be `Redacted.fixed` text our own code composed.
    """
    if not isinstance(detail, Redacted):
        raise TypeError(f"log_event({kind!r}): the detail must be Redacted; pass typed text through the redactor")
    session.add(Event(subject_ref=subject_ref, kind=kind, actor_id=actor_id, detail=str(detail), at=ctx.now,
                      recorded_at=wall_clock()))
