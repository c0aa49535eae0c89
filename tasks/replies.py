"""Read the invite replies in the QA mailbox, each message in its own transaction."""
from collections import Counter

from auditcycle.core import faults
from auditcycle.core.context import build_context
from auditcycle.invitations.mailbox import open_mailbox
from auditcycle.invitations.replies import handle_message, handled_uids
from auditcycle.storage.db import session_scope
from auditcycle.tasks.common import step_task


@step_task("read-replies")
def read_replies(*, now: str) -> dict:
    """Read each message of the QA mailbox not read before and do what its reply asks; return counts by outcome."""
    ctx = build_context(now)
    settings = ctx.settings.replies
    if not settings.configured:
        return {"read": 0, "skipped": "no QA mailbox is set (replies.imap_host)"}
    outcomes: Counter[str] = Counter()
    with open_mailbox(settings) as mailbox:
        with session_scope() as session:
            done = handled_uids(session, mailbox=mailbox.name, uid_validity=mailbox.uid_validity)
        for received in mailbox.messages(skip=done):
            # One transaction a message: its row, its answer, a move and the mail it sends commit together.
            with session_scope() as session:
                row = handle_message(session, ctx, received)
                if row is not None:
                    outcomes[row.outcome.value] += 1
                faults.checkpoint(faults.REPLY_READ)
    return {"read": sum(outcomes.values()), **dict(sorted(outcomes.items()))}
