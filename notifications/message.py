"""The plain values messages are made of: who receives them and what they say."""
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the model is only named in a hint; messages stay plain values
    from auditcycle.models import Staff


@dataclass(frozen=True, order=True)
class Recipient:
    """One person a message goes to; frozen so a set of them de-duplicates."""

    staff_id: str
    name: str
    email: str

    @classmethod
    def of(cls, staff: "Staff") -> "Recipient":
        """Return a member of staff as a recipient."""
        return cls(staff_id=staff.id, name=staff.name, email=staff.email)


@dataclass(frozen=True)
class Composed:
    """A composed message: subject, text and HTML bodies, and an optional calendar part."""

    template: str
    subject: str
    text: str
    html: str
    calendar: str | None = None
    calendar_method: str | None = None
    importance: str | None = None
    attachment_path: str | None = None
    attachment_name: str | None = None
