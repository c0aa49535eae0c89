"""The `deliver` phase: send what the outbox holds every minute, so mail queued by a page leaves within a minute."""
from prefect import flow

from auditcycle.core.region import for_council
from auditcycle.flows.common import run_holder
from auditcycle.tasks.delivery import deliver_outbox


@flow(name="deliver", persist_result=False, log_prints=False)
def deliver(council: str | None = None) -> dict:
    """Send every message due, once; runs on several workers at once each claim different messages.

    Args:
        council: In a region, the slug of the council whose outbox it sends (unset: the default council).
    """
    # No lease and no phase record: the outbox's own claims keep each message to one sender, and a run a
    # minute would otherwise fill the phase history with nothing.
    with for_council(council):
        return deliver_outbox(holder=run_holder())
