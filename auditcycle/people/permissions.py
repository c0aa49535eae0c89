"""Who may do what: the one table every decision is checked against."""
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from auditcycle.core.errors import PermissionDenied, UserError, shown
from auditcycle.core.settings import Settings, get_settings
from auditcycle.models import Audit, Child, Moderation, Staff
from auditcycle.models.enums import QA_TEAM_ROLES, Role
from auditcycle.people.directory import moderation_panel


@dataclass(frozen=True)
class Subject:
    """What a decision is about, so rules relating people to it (its auditor, the child's managers) can be checked."""

    audit: Audit | None = None
    owner: Staff | None = None      # an action's owner
    observer_id: str | None = None  # an observation's assigned observer
    participant_ids: frozenset[str] = frozenset()  # everyone a meeting's invite asks to attend
    child: Child | None = None      # a child nominated as good practice, before any audit
    service_id: int | None = None   # a trend flag's service


Rule = Callable[[Session, Staff, Subject], bool]


def _qa_team(_: Session, actor: Staff, __: Subject) -> bool:
    return actor.role in QA_TEAM_ROLES


def _role(*roles: Role) -> Rule:
    return lambda _, actor, __: actor.role in roles


def _auditor(_: Session, actor: Staff, subject: Subject) -> bool:
    return subject.audit is not None and actor.id == subject.audit.auditor_id


def _buddy(_: Session, actor: Staff, subject: Subject) -> bool:
    return subject.audit is not None and actor.id == subject.audit.buddy_id


def _service_id(subject: Subject) -> int | None:
    """Return the service a decision is about: the audited or nominated child's team's, or a trend flag's."""
    child = subject.audit.child if subject.audit else subject.child
    return child.team.service_id if child is not None else subject.service_id


def _service_manager_of_child(_: Session, actor: Staff, subject: Subject) -> bool:
    return (actor.role == Role.SERVICE_MANAGER and actor.service_id is not None
            and actor.service_id == _service_id(subject))


def _team_manager_of_key_worker(_: Session, actor: Staff, subject: Subject) -> bool:
    if subject.audit is None or actor.role != Role.TEAM_MANAGER:
        return False
    child = subject.audit.child
    return actor.team_id == child.team_id or (child.key_worker is not None and child.key_worker.manager_id == actor.id)


def _key_worker_or_their_managers(session: Session, actor: Staff, subject: Subject) -> bool:
    if subject.audit is None:
        return False
    child = subject.audit.child
    if actor.id == child.key_worker_id:
        return True
    return _team_manager_of_key_worker(session, actor, subject) or _service_manager_of_child(session, actor, subject)


def panel_member_ids(session: Session, service: str | None = None) -> set[str]:
    """Return the moderation panel: the principal social worker and the review unit's service managers."""
    service = service or get_settings().framework.moderation_panel_service
    return {staff.id for staff in moderation_panel(session, service)}


def _moderation(session: Session, subject: Subject) -> Moderation | None:
    if subject.audit is None:
        return None
    return session.scalar(select(Moderation).where(Moderation.audit_id == subject.audit.id))


def _panel(session: Session, actor: Staff, _: Subject) -> bool:
    return actor.id in panel_member_ids(session)


def _assigned_pim(session: Session, actor: Staff, subject: Subject) -> bool:
    moderation = _moderation(session, subject)
    return (actor.role == Role.PRACTICE_IMPROVEMENT_MANAGER and moderation is not None
            and moderation.moderator_id == actor.id)


def _moderator_of_audit(session: Session, actor: Staff, subject: Subject) -> bool:
    moderation = _moderation(session, subject)
    if moderation is None:
        return False
    return actor.id in {moderation.moderator_id, moderation.assistant_director_id} or _panel(session, actor, subject)


def _owner(_: Session, actor: Staff, subject: Subject) -> bool:
    return subject.owner is not None and actor.id == subject.owner.id


def _owners_line_manager(_: Session, actor: Staff, subject: Subject) -> bool:
    return subject.owner is not None and subject.owner.manager_id == actor.id


def _observer(_: Session, actor: Staff, subject: Subject) -> bool:
    return subject.observer_id is not None and actor.id == subject.observer_id


def _participant(_: Session, actor: Staff, subject: Subject) -> bool:
    return actor.id in subject.participant_ids


def _any(*rules: Rule) -> Rule:
    return lambda session, actor, subject: any(rule(session, actor, subject) for rule in rules)


# Beside the QA team, who may sign in to the console and see their part of the tracker (auditcycle/console/scope.py).
CONSOLE_ROLES = (Role.ASSISTANT_DIRECTOR, Role.SERVICE_MANAGER, Role.TEAM_MANAGER, Role.KEY_WORKER)
CONSOLE_WHO = "the QA team, assistant directors, service managers, team managers and practitioners"

