"""Messages about invite replies read from the QA mailbox, for the QA managers."""
from auditcycle.core.text import Redacted
from auditcycle.notifications.message import Composed
from auditcycle.notifications.render import render


def compose_reply_for_qa(*, recipient_name: str, outcome: str, sender: Redacted, received_label: str,
                         reason: Redacted, title: str | None = None, audit_ref: str | None = None,
                         child_id: str | None = None, when_label: str | None = None) -> Composed:
    """Compose the note telling a QA manager of a reply held, unreadable, or of a meeting theirs to book by hand."""
    return render("reply_for_qa", recipient_name=recipient_name, outcome=outcome, sender=sender,
                  received_label=received_label, reason=reason, title=title, audit_ref=audit_ref,
                  child_id=child_id, when_label=when_label)
