"""Checks on text that people type or import: the characters a value may not hold.

This is the one home of those rules. Forms, imports, settings and report notes ask `text_problem`;
none keeps a list of its own.
"""
import unicodedata

# Control characters, and the Unicode line and paragraph separators.
_NOT_ONE_LINE = frozenset({"Cc", "Zl", "Zp"})
# The embeddings, overrides and isolates that reorder how text is shown (U+202A–U+202E, U+2066–U+2069):
# "Trojan Source". A name or a line of feedback could show one thing and hold another.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# Characters that take no space: two ids or names that look alike would differ. U+FEFF at the start of a
# file is a byte-order mark, which the readers drop; inside a value it is one of these.
INVISIBLE = frozenset("\u200b\u200c\u200d\u2060\ufeff")
# What free text may hold of the control characters.
_FREE_TEXT_CONTROLS = frozenset("\n\r\t")


def _named(c: str) -> str:
    return f"U+{ord(c):04X} {unicodedata.name(c, 'control character')}"


def breaks_line(value: str) -> bool:
    """Say whether text holds a line break or another control character.

    Such a character in a name, id or code could reach an email header or an invite line and start
    a line of its own, and PostgreSQL refuses NUL outright.
    """
    return any(unicodedata.category(c) in _NOT_ONE_LINE for c in value)


def bidi_control(value: str) -> str | None:
    """Return the first bidirectional control character in the text, or None."""
    return next((c for c in value if c in BIDI_CONTROLS), None)


def invisible(value: str) -> str | None:
    """Return the first zero-width (invisible) character in the text, or None."""
    return next((c for c in value if c in INVISIBLE), None)


def text_problem(value: str, *, multiline: bool) -> str | None:
    """Say what is wrong with the characters of a value, or None when it may be stored.

    Every value refuses bidirectional controls. A one-line value (an id, a name, a code) also refuses
    line breaks, every other control character and zero-width characters. Free text (`multiline`)
    keeps its line breaks and tabs. The reason never repeats the value, which may be personal data.
    """
    if c := bidi_control(value):
        return (f"contains a bidirectional control character ({_named(c)}), which can show text in a different "
                "order from how it is stored; remove it")
    if multiline:
        if any(unicodedata.category(c) == "Cc" and c not in _FREE_TEXT_CONTROLS for c in value):
            return "contains a control character such as NUL; only text, line breaks and tabs are allowed"
        return None
    if breaks_line(value):
        return "contains a line break or another control character; give one line of plain text"
    if c := invisible(value):
        return f"contains an invisible character ({_named(c)}); type the value again without it"
    return None


class Redacted(str):
    """Text that has been through the redactor (auditcycle.privacy.redaction), fit to leave the database."""

    @classmethod
    def fixed(cls, text: str) -> "Redacted":
        """Mark text our own code composed from codes and references (no one typed it) as fit to leave."""
        return cls(text)
