"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives."""
import socket
import socketserver
import threading
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller


@dataclass
class Received:
    """One message as the server received it."""

    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    peer: tuple | None = None  # the client's address and port: one per SMTP connection

    @property
    def message(self) -> EmailMessage:
        """Parse the received bytes."""
        return message_from_bytes(self.data, policy=policy.default)  # type: ignore[return-value]


@dataclass
class RecordingHandler:
    """Accept every message, or answer with scripted replies first (e.g. 451 then 250)."""

    received: list[Received] = field(default_factory=list)
    replies: list[str] = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope) -> str:
        if self.replies:
            reply = self.replies.pop(0)
            if not reply.startswith("250"):
                return reply
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos),
                                      envelope.original_content or envelope.content, tuple(session.peer)))
        return "250 Message accepted for delivery"


def free_port() -> int:
    """Return a free TCP port on loopback."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SmtpServer:
    """Start and stop an aiosmtpd server on 127.0.0.1."""

    def __init__(self, port: int | None = None) -> None:
        self.handler = RecordingHandler()
        self.port = port or free_port()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> "SmtpServer":
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()

    @property
    def received(self) -> list[Received]:
        """Return every message received so far."""
        return self.handler.received


class _DroppingSession(socketserver.StreamRequestHandler):
    """Speak just enough SMTP to reach DATA, then hang up part-way through the message when told to."""

    def handle(self) -> None:
        server: "DroppingSmtpServer" = self.server.owner  # type: ignore[attr-defined]
        self._reply("220 dropper ESMTP")
        mail_from, rcpt_tos = "", []
        while line := self.rfile.readline():
            verb = line[:4].upper()
            if verb in (b"EHLO", b"HELO"):
                self._reply("250-dropper\r\n250 8BITMIME")
            elif verb == b"MAIL":
                mail_from, rcpt_tos = line.decode().split(":", 1)[1].strip().strip("<>"), []
                self._reply("250 OK")
            elif verb == b"RCPT":
                rcpt_tos.append(line.decode().split(":", 1)[1].strip().strip("<>"))
                self._reply("250 OK")
            elif verb == b"DATA":
                self._reply("354 End data with <CR><LF>.<CR><LF>")
                if server.take_drop():
                    self.rfile.readline()  # some of the message has arrived; now the line goes dead
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                data = b"".join(iter(lambda: self.rfile.readline(), b".\r\n"))
                server.received.append(Received(mail_from, rcpt_tos, data))
                self._reply("250 Message accepted for delivery")
            elif verb == b"QUIT":
                self._reply("221 Bye")
                return
            else:
                self._reply("250 OK")

    def _reply(self, text: str) -> None:
        self.wfile.write(text.encode() + b"\r\n")


class DroppingSmtpServer:
    """A plain SMTP server on 127.0.0.1 that drops the connection mid-DATA for the first `drops` messages."""

    def __init__(self, drops: int) -> None:
        self.drops = drops
        self.connections_dropped = 0
        self.received: list[Received] = []
        self._lock = threading.Lock()
        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _DroppingSession)
        self._server.daemon_threads = True
        self._server.owner = self  # type: ignore[attr-defined]
        self.port = self._server.server_address[1]

    def take_drop(self) -> bool:
        """Say whether to drop this message's connection, counting the drop."""
        with self._lock:
            if self.drops <= 0:
                return False
            self.drops -= 1
            self.connections_dropped += 1
            return True

    def __enter__(self) -> "DroppingSmtpServer":
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
