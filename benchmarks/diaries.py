"""Free/busy for a month of audits through each diary source, beside the same requests made directly (issue 18).

`python -m benchmarks.diaries [--audits 1000] [--events 20]`. The people are those a month of that many
audits reads (auditors, key workers, IROs and child-protection chairs, in the seeded authority's proportions);
each has `--events` busy periods in the month. Each source is timed through `Diary.read`, and beside it the
raw cost of the same requests made directly by the client library in the same run:

- import: the same SELECT of busy periods through sqlite3, with no ORM;
- caldav: the same free-busy REPORTs against the same real Radicale through `caldav.DAVClient`, unparsed;
- graph: the same getSchedule POSTs (20 people a call) through `requests`, with one MSAL token, unparsed.

Kept out of `make test`: nothing here is named test_*.
"""
import argparse
import json
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import caldav
import msal
import requests
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).parent.parent / "tests"))

from diary_servers import GraphServer, Radicale  # noqa: E402

from auditcycle.booking.diaries.dav import CalDavDiary  # noqa: E402
from auditcycle.booking.diaries.graph import SCOPE, GraphDiary, _graph_time, _spans  # noqa: E402
from auditcycle.booking.diaries.imported import ImportedDiary  # noqa: E402
from auditcycle.core.settings import DiarySettings  # noqa: E402
from auditcycle.models import Base, BusyPeriod, Service, Staff, Team  # noqa: E402
from auditcycle.models.enums import Role  # noqa: E402

START = datetime(2026, 11, 30, tzinfo=UTC)
END = datetime(2027, 1, 2, tzinfo=UTC)
RESULTS = Path(__file__).parent / "results" / "diaries-latest.md"


def people_for(audits: int) -> dict[str, str]:
    """Return the staff a month of audits reads: one auditor for ten audits, a key worker for most, IROs, chairs."""
    count = audits // 10 + audits * 7 // 10 + audits // 12 + audits // 25
    return {f"S{i:05}": f"staff{i:05}@council.example" for i in range(count)}


def busy_of(index: int, events: int) -> list[tuple[datetime, datetime]]:
    """Return one person's busy periods: `events` hour-long ones on the month's weekdays."""
    days = [START + timedelta(days=d) for d in range((END - START).days) if (START + timedelta(days=d)).weekday() < 5]
    return [(days[(index + n * 3) % len(days)] + timedelta(hours=9 + n % 8),
             days[(index + n * 3) % len(days)] + timedelta(hours=10 + n % 8)) for n in range(events)]


REPEAT = 3


def _timed(work) -> tuple[float, object]:
    started = time.perf_counter()
    result = work()
    return time.perf_counter() - started, result


def _alternate(ours, raw) -> tuple[float, float, object]:
    """Time ours and the raw requests in turn, REPEAT times each; return their medians and our last answer."""
    mine, theirs, found = [], [], None
    for _ in range(REPEAT):
        seconds, found = _timed(ours)
        mine.append(seconds)
        theirs.append(_timed(raw)[0])
    return statistics.median(mine), statistics.median(theirs), found


def bench_import(folder: Path, people: dict[str, str], events: int) -> dict:
    """Time the imported diary against the same query through sqlite3."""
    path = folder / "bench.db"
    engine = create_engine(f"sqlite:///{path}")
    Base.metadata.create_all(engine)
    with Session(engine) as s:
        service = Service(name="Bench")
        team = Team(name="Bench team", service=service)
        s.add_all([service, team])
        s.flush()
        s.add_all(Staff(id=i, name=i, email=e, role=Role.KEY_WORKER, team=team) for i, e in people.items())
        s.flush()
        s.add_all(BusyPeriod(staff_id=i, starts_at=a, ends_at=b)
                  for n, i in enumerate(people) for a, b in busy_of(n, events))
        s.commit()
        diary = ImportedDiary(s)
        diary.read(people, START, END)  # warm: SQLAlchemy compiles and caches the statement once a process

        def raw() -> int:
            connection = sqlite3.connect(path)
            ids = sorted(people)
            rows = []
            for chunk in (ids[i:i + 500] for i in range(0, len(ids), 500)):
                # The times as a caller can use them: aware datetimes, as the diary hands over.
                rows += [(i, datetime.fromisoformat(a).replace(tzinfo=UTC), datetime.fromisoformat(b).replace(tzinfo=UTC))
                         for i, a, b in connection.execute(
                             "SELECT staff_id, starts_at, ends_at FROM busy_period WHERE staff_id IN "
                             f"({','.join('?' * len(chunk))}) AND ends_at > ? AND starts_at < ?",
                             [*chunk, START.isoformat(" "), END.isoformat(" ")])]
            connection.close()
            return len(rows)

        diary.requests = 0
        seconds, raw_seconds, found = _alternate(lambda: diary.read(people, START, END), raw)
        requests_made = diary.requests // REPEAT
    return {"source": "import", "people": len(people), "requests": requests_made, "seconds": seconds,
            "raw_seconds": raw_seconds, "unread": len(found.unread), "busy": sum(map(len, found.busy.values()))}


