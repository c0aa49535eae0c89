"""One sender process for the mail rate test: wait for the signal file, then drain the outbox on a fixed clock.

    python mail_rate_sender.py DATABASE_URL SMTP_PORT NOW_ISO PER_MINUTE GO_FILE
Prints the number of messages this process sent.
"""
import sys
import time
from datetime import datetime
from pathlib import Path

from auditcycle.core.settings import MailRateSettings, Settings
from auditcycle.notifications.gateway import deliver
from auditcycle.storage.db import make_engine


def main() -> None:
    """Drain the outbox once, one message a claim, so two processes interleave their claims."""
    url, port, now, per_minute, go = sys.argv[1:6]
    settings = Settings(database_url=url, smtp_host="127.0.0.1", smtp_port=int(port),
                        mail_rate=MailRateSettings(per_minute=int(per_minute)))
    engine = make_engine(url)
    at = datetime.fromisoformat(now)
    deadline = time.monotonic() + 60
    while not Path(go).exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    report = deliver(engine=engine, settings=settings, batch_size=1, clock=lambda: at)
    engine.dispose()
    print(report.sent)


if __name__ == "__main__":
    main()
