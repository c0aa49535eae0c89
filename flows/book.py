"""The `book` phase: book learning conversations, family calls and IRO/CP chair conversations."""
from auditcycle.flows.common import phase_flow
from auditcycle.tasks.booking import book_month_meetings


@phase_flow("book")
def book(month: str | None = None, now: str | None = None) -> dict:
    """Book the month's meetings and queue their invites in one transaction, then send them."""
    return book_month_meetings(month=month, now=now)
