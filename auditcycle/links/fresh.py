"""Mail-me-a-fresh-link: a new link for the same act, mailed to the same person, once per old link."""
from sqlalchemy import select
from sqlalchemy.orm import Session

from auditcycle.core.context import AppContext
from auditcycle.links.tokens import reissue
from auditcycle.models import Link
from auditcycle.notifications.acts import describe_act
from auditcycle.notifications.links import compose_fresh_link
from auditcycle.notifications.notices import moment_label
from auditcycle.notifications.outbox import MessageKey, enqueue

PHASE = "links"


def mail_fresh_link(session: Session, ctx: AppContext, link: Link) -> str:
    """Queue a fresh link for an expired or withdrawn link's act to its holder, in the caller's transaction; return their address."""
    url = reissue(session, ctx, link)
    # reissue withdrew every other link of the act: the one still standing is the fresh one.
    fresh = session.scalar(select(Link).where(Link.purpose == link.purpose, Link.subject_ref == link.subject_ref,
                                              Link.staff_id == link.staff_id, Link.revoked_at.is_(None),
                                              Link.used_at.is_(None)))
    message = compose_fresh_link(recipient_name=link.staff.name, act=describe_act(link.purpose, link.subject_ref),
                                 url=url, expires_label=moment_label(fresh.expires_at, ctx.tz))
    enqueue(session, ctx, MessageKey(PHASE, None, link.subject_ref, f"fresh-{link.id}"), link.staff, message)
    return link.staff.email
