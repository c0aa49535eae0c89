"""Calendar parts for meeting requests that Outlook, Gmail and Apple Calendar accept."""
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import lru_cache

from icalendar import Calendar, Event, vCalAddress, vText

from auditcycle.core.text import Redacted
from auditcycle.notifications.message import Composed, Recipient
from auditcycle.notifications.render import render

PRODID = "-//auditcycle//Quality Assurance audit cycle//EN"


@dataclass(frozen=True)
class Invite:
    """What a meeting request says; times are UTC so no VTIMEZONE is needed."""

    uid: str
    sequence: int
    summary: str
    description: str
    location: str
    start: datetime
    end: datetime
    organiser_name: str
    organiser_email: str
    attendees: tuple[Recipient, ...]
    # Invited to come if they can (a new auditor's buddy): the meeting never waits on their diary or reply.
    optional: tuple[Recipient, ...] = ()


def _address(email: str, name: str) -> vCalAddress:
    address = vCalAddress(f"mailto:{email}")
    address.params["CN"] = vText(" ".join(name.split()))
    return address


@lru_cache(maxsize=32)
def calendar_text(invite: Invite, *, method: str, stamp: datetime) -> str:
    """Return the iCalendar text of a REQUEST or CANCEL for an invite."""
    # Cached: each participant's copy of a meeting carries the same calendar, and serialising is costly.
    if method not in {"REQUEST", "CANCEL"}:
        raise ValueError(f"unsupported calendar method {method!r}")
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", method)
    event = Event()
    event.add("uid", invite.uid)
    event.add("sequence", invite.sequence)
    event.add("dtstamp", stamp.astimezone(UTC))
    # UTC times: Outlook shifts the RDATE-based VTIMEZONE icalendar writes by default.
    event.add("dtstart", invite.start.astimezone(UTC))
    event.add("dtend", invite.end.astimezone(UTC))
    event.add("summary", invite.summary)
    event.add("description", invite.description)
    event.add("location", invite.location)
    event.add("status", "CANCELLED" if method == "CANCEL" else "CONFIRMED")
    event.add("transp", "OPAQUE")
    organizer = _address(invite.organiser_email, invite.organiser_name)
    event.add("organizer", organizer)
    required = {person.email.lower() for person in invite.attendees}
    roles = [(p, "REQ-PARTICIPANT") for p in invite.attendees]
    roles += [(p, "OPT-PARTICIPANT") for p in invite.optional if p.email.lower() not in required]
    for person, role in roles:
        if person.email.lower() == invite.organiser_email.lower():
            continue  # the organiser is never also an attendee
        attendee = _address(person.email, person.name)
        attendee.params["ROLE"] = role
        attendee.params["PARTSTAT"] = "NEEDS-ACTION"
        attendee.params["RSVP"] = "TRUE"
        event.add("attendee", attendee, encode=0)
    cal.add_component(event)
    return cal.to_ical().decode("utf-8")


@dataclass(frozen=True)
class MeetingFacts:
    """What an invite email says about a meeting, with references instead of names."""

    title: str
    audit_ref: str
    child_id: str
    note: str | None
    location: str
    minutes: int
    when_label: str


def compose_invite(invite: Invite, facts: MeetingFacts, *, recipient_name: str, method: str, stamp: datetime,
                   reason: Redacted | None = None, optional: bool = False,
                   cant_make_url: str | None = None) -> Composed:
    """Compose a meeting request, update or cancellation with its calendar part; `optional` for a buddy.

    `cant_make_url` is the recipient's signed link to say they cannot make the time.
    """
    body = render("meeting_invite", recipient_name=recipient_name, title=facts.title, audit_ref=facts.audit_ref,
                  child_id=facts.child_id, note=facts.note, location=facts.location, minutes=facts.minutes,
                  when_label=facts.when_label, sequence=invite.sequence, cancelled=method == "CANCEL",
                  reason=reason, optional=optional, cant_make_url=cant_make_url)
    return replace(body, calendar=calendar_text(invite, method=method, stamp=stamp), calendar_method=method)


def compose_optional_apology(*, recipient_name: str, title: str, audit_ref: str, child_id: str, when_label: str,
                             person_name: str, reason: Redacted | None) -> Composed:
    """Compose the note telling a meeting's organiser that an optional attendee cannot come; it stays where it is."""
    return render("optional_apology", recipient_name=recipient_name, title=title, audit_ref=audit_ref,
                  child_id=child_id, when_label=when_label, person_name=person_name, reason=reason)


def decline_counter_text(*, uid: str, sequence: int, stamp: datetime, organiser_name: str, organiser_email: str,
                         attendee: Recipient, proposed_start: datetime, proposed_end: datetime, comment: str) -> str:
    """Return the iCalendar DECLINECOUNTER (RFC 5546 §3.2.8) refusing an attendee's proposed new time."""
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("method", "DECLINECOUNTER")
    event = Event()
    event.add("uid", uid)
    event.add("sequence", sequence)
    event.add("dtstamp", stamp.astimezone(UTC))
    event.add("dtstart", proposed_start.astimezone(UTC))
    event.add("dtend", proposed_end.astimezone(UTC))
    event.add("organizer", _address(organiser_email, organiser_name))
    event.add("attendee", _address(attendee.email, attendee.name), encode=0)
    event.add("comment", comment)
    cal.add_component(event)
    return cal.to_ical().decode("utf-8")


def compose_counter_declined(*, recipient_name: str, title: str, audit_ref: str, child_id: str, when_label: str,
                             proposed_label: str, reason: str, calendar: str) -> Composed:
    """Compose the answer to an attendee's proposed new time that cannot be taken, with its DECLINECOUNTER."""
    body = render("counter_declined", recipient_name=recipient_name, title=title, audit_ref=audit_ref,
                  child_id=child_id, when_label=when_label, proposed_label=proposed_label, reason=reason)
    return replace(body, calendar=calendar, calendar_method="DECLINECOUNTER")
