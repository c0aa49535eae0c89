"""The `report` phase: publish the monthly Quality Assurance report."""
from auditcycle.flows.common import phase_flow
from auditcycle.tasks.report import publish_report


@phase_flow("report")
def report(month: str | None = None, now: str | None = None, reissue: bool = False) -> dict:
    """Write the report (HTML, PDF, CSV, restricted annex) and mail the edition due, once.

    A scheduled run (no month given) publishes only on the configured working day of the month.
    """
    return publish_report(month=month, now=now, reissue=reissue)
