"""Look up a record by the reference people see, or say plainly that there is none."""
from sqlalchemy import select
from sqlalchemy.orm import Session

from auditcycle.core.errors import UserError, shown
from auditcycle.models import Audit


def get_audit(session: Session, reference: str) -> Audit:
    """Get an audit by reference or say plainly that there is none."""
    audit = session.scalar(select(Audit).where(Audit.reference == reference))
    if audit is None:
        raise UserError(f"{shown(reference)}: no audit has that reference (see `auditcycle list audits`)")
    return audit
