"""Every invite carries a place: the organiser's room or link, their team's, the council's, then a placeholder."""
import csv
from pathlib import Path

import vobject
from factories import context_at as ctx_at
from icalendar import Calendar
from sqlalchemy import delete, select

from auditcycle.booking.location import PLACEHOLDER
from auditcycle.booking.meetings import book
from auditcycle.core.clock import Month
from auditcycle.core.settings import Settings
from auditcycle.imports.caseload import import_staff
from auditcycle.models import Audit, Meeting, OutboxMessage, Staff
from auditcycle.notices.queue import queue_notices
from auditcycle.notifications.gateway import deliver
from auditcycle.sampling.cycle import draw

HEADER = "staff_id,name,email,role,team,service,manager_id,auditor,newly_qualified,meeting_location,team_meeting_location"
OWN = "https://teams.example.org/l/meetup-join/own-room"
TEAMS = "Room 2.14, Civic Centre"
COUNCIL = "https://teams.example.org/l/meetup-join/qa-line"


def _row(person: Staff, own: str = "", team: str = "") -> list[str]:
    return [person.id, person.name, person.email, person.role.value, person.team.name if person.team else "",
                     person.service.name if person.service else "", person.manager_id or "",
                     "yes" if person.auditor else "no", "yes" if person.newly_qualified else "no", own, team]


def _invite_locations(received) -> dict[str, set[str]]:
    """Read each invite's LOCATION with icalendar and vobject, by the organiser's meeting UID."""
    found: dict[str, set[str]] = {}
    for r in received:
        for part in r.message.walk():
            if part.get_content_type() == "text/calendar":
                text = part.get_content()
                event = Calendar.from_ical(text).walk("VEVENT")[0]
                assert str(event["LOCATION"]) == vobject.readOne(text).vevent.location.value
                found.setdefault(str(event["UID"]), set()).add(str(event["LOCATION"]))
    return found


def test_each_invite_carries_the_organisers_room_then_their_teams_then_the_councils(
        s, authority, settings, smtp_server, tmp_path: Path) -> None:
    ctx = ctx_at("2026-11-23T09:00", settings)
    draw(s, ctx, month=Month(2026, 12), size=6, seed=21)
    s.commit()
    auditors = sorted({s.get(Staff, a.auditor_id) for a in s.scalars(select(Audit)) if a.auditor_id},
                      key=lambda p: p.id)
    teamed = [p for p in auditors if p.team is not None]
    own, by_team = auditors[0], next(p for p in teamed if p.team != auditors[0].team)
    rest = [p for p in auditors if p not in (own, by_team) and p.team not in (own.team, by_team.team)]
    staff_file = tmp_path / "staff.csv"
    with staff_file.open("w", newline="", encoding="utf-8") as out:
        csv.writer(out).writerows([HEADER.split(","), _row(own, own=OWN), _row(by_team, team=TEAMS)])
    import_staff(session=s, path=staff_file, now=ctx.now)
    s.commit()

    organisers = _booked_after_draw(s, authority, Settings(**{**settings.model_dump(), "meeting_location": COUNCIL}))
    locations = _invite_locations(smtp_server.received)

    assert {uid: locations[uid] for uid, who in organisers.items() if who == own.id} \
        and all(locations[uid] == {OWN} for uid, who in organisers.items() if who == own.id)
    assert all(locations[uid] == {TEAMS} for uid, who in organisers.items() if who == by_team.id)
    assert any(who == by_team.id for who in organisers.values())
    assert rest and all(locations[uid] == {COUNCIL} for uid, who in organisers.items() if who in {p.id for p in rest})


def _booked_after_draw(s, authority, settings) -> dict[str, str]:
    cycle = s.scalars(select(Audit)).first().cycle
    s.execute(delete(OutboxMessage))
    s.commit()
    queue_notices(s, ctx_at("2026-11-24T12:00", settings), cycle=cycle)
    book(s, ctx_at("2026-11-25T09:00", settings), cycle=cycle)
    s.commit()
    deliver(engine=authority, settings=settings)
    return {m.uid: m.organiser_id for m in s.scalars(select(Meeting))}


def test_with_no_room_anywhere_the_invite_says_who_will_confirm(s, authority, settings, smtp_server) -> None:
    draw(s, ctx_at("2026-11-23T09:00", settings), month=Month(2026, 12), size=3, seed=21)
    s.commit()

    organisers = _booked_after_draw(s, authority, settings)

    assert organisers and set().union(*_invite_locations(smtp_server.received).values()) == {PLACEHOLDER}
