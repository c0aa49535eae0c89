"""People who leave or change role: the acts still waiting on them go to their line manager, else the QA managers.

A staff import that shows someone has left (or changed role) withdraws every unused link they hold. Each act still
waiting on them, that is each of those links that had not expired (but their own feedback, PERSONAL_ACTS), gets a fresh link for the same act on the same
record, for their line manager if they have one still active, else for every QA manager. Each person given acts
gets one email listing them with their links, and every QA manager one listing all the hand-overs; all is written
in the caller's transaction (the import's), and keyed so that running the import again sends nothing twice.
"""
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from sqlalchemy import select
from sqlalchemy.orm import Session

from auditcycle.core.context import AppContext
from auditcycle.core.text import Redacted
from auditcycle.links.tokens import hand_on, revoke_links
from auditcycle.models import Link, Staff
from auditcycle.models.enums import Role
from auditcycle.notifications.acts import PERSONAL_ACTS
from auditcycle.notifications.handover import HandedOverItem, compose_acts_handed_over
from auditcycle.notifications.message import Recipient
from auditcycle.notifications.notices import moment_label
from auditcycle.notifications.outbox import MessageKey, enqueue_digest
from auditcycle.people.directory import staff_with_role
from auditcycle.storage.events import log_event

PHASE = "handover"
LEFT = "left the council"
CHANGED_ROLE = "changed role"


@dataclass(frozen=True)
class HandOver:
    """One act handed over: what and on which record, whose it was and why it moved, and each new holder's link."""

    purpose: str
    subject_ref: str
    # The withdrawn link the act was waiting on (the earliest, when several emails carried it).
    link_id: str
    from_id: str
    from_name: str
    reason: str
    to: tuple[tuple[Recipient, str, str], ...]  # each new holder, their link's URL, and until when it works

    @property
    def key(self) -> MessageKey:
        """Return the key under which each new holder is told of this act, alone or in a list."""
        # A digest of the link's id, not the id: the key is shown in the outbox, and need say no more than this.
        return MessageKey(PHASE, None, self.subject_ref, f"link-{hashlib.sha256(self.link_id.encode()).hexdigest()[:16]}")


def hand_over_links(session: Session, ctx: AppContext, staff: Staff, reason: str) -> list[HandOver]:
    """Withdraw a person's unused links and give each act still waiting on them to their line manager, else the QA managers."""
    pending = list(session.scalars(
        select(Link).where(Link.staff_id == staff.id, Link.used_at.is_(None), Link.revoked_at.is_(None))
        .order_by(Link.created_at, Link.id)))
    revoke_links(session, ctx, staff_id=staff.id, reason=reason)
    waiting: dict[tuple[str, str], Link] = {}
    for link in pending:
        if link.expires_at > ctx.now and link.purpose not in PERSONAL_ACTS:
            waiting.setdefault((link.purpose, link.subject_ref), link)
    if not waiting:
        return []
    takers = _takers(session, staff)
    handed = []
    for link in waiting.values():
        act = HandOver(purpose=link.purpose, subject_ref=link.subject_ref, link_id=link.id, from_id=staff.id,
                             from_name=staff.name, reason=reason, to=())
        to = []
        for person in takers:
            recipient = Recipient.of(person)
            key = act.key.for_recipient(recipient)
            url = hand_on(session, ctx, link, to=person, key=key)
            fresh = session.scalars(select(Link).where(Link.issue_key == key)).one()
            to.append((recipient, url, moment_label(fresh.expires_at, ctx.tz)))
        handed.append(replace(act, to=tuple(to)))
        log_event(session, ctx, subject_ref=link.subject_ref, kind="act-handed-over", detail=Redacted.fixed(
            f"{link.purpose} from {staff.id} ({reason}) to {', '.join(p.id for p in takers) or 'nobody'}"))
    return handed


def _takers(session: Session, staff: Staff) -> list[Staff]:
    """Return who takes a person's acts: their line manager if still active, else every QA manager but them."""
    manager = staff.manager
    if manager is not None and manager.active and manager.id != staff.id:
        return [manager]
    return [p for p in staff_with_role(session, Role.QA_MANAGER) if p.id != staff.id]


def tell_hand_overs(session: Session, ctx: AppContext, handed: Sequence[HandOver]) -> int:
    """Queue one email to each new holder listing their acts, and one to each QA manager listing every hand-over."""
    if not handed:
        return 0
    told: dict[str, tuple[Recipient, dict[str, tuple[MessageKey, HandedOverItem]]]] = {}
    for act in handed:
        for recipient, url, expires_label in act.to:
            item = _item(act, url=url, expires_label=expires_label)
            told.setdefault(recipient.staff_id, (recipient, {}))[1][act.link_id] = (act.key, item)
    for manager in staff_with_role(session, Role.QA_MANAGER):
        recipient = Recipient.of(manager)
        items = told.setdefault(recipient.staff_id, (recipient, {}))[1]
        for act in handed:
            items.setdefault(act.link_id, (act.key, _item(act)))
    queued = 0
    for recipient, items in told.values():
        queued += enqueue_digest(
            session, ctx, MessageKey(PHASE, None, "acts-handed-over", "acts"), recipient, list(items.values()),
            lambda found, name=recipient.name: compose_acts_handed_over(recipient_name=name, items=found),
        ) is not None
    return queued


def _item(act: HandOver, *, url: str | None = None, expires_label: str | None = None) -> HandedOverItem:
    return HandedOverItem(purpose=act.purpose, subject_ref=act.subject_ref, from_name=act.from_name,
                          reason=act.reason, to_names=tuple(r.name for r, _, _ in act.to), url=url,
                          expires_label=expires_label)


def hand_over(session: Session, ctx: AppContext, people: Iterable[tuple[Staff, str]]) -> list[HandOver]:
    """Hand over the acts waiting on each person, with the reason they moved, and queue the emails that say so."""
    handed = [h for staff, reason in people for h in hand_over_links(session, ctx, staff, reason)]
    tell_hand_overs(session, ctx, handed)
    return handed
