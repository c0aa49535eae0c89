"""Keep names out of free text before it leaves the database in a message or a file."""
import re
from collections.abc import Iterable


def redact(text: str, names: Iterable[str]) -> str:
    """Replace each given name, as a whole word and in any case, with its initial and a full stop."""
    for name in sorted({n for n in names if n and len(n.strip()) > 1}, key=len, reverse=True):
        pattern = re.compile(rf"(?<!\w){re.escape(name.strip())}(?!\w)", re.IGNORECASE)
        text = pattern.sub(f"{name.strip()[0].upper()}.", text)
    return text


def child_names(child) -> list[str]:
    """List the names that must not appear in text about a child: theirs and their family contacts'."""
    names = [child.first_name, child.last_name, f"{child.first_name} {child.last_name}"]
    for contact in child.contacts:
        names.append(contact.name)
        names.extend(contact.name.split())
    return names
