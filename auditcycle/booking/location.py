"""Where a meeting happens: the organiser's own room or link, their team's, the council's, then a placeholder."""
from auditcycle.core.settings import Settings
from auditcycle.models import Staff

# Only when a council has set no room or link anywhere: the invite still says who will confirm it.
PLACEHOLDER = "Microsoft Teams or in person: the Quality Assurance team will confirm"


def meeting_location(settings: Settings, organiser: Staff | None = None) -> str:
    """Return the location an invite carries for a meeting this person organises (None: the QA team)."""
    if organiser is not None:
        if organiser.meeting_location:
            return organiser.meeting_location
        if organiser.team is not None and organiser.team.meeting_location:
            return organiser.team.meeting_location
    return settings.meeting_location or PLACEHOLDER
