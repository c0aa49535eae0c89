"""The `deep-dive` phase: draw, announce and book a deep dive at short notice, in one run."""
# The Prefect UI builds its form from each flow's own parameter list and docstring, so the two ad-hoc
# flows spell theirs out; their body is one, flows.common.adhoc_phase.
# pylint: disable=duplicate-code
from prefect import flow

from auditcycle.flows.common import adhoc_phase


@flow(name="deep-dive", persist_result=False, log_prints=False)
def deep_dive(request: str, council: str | None = None) -> dict:
    """Draw a stored deep dive request under the monthly rules, notify everyone involved and book its meetings, once.

    The run is credited to the QA team member who asked for it, checked when it runs.

    Args:
        request: The stored request's reference, e.g. "REQ-17", as the console shows it or `auditcycle deep-dive
            … --store-only` prints it. Its theme and reason stay in auditcycle's database, never in Prefect's.
        council: In a region, the slug of the council whose request it is (unset: the default council).
    """
    return adhoc_phase("deep-dive", kind="deep_dive", request=request, council=council)
