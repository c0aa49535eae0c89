"""The `retention` phase: erase children's personal fields a configured number of years after their last audit."""
from auditcycle.flows.common import phase_flow
from auditcycle.tasks.retention import purge_personal_data


@phase_flow("retention", deliver=False)
def retention(month: str | None = None, now: str | None = None) -> dict:
    """Erase the names, birth dates and family contacts of children whose last audit is past retention, once."""
    return purge_personal_data(now=now)
