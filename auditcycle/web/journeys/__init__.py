"""The journeys a signed link opens, one module per part of the cycle; importing them registers them."""
from auditcycle.web.journeys import (
    actions,  # noqa: F401
    audit_form,  # noqa: F401
    buddy,  # noqa: F401
)