def _radicale_store(radicale: Radicale, folder: Path, people: dict[str, str], events: int) -> None:
    # Calendars written straight into Radicale's storage: the set-up is not what is measured.
    root = folder / "collections" / "collection-root"
    for n, email in enumerate(people.values()):
        calendar = root / email / "calendar"
        calendar.mkdir(parents=True, exist_ok=True)
        (root / email / ".Radicale.props").write_text("{}")
        (calendar / ".Radicale.props").write_text(json.dumps({"tag": "VCALENDAR"}))
        for k, (a, b) in enumerate(busy_of(n, events)):
            (calendar / f"e{k}.ics").write_text(
                "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//bench//EN\r\nBEGIN:VEVENT\r\n"
                f"UID:e{k}-{n}\r\nDTSTAMP:{a:%Y%m%dT%H%M%SZ}\r\nDTSTART:{a:%Y%m%dT%H%M%SZ}\r\n"
                f"DTEND:{b:%Y%m%dT%H%M%SZ}\r\nSUMMARY:Busy\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")


def bench_caldav(folder: Path, people: dict[str, str], events: int) -> dict:
    """Time the CalDAV diary against the same free-busy REPORTs made directly with caldav."""
    radicale = Radicale(folder)
    try:
        _radicale_store(radicale, folder, people, events)
        settings = DiarySettings(source="caldav", caldav_url=radicale.url, caldav_username=radicale.user,
                                 caldav_password=radicale.password)
        diary = CalDavDiary(settings)
        client = caldav.DAVClient(url=radicale.url, username=radicale.user, password=radicale.password)

        def raw() -> int:
            return sum(len(client.calendar(url=diary.calendar_url(e)).freebusy_request(START, END).data or "")
                       for e in people.values())

        raw()  # warm: Radicale loads and caches each calendar the first time it is asked
        seconds, raw_seconds, found = _alternate(lambda: diary.read(people, START, END), raw)
    finally:
        radicale.stop()
    return {"source": "caldav", "people": len(people), "requests": diary.requests // REPEAT, "seconds": seconds,
            "raw_seconds": raw_seconds, "unread": len(found.unread), "busy": sum(map(len, found.busy.values()))}


def bench_graph(folder: Path, people: dict[str, str], events: int) -> dict:
    """Time the Graph diary against the same getSchedule POSTs made directly with requests and MSAL."""
    server = GraphServer(folder)
    try:
        for n, email in enumerate(people.values()):
            server.state.items[email] = [(a, b, "busy") for a, b in busy_of(n, events)]
        settings = DiarySettings(**server.settings())
        diary = GraphDiary(settings)
        session = requests.Session()
        # REQUESTS_CA_BUNDLE would otherwise override the session's own certificates.
        session.trust_env, session.verify = False, str(settings.ca_file)
        app = msal.ConfidentialClientApplication(
            settings.graph_client_id, client_credential=settings.graph_client_secret.get_secret_value(),
            authority=f"{settings.graph_authority}/{settings.graph_tenant_id}", instance_discovery=False,
            http_client=session)
        url = f"{settings.graph_url}/users/{settings.graph_mailbox}/calendar/getSchedule"

        def raw() -> int:
            token = app.acquire_token_for_client(scopes=[SCOPE])["access_token"]
            addresses = sorted(people.values())
            size = 0
            for group in (addresses[i:i + 20] for i in range(0, len(addresses), 20)):
                for a, b in _spans(START, END):
                    answer = session.post(url, json={
                        "schedules": group, "startTime": _graph_time(a), "endTime": _graph_time(b),
                        "availabilityViewInterval": 30}, headers={
                        "Authorization": f"Bearer {token}", "Prefer": 'outlook.timezone="UTC"'})
                    size += len(answer.content)
            return size

        seconds, raw_seconds, found = _alternate(lambda: diary.read(people, START, END), raw)
    finally:
        server.stop()
    return {"source": "graph", "people": len(people), "requests": diary.requests // REPEAT, "seconds": seconds,
            "raw_seconds": raw_seconds, "unread": len(found.unread), "busy": sum(map(len, found.busy.values()))}


def table(results: list[dict], audits: int, events: int) -> str:
    """Return the results as a Markdown table."""
    lines = [f"Free/busy for a {audits:,}-audit month ({results[0]['people']:,} people, {events} busy periods "
             f"each, {START:%d %b} to {END:%d %b %Y})", "",
             "| source | requests | time s | raw requests s | × raw | busy periods read | unread |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        lines.append(f"| {r['source']} | {r['requests']:,} | {r['seconds']:.2f} | {r['raw_seconds']:.2f} | "
                     f"{r['seconds'] / r['raw_seconds']:.2f}× | {r['busy']:,} | {r['unread']} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    """Run the three sources and print and save the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--audits", type=int, default=1000)
    parser.add_argument("--events", type=int, default=20)
    parser.add_argument("--sources", default="import,caldav,graph")
    parser.add_argument("--repeat", type=int, default=REPEAT, help="timings of each, alternating (the median)")
    args = parser.parse_args()
    globals()["REPEAT"] = args.repeat
    people = people_for(args.audits)
    results = []
    for source in args.sources.split(","):
        with tempfile.TemporaryDirectory() as folder:
            bench = {"import": bench_import, "caldav": bench_caldav, "graph": bench_graph}[source]
            results.append(bench(Path(folder), people, args.events))
            print(json.dumps(results[-1]), flush=True)
    text = table(results, args.audits, args.events)
    print(text)
    RESULTS.write_text(text)


if __name__ == "__main__":
    main()
