"""Values a session keeps for one transaction only, dropped as soon as it commits or rolls back."""
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

_KEY = "auditcycle.transaction"


def transaction_info(session: Session) -> dict[str, Any]:
    """Return the session's scratch space for its current transaction (Session.info outlives it)."""
    return session.info.setdefault(_KEY, {})


@event.listens_for(Session, "after_transaction_end")
def _forget_at_end(session: Session, transaction: SessionTransaction) -> None:
    """Drop the transaction's values once its outermost transaction has ended: another process may change things next.

    A savepoint released into it keeps them: what it wrote is now the transaction's own.
    """
    if transaction.parent is None:
        session.info.pop(_KEY, None)


@event.listens_for(Session, "after_soft_rollback")
def _forget_at_rollback(session: Session, _previous: SessionTransaction) -> None:
    """Drop them at any rollback, a savepoint's too: a value noted inside it may name what was just undone."""
    session.info.pop(_KEY, None)
