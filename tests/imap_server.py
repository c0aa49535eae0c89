"""A real IMAP server on loopback for the replies tests: Dovecot where installed (Debian's dovecot-imapd), else pymap.

Dovecot runs from a configuration of its own in a scratch folder, on a free high port, with one mailbox in a
passwd-file; as root it hands the mail to Debian's `dovecot` account, as any other user to that user. pymap
(pure Python, from PyPI) keeps the mail in memory. Messages are put in with IMAP APPEND, as a mail server
delivering them would leave them.
"""
import grp
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from imap_tools import MailBoxUnencrypted
from smtp_server import free_port

USER, PASSWORD, FOLDER = "qa-team@council.example", "not-a-real-password", "INBOX"
DOVECOT = shutil.which("dovecot") or ("/usr/sbin/dovecot" if Path("/usr/sbin/dovecot").exists() else None)


def _wait_for(port: int, process: subprocess.Popen, log: Path | None) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None and not log:
            raise RuntimeError(f"the IMAP server exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
                if sock.recv(200).startswith(b"* OK"):
                    return
        except OSError:
            time.sleep(0.1)
    detail = log.read_text(errors="replace")[-2000:] if log and log.exists() else ""
    raise RuntimeError(f"the IMAP server did not answer on port {port}: {detail}")


class ImapServer:
    """Start and stop a loopback IMAP server with one mailbox, and put messages in it."""

    def __init__(self) -> None:
        # Its own folder under the system's temporary one: pytest's are private to root, and Dovecot's
        # processes run as its own account.
        self.root = Path(tempfile.mkdtemp(prefix="auditcycle-imap-"))
        self.port = free_port()
        self.kind = "dovecot" if DOVECOT else "pymap"
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> "ImapServer":
        if self.kind == "dovecot":
            self._start_dovecot()
        else:
            self.process = subprocess.Popen(
                [str(Path(sys.executable).with_name("pymap")), "--host", "127.0.0.1", "--port", str(self.port), "--no-tls",
                 "dict", "--demo-user", USER, "--demo-password", PASSWORD],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            _wait_for(self.port, self.process, None)
        return self

    def _start_dovecot(self) -> None:
        assert DOVECOT
        if os.geteuid() == 0:
            # Dovecot refuses mail owned by root: the mail belongs to Debian's dovecot account.
            owner, login = pwd.getpwnam("dovecot"), "dovenull"
        else:
            owner = pwd.getpwuid(os.geteuid())
            login = owner.pw_name
        group = grp.getgrgid(owner.pw_gid).gr_name
        for sub in ("run", "mail", "state"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        (self.root / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}::::::\n")
        if os.geteuid() == 0:
            for path in [self.root, *self.root.rglob("*")]:
                os.chown(path, owner.pw_uid, owner.pw_gid)
            self.root.chmod(0o755)
        config = self.root / "dovecot.conf"
        config.write_text(f"""
base_dir = {self.root}/run
state_dir = {self.root}/state
log_path = {self.root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = 1
default_internal_user = {owner.pw_name}
default_internal_group = {group}
default_login_user = {login}
mail_location = maildir:{self.root}/mail/%n
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {self.root}/passwd
}}
userdb {{
  driver = static
  args = uid={owner.pw_uid} gid={owner.pw_gid} home={self.root}/mail/%n
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
service stats {{
  unix_listener stats-reader {{
    user = {owner.pw_name}
  }}
  unix_listener stats-writer {{
    user = {owner.pw_name}
  }}
}}
""")
        self.process = subprocess.Popen([DOVECOT, "-F", "-c", str(config)], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.STDOUT)
        _wait_for(self.port, self.process, self.root / "dovecot.log")

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        shutil.rmtree(self.root, ignore_errors=True)

    def append(self, *messages: bytes) -> None:
        """Put messages in the mailbox, as delivered mail."""
        with MailBoxUnencrypted("127.0.0.1", self.port).login(USER, PASSWORD, initial_folder=FOLDER) as box:
            for message in messages:
                box.append(message, FOLDER, flag_set=())

    def settings(self) -> dict[str, str]:
        """Return the environment that points auditcycle's replies phase at this mailbox."""
        return {"AUDITCYCLE_REPLIES__IMAP_HOST": "127.0.0.1", "AUDITCYCLE_REPLIES__IMAP_PORT": str(self.port),
                "AUDITCYCLE_REPLIES__IMAP_SECURITY": "none", "AUDITCYCLE_REPLIES__IMAP_USER": USER,
                "AUDITCYCLE_REPLIES__IMAP_PASSWORD": PASSWORD}
