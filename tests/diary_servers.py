"""Diary servers on loopback for the diary tests: a real Radicale (CalDAV), and a small Microsoft Graph.

The Graph server answers the documented shapes of MSAL's OpenID discovery document and client-credentials
token endpoint (`/{tenant}/v2.0/.well-known/openid-configuration`, `/{tenant}/oauth2/v2.0/token`) and of
`POST /v1.0/users/{id}/calendar/getSchedule` (request: schedules, startTime, endTime, availabilityViewInterval;
response: value[] of scheduleId, availabilityView, scheduleItems, workingHours or error). It serves HTTPS with
a certificate made for the test, since MSAL accepts only https authorities.
"""
import datetime as dt
import http.server
import ipaddress
import json
import os
import socket
import ssl
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from smtp_server import free_port

UTC = dt.UTC


def _wait_for_port(port: int, seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listened on 127.0.0.1:{port} within {seconds} seconds")


class Radicale:
    """A Radicale server in a child process, with one reading account (htpasswd, plain) that may read all."""

    user = "qa-reader"
    password = "reader-secret"

    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.made: set[str] = set()
        (folder / "users").write_text(f"{self.user}:{self.password}\n")
        config = folder / "config"
        config.write_text(f"""[server]
hosts = 127.0.0.1:{self.port}
[auth]
type = htpasswd
htpasswd_filename = {folder / 'users'}
htpasswd_encryption = plain
[rights]
type = authenticated
[storage]
filesystem_folder = {folder / 'collections'}
[logging]
level = warning
""")
        self.process = subprocess.Popen([sys.executable, "-m", "radicale", "--config", str(config)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _wait_for_port(self.port)

    def stop(self) -> None:
        """Stop the server process."""
        self.process.terminate()
        self.process.wait(timeout=10)

    def calendar(self, email: str) -> str:
        """Create a person's calendar at {email}/calendar/ and return its address."""
        url = f"{self.url}/{email}/calendar/"
        if url in self.made:
            return url
        home = requests.request("MKCOL", f"{self.url}/{email}/", auth=(self.user, self.password), timeout=10)
        assert home.status_code in (201, 405), home.text  # 405: already there
        answer = requests.request("MKCALENDAR", url, auth=(self.user, self.password), timeout=10)
        assert answer.status_code == 201, answer.text
        self.made.add(url)
        return url

    def put_event(self, email: str, uid: str, start: dt.datetime, end: dt.datetime, *,
                  transparent: bool = False, rrule: str | None = None) -> None:
        """Put one event into a person's calendar, as their own calendar client would."""
        url = self.calendar(email)
        body = "\r\n".join([
            "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//auditcycle tests//EN", "BEGIN:VEVENT", f"UID:{uid}",
            f"DTSTAMP:{start.astimezone(UTC):%Y%m%dT%H%M%SZ}",
            f"DTSTART:{start.astimezone(UTC):%Y%m%dT%H%M%SZ}", f"DTEND:{end.astimezone(UTC):%Y%m%dT%H%M%SZ}",
            *([f"RRULE:{rrule}"] if rrule else []), "SUMMARY:Busy", f"TRANSP:{'TRANSPARENT' if transparent else 'OPAQUE'}", "END:VEVENT", "END:VCALENDAR", ""])
        answer = requests.put(f"{url}{uid}.ics", data=body.encode(), auth=(self.user, self.password),
                              headers={"Content-Type": "text/calendar"}, timeout=10)
        assert answer.status_code in (201, 204), answer.text


def self_signed(folder: Path) -> tuple[Path, Path]:
    """Make a certificate and key for 127.0.0.1; return their files (the certificate is its own CA)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


@dataclass
class GraphState:
    """What the Graph server holds and how it misbehaves, set by each test."""

    tenant: str = "council-tenant"
    client_id: str = "auditcycle-app"
    secret: str = "app-secret-value"
    mailbox: str = "qa-team@council.example"
    # Address to [(start, end, status)], in UTC; address to workingHours JSON; address to error responseCode.
    items: dict[str, list[tuple[dt.datetime, dt.datetime, str]]] = field(default_factory=dict)
    hours: dict[str, dict] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    throttle: int = 0  # the next this many getSchedule calls answer 429
    retry_after: str = "3"
    expire_after: int | None = None  # after this many getSchedule calls, tokens issued so far are refused
    garbage: int = 0  # the next this many getSchedule calls answer with garbage
    delay: float = 0.0  # seconds before answering getSchedule
    tokens: list[str] = field(default_factory=list)
    valid: set[str] = field(default_factory=set)
    calls: list[dict] = field(default_factory=list)  # every getSchedule: its path, headers and body
    answered: int = 0
    meetings: list[dict] = field(default_factory=list)  # every onlineMeetings POST: its path and body
    refuse_meetings: bool = False  # answer onlineMeetings with 403 (no application access policy)


class _GraphHandler(http.server.BaseHTTPRequestHandler):
    server: "GraphServer"

    def log_message(self, *args) -> None:  # quiet
        pass

    def _send(self, status: int, body: object, headers: dict | None = None, raw: bytes | None = None) -> None:
        data = raw if raw is not None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        state, base = self.server.state, self.server.url
        if self.path == f"/{state.tenant}/v2.0/.well-known/openid-configuration":
            self._send(200, {
                "issuer": f"{base}/{state.tenant}/v2.0",
                "authorization_endpoint": f"{base}/{state.tenant}/oauth2/v2.0/authorize",
                "token_endpoint": f"{base}/{state.tenant}/oauth2/v2.0/token",
                "jwks_uri": f"{base}/{state.tenant}/discovery/v2.0/keys",
                "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
                "subject_types_supported": ["pairwise"], "id_token_signing_alg_values_supported": ["RS256"],
                "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt",
                                                          "client_secret_basic"],
                "tenant_region_scope": "EU", "cloud_instance_name": "microsoftonline.com"})
            return
        self._send(404, {"error": {"code": "NotFound", "message": self.path}})

    def do_POST(self) -> None:
        state = self.server.state
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        path = urlsplit(self.path).path
        if path == f"/{state.tenant}/oauth2/v2.0/token":
            form = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
            if (form.get("grant_type") != "client_credentials" or form.get("client_id") != state.client_id
                    or form.get("client_secret") != state.secret):
                self._send(401, {"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret",
                                 "error_codes": [7000215]})
                return
            token = f"token-{len(state.tokens) + 1}"
            state.tokens.append(token)
            state.valid.add(token)
            self._send(200, {"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599,
                             "access_token": token})
            return
        if path == f"/v1.0/users/{state.mailbox}/calendar/getSchedule" or unquote(path) == \
                f"/v1.0/users/{state.mailbox}/calendar/getSchedule":
            self._schedule(raw)
            return
        if path.startswith("/v1.0/users/") and path.endswith("/onlineMeetings"):
            self._online_meeting(path, raw)
            return
        self._send(404, {"error": {"code": "NotFound", "message": path}})

    def _online_meeting(self, path: str, raw: bytes) -> None:
        state = self.server.state
        token = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
        state.meetings.append({"path": path, "body": raw.decode()})
        if token not in state.valid:
            self._send(401, {"error": {"code": "InvalidAuthenticationToken", "message": "Access token is empty."}})
            return
        if state.refuse_meetings:
            self._send(403, {"error": {"code": "Forbidden", "message": "No application access policy found "
                                       "for this app."}})
            return
        body = json.loads(raw)
        number = len(state.meetings)
        self._send(201, {"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users('x')/onlineMeetings/"
                                           "$entity", "id": f"MSo1N2Y5ZGFjYy03MWJmLTQ3NDMtYjQxMy01M2EdFGkdRWHJlQ{number}",
                         "subject": body.get("subject"), "startDateTime": body.get("startDateTime"),
                         "endDateTime": body.get("endDateTime"),
                         "joinWebUrl": f"https://teams.microsoft.com/l/meetup-join/19%3ameeting_{number}"
                                       "%40thread.v2/0?context=%7b%22Tid%22%3a%22council%22%7d",
                         "participants": {"organizer": {"upn": state.mailbox, "role": "presenter"}}})

    def _schedule(self, raw: bytes) -> None:
        state = self.server.state
        token = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
        state.calls.append({"path": self.path, "headers": dict(self.headers), "body": raw.decode()})
        if state.delay:
            time.sleep(state.delay)
        if token not in state.valid:
            self._send(401, {"error": {"code": "InvalidAuthenticationToken",
                                       "message": "Lifetime validation failed, the token is expired."}})
            return
        if state.throttle:
            state.throttle -= 1
            self._send(429, {"error": {"code": "ApplicationThrottled", "message": "Too many requests"}},
                       {"Retry-After": state.retry_after})
            return
        if state.garbage:
            state.garbage -= 1
            self._send(200, None, raw=b"<html>Service Unavailable</html>\x00\xff")
            return
        body = json.loads(raw)
        schedules = body["schedules"]
        start = _graph_moment(body["startTime"])
        end = _graph_moment(body["endTime"])
        if len(schedules) > 20 or end - start >= dt.timedelta(days=42) or \
                self.headers.get("Prefer") != 'outlook.timezone="UTC"':
            self._send(400, {"error": {"code": "ErrorInvalidRequest", "message": "too many schedules, too long "
                                       "a window, or not asked in UTC"}})
            return
        interval = dt.timedelta(minutes=int(body.get("availabilityViewInterval", 30)))
        value = []
        for address in schedules:
            if address in state.errors:
                value.append({"scheduleId": address, "availabilityView": "",
                              "error": {"message": "The mailbox could not be found.",
                                        "responseCode": state.errors[address]}})
                continue
            items = [(s, e, status) for s, e, status in state.items.get(address, []) if s < end and e > start]
            codes = {"free": "0", "tentative": "1", "busy": "2", "oof": "3", "workingElsewhere": "4"}
            view, slot = [], start
            while slot < end:
                here = [codes[st] for s, e, st in items if s < slot + interval and e > slot]
                view.append(max(here, default="0"))
                slot += interval
            entry = {"scheduleId": address, "availabilityView": "".join(view), "scheduleItems": [
                {"isPrivate": False, "status": status, "subject": "", "location": "",
                 "start": {"dateTime": s.strftime("%Y-%m-%dT%H:%M:%S.0000000"), "timeZone": "UTC"},
                 "end": {"dateTime": e.strftime("%Y-%m-%dT%H:%M:%S.0000000"), "timeZone": "UTC"}}
                for s, e, status in items]}
            entry["workingHours"] = state.hours.get(address, {
                "daysOfWeek": ["monday", "tuesday", "wednesday", "thursday", "friday"],
                "startTime": "08:00:00.0000000", "endTime": "18:00:00.0000000",
                "timeZone": {"name": "GMT Standard Time"}})
            value.append(entry)
        state.answered += 1
        if state.expire_after is not None and state.answered >= state.expire_after:
            # The token's lifetime ends here: every token issued so far is refused from the next call.
            state.valid.clear()
            state.expire_after = None
        self._send(200, {"@odata.context": "https://graph.microsoft.com/v1.0/$metadata"
                                           "#Collection(microsoft.graph.scheduleInformation)", "value": value})


def _graph_moment(value: dict) -> dt.datetime:
    assert value["timeZone"] == "UTC"
    return dt.datetime.fromisoformat(value["dateTime"]).replace(tzinfo=UTC)


class GraphServer(http.server.ThreadingHTTPServer):
    """The Graph and sign-in endpoints over HTTPS on loopback, in a thread."""

    daemon_threads = True

    def __init__(self, folder: Path) -> None:
        self.state = GraphState()
        self.cert_file, key_file = self_signed(folder)
        port = free_port()
        super().__init__(("127.0.0.1", port), _GraphHandler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_file, key_file)
        self.socket = context.wrap_socket(self.socket, server_side=True)
        self.url = f"https://127.0.0.1:{port}"
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    def settings(self, **overrides) -> dict:
        """Return the [diary] settings that point auditcycle at this server."""
        return {"source": "graph", "graph_tenant_id": self.state.tenant, "graph_client_id": self.state.client_id,
                "graph_client_secret": self.state.secret, "graph_mailbox": self.state.mailbox,
                "graph_authority": self.url, "graph_url": f"{self.url}/v1.0", "ca_file": self.cert_file,
                **overrides}

    def stop(self) -> None:
        """Stop serving."""
        self.shutdown()
        self.server_close()


class BadDiaryServer(http.server.ThreadingHTTPServer):
    """A diary server that answers every request slowly, or with garbage."""

    daemon_threads = True

    def __init__(self, *, delay: float = 0.0, body: bytes = b"\x00garbage\xff<not xml", status: int = 207) -> None:
        self.delay, self.body, self.status, self.requests = delay, body, status, 0
        port = free_port()

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def _any(self) -> None:
                server = self.server
                server.requests += 1
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                time.sleep(server.delay)
                self.send_response(server.status)
                self.send_header("Content-Type", "application/xml")
                self.send_header("Content-Length", str(len(server.body)))
                self.end_headers()
                self.wfile.write(server.body)

            do_GET = do_POST = do_REPORT = do_PROPFIND = do_OPTIONS = _any

        super().__init__(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{port}"
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def stop(self) -> None:
        """Stop serving."""
        self.shutdown()
        self.server_close()


os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
