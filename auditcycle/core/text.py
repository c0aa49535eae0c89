"""Checks on text that people type or import: what a one-line value may not hold."""
import unicodedata

# Control characters, and the Unicode line and paragraph separators.
_NOT_ONE_LINE = frozenset({"Cc", "Zl", "Zp"})


def breaks_line(value: str) -> bool:
    """Say whether text holds a line break or another control character.

    Such a character in a name, id or code could reach an email header or an invite line and start
    a line of its own, and PostgreSQL refuses NUL outright.
    """
    return any(unicodedata.category(c) in _NOT_ONE_LINE for c in value)
