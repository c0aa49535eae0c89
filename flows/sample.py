"""The `sample` phase: draw the month's audit list and allocate auditors."""
from auditcycle.flows.common import phase_flow
from auditcycle.tasks.sampling import draw_sample


@phase_flow("sample")
def sample(month: str | None = None, now: str | None = None, request: str | None = None, cohort: str | None = None,
           team: str | None = None, size: int | None = None, seed: int | None = None) -> dict:
    """Draw the audit month's random, stratified sample and allocate auditors, once.

    `request` is a stored monthly request (REQ-17) giving the month's theme, so the theme's text never
    becomes a Prefect parameter (`auditcycle run sample --theme` stores it).
    """
    # The draw and any Immediate Response notices commit together; sending follows the commit.
    return draw_sample(month=month, now=now, request=request, cohort=cohort, team=team, size=size, seed=seed)
