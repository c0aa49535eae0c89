"""The imported diary: busy periods loaded by `auditcycle import busy` from CSV or .ics files."""
from collections import defaultdict
from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from auditcycle.booking.diaries.base import Availability
from auditcycle.booking.slots import Interval
from auditcycle.models import BusyPeriod


class ImportedDiary:
    """Busy periods held in the database, as the last import left them."""

    name = "import"

    def __init__(self, session: Session) -> None:
        self.session = session
        self.requests = 0  # database queries, counted as the other sources count their requests

    def read(self, people: Mapping[str, str], start: datetime, end: datetime) -> Availability:
        """Load the imported busy periods of people overlapping a window."""
        busy: dict[str, list[Interval]] = defaultdict(list)
        ids = sorted(people)
        for chunk in (ids[i:i + 500] for i in range(0, len(ids), 500)):
            self.requests += 1
            for staff_id, s, e in self.session.execute(
                select(BusyPeriod.staff_id, BusyPeriod.starts_at, BusyPeriod.ends_at)
                .where(BusyPeriod.staff_id.in_(chunk), BusyPeriod.ends_at > start, BusyPeriod.starts_at < end)
            ):
                busy[staff_id].append(Interval(s, e))
        return Availability(busy=dict(busy))
