"""The two ways a message leaves: an SMTP connection, or .eml files in the outbox folder."""
import os
import re
import smtplib
import ssl
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol

import yagmail

from auditcycle.core.settings import Settings
from auditcycle.models import OutboxMessage

# Each part of a file name keeps letters, digits and the marks an address or reference uses; the rest
# becomes "-", so no stored value can name a folder, a hidden file or a character a file system refuses.
_UNSAFE = re.compile(r"[^A-Za-z0-9.@+_-]+")


class DeliveryError(Exception):
    """A message the server did not accept; `transient` says whether to try again.

    `held` marks a fault in the mail set-up rather than in the message (an unverifiable certificate, a
    server that will not start TLS): the mail is kept and tried again without using up its attempts.
    """

    def __init__(self, message: str, *, code: int | None, transient: bool, held: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.transient = transient
        self.held = held


class Transport(Protocol):
    """Something that delivers built messages, opened once per batch."""

    @property
    def usable(self) -> bool:
        """Say whether the open connection can still send (False once the server has dropped it)."""
        ...

    def open(self) -> None:
        """Connect, or make ready to write."""
        ...

    def send(self, message: EmailMessage, *, sender: str, recipient: str, name: str) -> None:
        """Send one message, or raise DeliveryError saying whether to retry; `name` is its outbox_name."""
        ...

    def close(self) -> None:
        """Disconnect; safe to call twice."""
        ...


class FolderTransport:
    """Write each message as an .eml file: the embedded default when no SMTP host is set."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def open(self) -> None:
        """Make sure the folder exists."""
        self.folder.mkdir(parents=True, exist_ok=True)

    def send(self, message: EmailMessage, *, sender: str, recipient: str, name: str) -> None:
        """Write the message atomically as `name`.eml: the same name on a retry, so a retry overwrites itself."""
        target = self.folder / f"{name}.eml"
        partial = target.with_suffix(".eml.part")
        partial.write_bytes(message.as_bytes())
        os.replace(partial, target)

    @property
    def usable(self) -> bool:
        """Say whether the folder can still be written to: always, once open."""
        return True

    def close(self) -> None:
        """Nothing to close."""


class SmtpTransport:
    """Send over one SMTP connection per drain, opened by yagmail, replies read ourselves."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.client: yagmail.SMTP | None = None

    def open(self) -> None:
        """Connect (and log in when a user is set) with a verifying TLS context where TLS is asked for."""
        s = self.settings
        # Verifies the chain and the host name; a certificate that fails either is never sent over.
        # Built only for TLS: loading the trust store costs ~20 ms a connection.
        context = (ssl.create_default_context(cafile=str(s.smtp_ca_file) if s.smtp_ca_file else None)
                   if s.smtp_security != "none" else None)
        kwargs: dict = {"timeout": s.smtp_timeout_seconds}
        if s.smtp_security == "ssl":
            kwargs["context"] = context
        try:
            self.client = yagmail.SMTP(
                user=s.smtp_user or None,
                password=s.smtp_password,
                host=s.smtp_host,
                port=s.smtp_port,
                smtp_ssl=s.smtp_security == "ssl",
                smtp_starttls={"context": context} if s.smtp_security == "starttls" else False,
                smtp_skip_login=not s.smtp_user,
                soft_email_validation=False,
                **kwargs,
            )
            self.client.login()
        except ssl.SSLCertVerificationError as exc:
            raise DeliveryError(f"the SMTP server {s.smtp_host}:{s.smtp_port} presented a certificate that could "
                                f"not be verified ({exc.verify_message}); nothing was sent. Give the server a "
                                "trusted certificate, or set smtp_ca_file to the CA that issued it",
                                code=None, transient=True, held=True) from exc
        except smtplib.SMTPNotSupportedError as exc:
            raise DeliveryError(f"the SMTP server {s.smtp_host}:{s.smtp_port} does not offer STARTTLS, and "
                                "smtp_security is starttls; nothing was sent in clear",
                                code=None, transient=True, held=True) from exc
        except smtplib.SMTPAuthenticationError as exc:
            raise DeliveryError(f"SMTP login refused: {exc.smtp_code} {exc.smtp_error!r}",
                                code=exc.smtp_code, transient=False) from exc
        except smtplib.SMTPResponseException as exc:
            raise DeliveryError(f"SMTP server said {exc.smtp_code} on connect",
                                code=exc.smtp_code, transient=400 <= exc.smtp_code < 500) from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError(f"cannot reach SMTP server {s.smtp_host}:{s.smtp_port}: {exc}",
                                code=None, transient=True) from exc

    def send(self, message: EmailMessage, *, sender: str, recipient: str, name: str) -> None:
        """Send one message; a 4xx reply is transient, a 5xx permanent (`name` is for the folder only)."""
        assert self.client is not None and self.client.smtp is not None
        try:
            refused = self.client.smtp.send_message(message, from_addr=sender, to_addrs=[recipient])
        except smtplib.SMTPRecipientsRefused as exc:
            code, reply = next(iter(exc.recipients.values()))
            raise DeliveryError(f"recipient refused: {code} {reply!r}", code=code,
                                transient=400 <= code < 500) from exc
        except smtplib.SMTPResponseException as exc:
            raise DeliveryError(f"SMTP server said {exc.smtp_code} {exc.smtp_error!r}", code=exc.smtp_code,
                                transient=400 <= exc.smtp_code < 500) from exc
        except (OSError, smtplib.SMTPException) as exc:
            self.client = None
            raise DeliveryError(f"connection lost while sending: {exc}", code=None, transient=True) from exc
        if refused:
            code, reply = next(iter(refused.values()))
            raise DeliveryError(f"recipient refused: {code} {reply!r}", code=code, transient=400 <= code < 500)

    @property
    def usable(self) -> bool:
        """Say whether the connection is still open."""
        return self.client is not None and self.client.smtp is not None

    def close(self) -> None:
        """Say QUIT, ignoring a connection that is already gone."""
        if self.client is not None and self.client.smtp is not None:
            try:
                self.client.smtp.quit()
            except (OSError, smtplib.SMTPException):
                pass
            self.client.is_closed = True
        self.client = None


def outbox_name(row: OutboxMessage) -> str:
    """Name a message for a person browsing the outbox folder: when it was queued, its kind, its reference, to whom.

    Sorted by name the folder reads in the order the mail was queued; the outbox number (M000123, as the
    logs name a message) keeps two messages apart and is the same on every retry. The Message-ID is inside.
    """
    parts = (row.created_at.strftime("%Y-%m-%d_%H%M"), row.template.replace("_", "-"), row.subject_ref[:60],
             row.recipient_email[:80], f"M{row.id:06d}")
    return "_".join(_UNSAFE.sub("-", part).strip(".-") or "-" for part in parts)


def transport_for(settings: Settings) -> Transport:
    """Choose SMTP when a host is configured, else the outbox folder."""
    if settings.smtp_host:
        return SmtpTransport(settings)
    return FolderTransport(settings.outbox_dir)
