"""The load generator of benchmarks.web_load, in its own process: each person's four requests, on schedule.

Arrivals follow the hour's shape (40% in the first 10 minutes, 60% over the next 50), compressed by --speed.
Each person: GET and POST the bare page, then GET their link's page and POST its form (with the page's CSRF
token and cookie, as a browser would). Latency is measured per request from send to the last byte.
"""
import argparse
import json
import re
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from html.parser import HTMLParser
from pathlib import Path

import httpx

CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


class FormFields(HTMLParser):
    """The values a browser would post from a page's form as it stands: inputs, checked choices, text areas, selections."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: list[tuple[str, str]] = []
        self._textarea: str | None = None
        self._text: list[str] = []
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list) -> None:
        """Keep each field's value as the page shows it."""
        a = dict(attrs)
        name = a.get("name")
        if tag == "input" and name and a.get("type") not in ("submit", "button"):
            if a.get("type") in ("radio", "checkbox") and "checked" not in a:
                return
            self.fields.append((name, a.get("value") or ""))
        elif tag == "textarea" and name:
            self._textarea, self._text = name, []
        elif tag == "select" and name:
            self._select = name
        elif tag == "option" and self._select and "selected" in a:
            self.fields.append((self._select, a.get("value") or ""))

    def handle_endtag(self, tag: str) -> None:
        """Close a text area or a selection."""
        if tag == "textarea" and self._textarea:
            self.fields.append((self._textarea, "".join(self._text).lstrip("\n")))
            self._textarea = None
        elif tag == "select":
            self._select = None

    def handle_data(self, data: str) -> None:
        """Gather a text area's text."""
        if self._textarea:
            self._text.append(data)


def form_fields(html: str) -> list[tuple[str, str]]:
    """Return what the page's form would post, as a browser would."""
    parser = FormFields()
    parser.feed(html)
    return parser.fields


def arrivals(n: int, speed: float) -> list[float]:
    """Return each person's start, in seconds from the beginning: 40% in the first 10 minutes, then evenly."""
    early = round(n * 0.4)
    times = [i * 600 / early for i in range(early)] + [600 + i * 3000 / (n - early) for i in range(n - early)]
    return [t / speed for t in times]


class Timings:
    """Latencies and errors per kind of request, from many threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.ms: dict[str, list[float]] = {}
        self.errors: dict[str, int] = {}

    def timed(self, kind: str, send, ok) -> httpx.Response | None:  # noqa: ANN001
        """Send one request, record its latency, and count it an error unless ok(response)."""
        started = time.perf_counter()
        try:
            response = send()
        except Exception:  # noqa: BLE001 - any failure to get an answer is the request's error, counted below
            response = None
        elapsed = (time.perf_counter() - started) * 1000
        with self.lock:
            self.ms.setdefault(kind, []).append(elapsed)
            self.errors.setdefault(kind, 0)
            if response is None or not ok(response):
                self.errors[kind] += 1
        return response

    def summary(self) -> dict:
        """Return n, p50, p95 and p99 per kind."""
        out = {}
        for kind, values in self.ms.items():
            q = statistics.quantiles(values, n=100, method="inclusive")
            out[kind] = {"n": len(values), "p50": statistics.median(values), "p95": q[94], "p99": q[98],
                         "errors": self.errors[kind]}
        return out


def person(base: str, staff_id: str, token: str, timings: Timings, form_token: str | None = None) -> None:
    """One person's visit: the bare page by GET and POST, their link's page by GET and its form by POST; an auditor
    also opens the audit form and saves it to return to later."""
    with httpx.Client(base_url=base, follow_redirects=False, timeout=30) as client:
        page = timings.timed("bare GET", lambda: client.get(f"/bench/bare/{staff_id}"), lambda r: r.status_code == 200)
        csrf = CSRF.search(page.text).group(1) if page is not None and page.status_code == 200 else ""
        timings.timed("bare POST", lambda: client.post(f"/bench/bare/{staff_id}", data={"csrf_token": csrf}),
                      lambda r: r.status_code == 200)
    with httpx.Client(base_url=base, follow_redirects=False, timeout=30) as client:
        page = timings.timed("action done GET", lambda: client.get(f"/act/{token}"),
                             lambda r: r.status_code == 200 and "Record as done" in r.text)
        csrf = CSRF.search(page.text).group(1) if page is not None and page.status_code == 200 else ""
        timings.timed("action done POST", lambda: client.post(f"/act/{token}", data={"csrf_token": csrf,
                                                                                      "note": "Done."}),
                      lambda r: r.status_code == 303)
    if form_token is None:
        return
    with httpx.Client(base_url=base, follow_redirects=False, timeout=30) as client:
        page = timings.timed("audit form GET", lambda: client.get(f"/act/{form_token}"),
                             lambda r: r.status_code == 200 and "Save and return later" in r.text)
        fields = form_fields(page.text) if page is not None and page.status_code == 200 else []
        fields.append(("save", "Save and return later"))
        posted: dict[str, list[str]] = {}
        for name, value in fields:  # httpx takes repeated fields as a list per name
            posted.setdefault(name, []).append(value)
        timings.timed("audit form POST", lambda: client.post(f"/act/{form_token}", data=posted),
                      lambda r: r.status_code == 303)


def main() -> None:
    """Run every person's visit on schedule and write the timings as JSON."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", required=True)
    parser.add_argument("--links", required=True)
    parser.add_argument("--speed", type=float, default=10.0)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    plan = json.loads(Path(args.links).read_text())
    links, forms = plan["decisions"], plan["forms"]
    starts = arrivals(len(links), args.speed)
    timings = Timings()
    began = time.perf_counter()
    with ThreadPoolExecutor(max_workers=64) as pool:
        for (staff_id, token), start in zip(links, starts, strict=True):
            delay = start - (time.perf_counter() - began)
            if delay > 0:
                time.sleep(delay)
            pool.submit(person, args.base, staff_id, token, timings, forms.get(staff_id))
    wall = time.perf_counter() - began
    peak = round(len(links) * 0.4) / (600 / args.speed)
    Path(args.out).write_text(json.dumps({"timings": timings.summary(), "wall_seconds": wall,
                                          "peak_per_second": peak}))


if __name__ == "__main__":
    main()
