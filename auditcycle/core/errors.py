"""Errors that carry a message meant for the person at the keyboard."""


class UserError(Exception):
    """An input or request that cannot be carried out; the message says what to fix."""


class PermissionDenied(UserError):
    """A decision made by someone the table of who may do what does not allow."""


def brief(value: str, limit: int = 40) -> str:
    """Return a value quoted for an error message, cut short so a huge input cannot flood the message."""
    return repr(value if len(value) <= limit else value[:limit] + "…")


def shown(value: str, limit: int = 80) -> str:
    """Return an id as typed, for an error message: cut short, control characters made visible."""
    value = "".join(c if c.isprintable() else "?" for c in value[: limit + 1])
    return value if len(value) <= limit else value[:limit] + "…"


class Conflict(UserError):
    """Another run saved the same record at the same moment; nothing of this run was saved."""


class DatabaseBusy(UserError):
    """Another process kept the database locked for longer than this one would wait."""