# command: (rule, the words shown in the README and in refusals)
PERMISSIONS: dict[str, tuple[Rule, str]] = {
    "submit": (_any(_auditor, _qa_team), "the audit's auditor, or the QA team"),
    "buddy-review": (_buddy, "the audit's buddy (the experienced auditor paired with a new one)"),
    "raise-ir": (_any(_auditor, _moderator_of_audit, _qa_team),
                 "the audit's auditor, any moderator of the audit, the QA team"),
    "supervision-gap": (_any(_auditor, _qa_team), "the audit's auditor, or the QA team"),
    "respond": (_any(_service_manager_of_child, _role(Role.ASSISTANT_DIRECTOR)),
                "the service manager of the child's team, or an assistant director"),
    "dispute": (_key_worker_or_their_managers, "the child's key worker, or their team manager or service manager"),
    "family-contact": (_key_worker_or_their_managers,
                       "the child's key worker, or their team manager or service manager"),
    "moderate": (_any(_panel, _role(Role.ASSISTANT_DIRECTOR), _assigned_pim),
                 "the moderation panel, an assistant director, the practice improvement manager assigned to that audit"),
    "agree-moderation": (_role(Role.ASSISTANT_DIRECTOR), "an assistant director"),
    "approve-list": (_role(Role.QA_MANAGER), "a QA manager"),
    "replace": (_qa_team, "the QA team"),
    "withdraw": (_qa_team, "the QA team"),
    "reschedule": (_qa_team, "the QA team"),
    "cant-make": (_participant, "anyone the meeting's invite asks to attend"),
    "run": (_qa_team, "the QA team"),
    "plan-themes": (_qa_team, "the QA team"),
    "deep-dive": (_qa_team, "the QA team"),
    "nominate": (_service_manager_of_child, "the service manager of the child's service"),
    "ask-good-practice": (_qa_team, "the QA team"),
    "trend-follow-up": (_any(_service_manager_of_child, _role(Role.ASSISTANT_DIRECTOR, Role.PRINCIPAL_SOCIAL_WORKER)),
                        "the service manager of the flagged service, an assistant director, or the principal "
                        "social worker"),
    "action-done": (_any(_owner, _owners_line_manager), "the action's owner or their line manager"),
    "supervision-discussed": (_team_manager_of_key_worker, "the key worker's team manager"),
    "action-sign-off": (_any(_owners_line_manager, _qa_team), "the owner's line manager, or the QA team"),
    "observe-recommend": (_any(_auditor, _owners_line_manager, _qa_team),
                          "the audit's auditor, the practitioner's line manager, or the QA team"),
    "observe-done": (_any(_observer, _qa_team), "the assigned observer, or the QA team"),
    "mad-approve": (_qa_team, "the QA team"),
    "report-summary": (_qa_team, "the QA team"),
    "report-notes": (_qa_team, "the QA team"),
    "issue-report": (_qa_team, "the QA team"),
    "questionnaire": (_auditor, "the audit's auditor"),
    "console": (_qa_team, "the QA team"),
    "console-sign-in": (_any(_qa_team, _role(*CONSOLE_ROLES)), CONSOLE_WHO),
    "tracker": (_any(_qa_team, _role(*CONSOLE_ROLES)), f"{CONSOLE_WHO}, each seeing their own part"),
    "access-log": (_qa_team, "the QA team"),
    "nominate-mad": (_role(Role.TEAM_MANAGER, Role.SERVICE_MANAGER, Role.ASSISTANT_DIRECTOR),
                     "team managers, service managers and assistant directors"),
}


def check_operator(settings: Settings, account: str) -> None:
    """Refuse `--by` from an operating-system account the council has not listed in `cli_operators`."""
    if settings.cli_operators and account not in settings.cli_operators:
        raise UserError(f"the account {account!r} may not act for a member of staff on the command line "
                        "(cli_operators): use the link in your email, or ask the QA team")


def may(session: Session, command: str, actor: Staff, subject: Subject | None = None) -> bool:
    """Say whether a member of staff may do this now: who is sent a link for an act is asked this first."""
    rule, _ = PERMISSIONS[command]
    return actor.active and rule(session, actor, subject or Subject())


def authorise(session: Session, *, command: str, staff_id: str, subject: Subject | None = None) -> Staff:
    """Return the acting member of staff, or refuse with who may do this instead."""
    rule, who = PERMISSIONS[command]
    actor = session.get(Staff, staff_id)
    if actor is None:
        raise UserError(f"--by {shown(staff_id)}: no member of staff has that id")
    if not actor.active or not rule(session, actor, subject or Subject()):
        about = f" {subject.audit.reference}" if subject and subject.audit else (
            f" {subject.child.id}" if subject and subject.child else "")
        raise PermissionDenied(
            f"{actor.id} ({actor.role.value.replace('_', ' ')}) may not {command}{about}: only {who} may."
        )
    return actor
