"""Compose the message that acts once waiting on someone who left or changed role are now the recipient's."""
from collections.abc import Sequence
from dataclasses import dataclass

from auditcycle.notifications.acts import describe_act
from auditcycle.notifications.message import Composed
from auditcycle.notifications.render import render


@dataclass(frozen=True)
class HandedOverItem:
    """One act handed over, as one person is told of it: theirs now, with their link, or for their information."""

    purpose: str
    subject_ref: str
    from_name: str
    reason: str
    # Who holds it now, for the QA managers' view.
    to_names: tuple[str, ...] = ()
    # The recipient's own fresh link, and until when it works; None when they are told for information.
    url: str | None = None
    expires_label: str | None = None


def compose_acts_handed_over(*, recipient_name: str, items: Sequence[HandedOverItem]) -> Composed:
    """Compose one person's list of the acts handed to them, with their fresh links, and of others' for information."""
    def row(item: HandedOverItem) -> dict:
        # The others given the same act (the QA managers, say), so that it is not done twice.
        also = ", ".join(n for n in item.to_names if n != recipient_name)
        return {**item.__dict__, "act": describe_act(item.purpose, item.subject_ref), "to": ", ".join(item.to_names),
                "also": also}

    ordered = sorted(items, key=lambda i: (i.from_name, i.subject_ref, i.purpose))
    return render("acts_handed_over", recipient_name=recipient_name,
                  yours=[row(i) for i in ordered if i.url is not None],
                  others=[row(i) for i in ordered if i.url is None])
