"""The QA mailbox, read over IMAP (imap-tools): each message not read before, by UID, without changing the mailbox.

The folder is opened read-only (EXAMINE), so no flag is set and nothing is moved: which messages were read is
kept in auditcycle's own table (`invitations.replies.handled_uids`), under the folder's UIDVALIDITY.
"""
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from imap_tools import BaseMailBox, MailBox, MailBoxStartTls, MailBoxUnencrypted

from auditcycle.core.settings import RepliesSettings
from auditcycle.invitations.replies import Received

_SIZE = re.compile(rb"RFC822\.SIZE (\d+)")


class MailboxError(RuntimeError):
    """The IMAP server refused or broke off; the phase fails and the next run reads on from where this stopped."""


@dataclass
class Mailbox:
    """An open, read-only IMAP folder."""

    box: BaseMailBox
    name: str  # user@host/folder: the key its messages are stored under
    uid_validity: int
    max_bytes: int

    def messages(self, *, skip: Iterable[int]) -> Iterator[Received]:
        """Yield each message whose UID is not in `skip`, oldest first; one too large comes without its bytes."""
        done = set(skip)
        for uid in sorted(int(u) for u in self.box.uids("ALL")):
            if uid in done:
                continue
            size = self._size(uid)
            raw = self._fetch(uid) if size <= self.max_bytes else None
            yield Received(mailbox=self.name, uid_validity=self.uid_validity, uid=uid, size=size, raw=raw)

    def _size(self, uid: int) -> int:
        status, data = self.box.client.uid("fetch", str(uid), "(RFC822.SIZE)")
        found = _SIZE.search(b" ".join(d if isinstance(d, bytes) else d[0] for d in data if d)) if status == "OK" \
            else None
        if found is None:
            raise MailboxError(f"the server gave no size for message {uid}")
        return int(found.group(1))

    def _fetch(self, uid: int) -> bytes:
        status, data = self.box.client.uid("fetch", str(uid), "(BODY.PEEK[])")
        parts = [d[1] for d in data if isinstance(d, tuple)] if status == "OK" else []
        if not parts:
            raise MailboxError(f"the server did not give message {uid}")
        return parts[0]


@contextmanager
def open_mailbox(settings: RepliesSettings) -> Iterator[Mailbox]:
    """Log in to the QA mailbox (password or XOAUTH2) and open its folder read-only."""
    assert settings.imap_host and settings.imap_user
    kinds = {"ssl": MailBox, "starttls": MailBoxStartTls, "none": MailBoxUnencrypted}
    try:
        box = kinds[settings.imap_security](settings.imap_host, settings.imap_port,
                                            timeout=settings.imap_timeout_seconds)
        if settings.imap_oauth2_token is not None:
            box.xoauth2(settings.imap_user, settings.imap_oauth2_token.get_secret_value(), initial_folder=None)
        else:
            assert settings.imap_password is not None
            box.login(settings.imap_user, settings.imap_password.get_secret_value(), initial_folder=None)
        validity = int(box.folder.status(settings.imap_folder, ["UIDVALIDITY"])["UIDVALIDITY"])
        box.folder.set(settings.imap_folder, readonly=True)
    except Exception as exc:  # imaplib, the socket and imap-tools each raise their own kinds
        # Never the password or token: only what failed, and where.
        raise MailboxError(f"cannot read the QA mailbox {settings.imap_user} at {settings.imap_host}:"
                           f"{settings.imap_port} ({type(exc).__name__})") from None
    try:
        yield Mailbox(box, f"{settings.imap_user}@{settings.imap_host}/{settings.imap_folder}", validity,
                      max_bytes=settings.max_message_bytes)
    finally:
        try:
            box.logout()
        except Exception:  # the connection may already be gone; nothing is left to do with it
            pass
