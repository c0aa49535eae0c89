"""A new auditor's buddy: an optional attendee of the learning conversation, and a copy of the form to comment on."""
from datetime import date

import vobject
from factories import context_at as ctx_at
from forms import valid_form
from icalendar import Calendar
from sqlalchemy import delete, select

from auditcycle.booking.meetings import book
from auditcycle.core.clock import Month
from auditcycle.models import Audit, BusyPeriod, Meeting, OutboxMessage
from auditcycle.models.enums import MeetingKind
from auditcycle.notices.queue import queue_notices
from auditcycle.notifications.gateway import deliver
from auditcycle.sampling.cycle import draw
from auditcycle.submissions.submit import submit


def _buddied(s, settings) -> Audit:
    draw(s, ctx_at("2026-11-23T09:00", settings), month=Month(2026, 12), seed=9)
    s.commit()
    s.execute(delete(OutboxMessage))
    s.commit()
    audit = s.scalars(select(Audit).where(Audit.buddy_id.is_not(None)).order_by(Audit.id)).first()
    assert audit is not None, "the seeded authority pairs each new auditor with a buddy"
    return audit


def _roles(received, uid: str) -> dict[str, str]:
    """Read each attendee's ROLE from an invite, with icalendar and vobject agreeing."""
    for r in received:
        for part in r.message.walk():
            if part.get_content_type() == "text/calendar" and uid in part.get_content():
                text = part.get_content()
                event = Calendar.from_ical(text).walk("VEVENT")[0]
                attendees = event.get("ATTENDEE")
                attendees = attendees if isinstance(attendees, list) else [attendees]
                roles = {str(a).removeprefix("mailto:"): a.params["ROLE"] for a in attendees}
                parsed = {a.value.removeprefix("mailto:"): a.params["ROLE"][0]
                          for a in vobject.readOne(text).vevent.contents["attendee"]}
                assert roles == parsed
                return roles
    raise AssertionError(f"no invite for {uid}")


def test_the_buddy_is_an_optional_attendee_whose_diary_never_holds_up_the_meeting(s, authority, settings,
                                                                                    smtp_server) -> None:
    audit = _buddied(s, settings)
    buddy = audit.buddy
    # The buddy is busy for the whole month: a required attendee this busy would leave nothing to book.
    s.add(BusyPeriod(staff_id=buddy.id, starts_at=ctx_at("2026-11-24T00:00", settings).now,
                     ends_at=ctx_at("2027-01-05T00:00", settings).now, source="test"))
    s.commit()
    queue_notices(s, ctx_at("2026-11-24T12:00", settings), cycle=audit.cycle)
    book(s, ctx_at("2026-11-25T09:00", settings), cycle=audit.cycle)
    s.commit()
    deliver(engine=authority, settings=settings)

    meeting = s.scalar(select(Meeting).where(Meeting.audit_id == audit.id,
                                             Meeting.kind == MeetingKind.LEARNING_CONVERSATION))
    assert meeting is not None
    roles = _roles(smtp_server.received, meeting.uid)
    assert roles[buddy.email] == "OPT-PARTICIPANT"
    assert all(role == "REQ-PARTICIPANT" for email, role in roles.items() if email != buddy.email)
    [invite] = [r.message for r in smtp_server.received
                if r.rcpt_tos == [buddy.email] and "learning conversation" in r.message["Subject"].lower()
                and audit.reference in r.message["Subject"]]
    assert "You are invited as the new auditor's buddy" in " ".join(invite.get_body(("plain",)).get_content().split())


def test_the_buddy_gets_the_submitted_form_to_comment_on_before_it_is_final(s, authority, settings,
                                                                            smtp_server) -> None:
    audit = _buddied(s, settings)
    queue_notices(s, ctx_at("2026-11-24T12:00", settings), cycle=audit.cycle)
    s.commit()
    form = valid_form(audit.child.key_worker_id, today=date(2026, 12, 14))
    form["strengths"] = f"{audit.child.first_name} talks about school with the worker."
    submit(s, ctx_at("2026-12-14T10:00", settings), reference=audit.reference, data=form, by=audit.auditor_id)
    s.commit()
    smtp_server.received.clear()
    deliver(engine=authority, settings=settings)

    [copy] = [r.message for r in smtp_server.received if r.rcpt_tos == [audit.buddy.email]
              and r.message["Subject"].startswith("For your comment as buddy")]
    text = " ".join(copy.get_body(("plain",)).get_content().split())
    assert audit.reference in copy["Subject"] and audit.auditor.name in copy["Subject"]
    assert f"{audit.child.first_name[0]}. talks about school" in text and audit.child.first_name not in text
    assert "before moderation closes on" in text
