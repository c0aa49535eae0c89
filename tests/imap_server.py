"""A real IMAP server on loopback for the replies tests: Dovecot where installed (Debian's dovecot-imapd), else pymap.

Dovecot runs from a configuration of its own in a scratch folder, on a free high port, with one mailbox in a
passwd-file; as root it hands the mail to Debian's `dovecot` account, as any other user to that user. pymap
(pure Python, from PyPI) keeps the mail in memory. Dovecot also signs the mailbox in with an OAuth 2.0 access
token (XOAUTH2, as Exchange Online requires), asking a token introspection service on loopback (RFC 7662). Messages are put in with IMAP APPEND, as a mail server
delivering them would leave them.
"""
import grp
import http.server
import json
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

from imap_tools import MailBoxUnencrypted
from smtp_server import free_port

USER, PASSWORD, FOLDER = "qa-team@council.example", "not-a-real-password", "INBOX"
# AUDITCYCLE_TEST_IMAP=pymap runs the tests on pymap even where Dovecot is installed, to check the fallback.
DOVECOT = None if os.environ.get("AUDITCYCLE_TEST_IMAP") == "pymap" else (
    shutil.which("dovecot") or ("/usr/sbin/dovecot" if Path("/usr/sbin/dovecot").exists() else None))


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


TOKEN = "live-access-token"


class TokenService:
    """An OAuth 2.0 token introspection endpoint (RFC 7662) on loopback: one live token, for the one mailbox."""

    def __init__(self) -> None:
        self.asked: list[str] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (the handler's name is http.server's)
                form = urllib.parse.parse_qs(self.rfile.read(int(self.headers["Content-Length"] or 0)).decode())
                token = (form.get("token") or [""])[0]
                outer.asked.append(token)
                body = json.dumps({"active": "true", "username": USER} if token == TOKEN else {"active": "false"})
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body.encode())

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]

    def start(self) -> None:
        """Serve in a thread."""
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()


class ImapServer:
    """Start and stop a loopback IMAP server with one mailbox, and put messages in it."""

    def __init__(self, *, xoauth2: bool = False) -> None:
        if xoauth2 and not DOVECOT:
            # Failed, not skipped: every test runs in CI, whose .ci/run installs Dovecot.
            raise RuntimeError("signing in with XOAUTH2 is tested on Dovecot (apt-get install dovecot-imapd): "
                               "pymap offers no XOAUTH2")
        # Its own folder under the system's temporary one: pytest's are private to root, and Dovecot's
        # processes run as its own account.
        self.root = Path(tempfile.mkdtemp(prefix="auditcycle-imap-"))
        self.port = free_port()
        self.kind = "dovecot" if DOVECOT else "pymap"
        self.process: subprocess.Popen | None = None
        self.tokens: TokenService | None = TokenService() if self.kind == "dovecot" else None

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
        assert DOVECOT and self.tokens is not None
        self.tokens.start()
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
auth_mechanisms = plain login xoauth2
first_valid_uid = 1
default_internal_user = {owner.pw_name}
default_internal_group = {group}
default_login_user = {login}
mail_location = maildir:{self.root}/mail/%n
{self._oauth2_passdb()}
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

    def _oauth2_passdb(self) -> str:
        """Return Dovecot's XOAUTH2 passdb, which asks the test's token service whether a token is live."""
        if self.tokens is None:
            return ""
        (self.root / "oauth2.conf.ext").write_text(
            f"introspection_mode = post\nintrospection_url = http://127.0.0.1:{self.tokens.port}/introspect\n"
            "username_attribute = username\nactive_attribute = active\nactive_value = true\n")
        return f"passdb {{\n  driver = oauth2\n  mechanisms = xoauth2\n  args = {self.root}/oauth2.conf.ext\n}}"

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        if self.tokens is not None:
            self.tokens.stop()
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
