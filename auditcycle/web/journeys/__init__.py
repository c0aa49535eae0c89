"""The journeys a signed link opens, one module per part of the cycle; importing them registers them."""
from auditcycle.web.journeys import (
    actions,  # noqa: F401
    immediate_responses,  # noqa: F401
    outcomes,  # noqa: F401
    supervision_gaps,  # noqa: F401
)
