"""Who may do what: the one table every decision is checked against."""
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from .errors import PermissionDenied, UserError
from .models import Audit, Staff
from .models.enums import QA_TEAM_ROLES, Role


@dataclass(frozen=True)
class Subject:
    """What a decision is about, so relational rules (the audit's auditor, the child's manager) can be checked."""

    audit: Audit | None = None


Rule = Callable[[Staff, Subject], bool]


def _qa_team(actor: Staff, _: Subject) -> bool:
    return actor.role in QA_TEAM_ROLES


def _role(*roles: Role) -> Rule:
    return lambda actor, _: actor.role in roles


def _auditor_of_audit(actor: Staff, subject: Subject) -> bool:
    return subject.audit is not None and actor.id in {subject.audit.auditor_id, subject.audit.buddy_id}


def _any(*rules: Rule) -> Rule:
    return lambda actor, subject: any(rule(actor, subject) for rule in rules)


# command: (rule, the words shown in the README and in refusals)
PERMISSIONS: dict[str, tuple[Rule, str]] = {
    "submit": (_any(_auditor_of_audit, _qa_team), "the audit's auditor, or the QA team"),
    "raise-ir": (_any(_auditor_of_audit, _qa_team), "the audit's auditor, any moderator of the audit, the QA team"),
    "respond": (_role(Role.SERVICE_MANAGER, Role.ASSISTANT_DIRECTOR),
                "the service manager of the child's team, or an assistant director"),
    "dispute": (_role(Role.KEY_WORKER, Role.TEAM_MANAGER, Role.SERVICE_MANAGER),
                "the child's key worker, or their team manager or service manager"),
    "moderate": (_any(_role(Role.ASSISTANT_DIRECTOR), _qa_team),
                 "the moderation panel, an assistant director, the practice improvement manager assigned to that audit"),
    "replace": (_qa_team, "the QA team"),
    "withdraw": (_qa_team, "the QA team"),
    "reschedule": (_qa_team, "the QA team"),
    "run": (_qa_team, "the QA team"),
    "deep-dive": (_qa_team, "the QA team"),
    "nominate": (_role(Role.SERVICE_MANAGER), "service managers"),
}

QA_TEAM_WORDS = "The QA team means qa_manager, practice_improvement_manager and principal_social_worker."


def authorise(session: Session, *, command: str, staff_id: str, subject: Subject | None = None) -> Staff:
    """Return the acting member of staff, or refuse with who may do this instead."""
    rule, who = PERMISSIONS[command]
    actor = session.get(Staff, staff_id)
    if actor is None:
        raise UserError(f"--by {staff_id}: no member of staff has that id")
    if not actor.active or not rule(actor, subject or Subject()):
        raise PermissionDenied(
            f"{actor.id} ({actor.role.value.replace('_', ' ')}) may not {command}: only {who} may."
        )
    return actor
