"""Values a session keeps for one transaction only, dropped as soon as it commits or rolls back."""
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

_KEY = "auditcycle.transaction"


def transaction_info(session: Session) -> dict[str, Any]:
    """Return the session's scratch space for its current transaction (Session.info outlives it)."""
    return session.info.setdefault(_KEY, {})


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
@event.listens_for(Session, "after_soft_rollback")
def _forget(session: Session, *_args) -> None:
    """Drop the transaction's values once it has ended: another process may change things in between."""
    session.info.pop(_KEY, None)
