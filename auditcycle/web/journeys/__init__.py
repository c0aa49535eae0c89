"""The journeys a signed link opens, one module per part of the cycle; importing them registers them."""
from auditcycle.web.journeys import (
    actions,  # noqa: F401
    learning,  # noqa: F401
    moderation,  # noqa: F401
    observations,  # noqa: F401
)
