"""One scheduler process of the concurrency test: walks simulated time from START for HOURS, one pass
of ``send_reminders`` every STEP minutes, against the given database and SMTP server.

    python -m tests.reminders.scheduler_process DATABASE_URL SMTP_PORT START HOURS STEP INSTANCE
"""

from __future__ import annotations

import sys
from datetime import datetime, timedelta


def main(database_url: str, smtp_port: int, start: datetime, hours: int, step: int, instance: str) -> None:
    from projectflow import create_app
    from projectflow.core import clock
    from projectflow.reminders.rules import send_reminders

    app = create_app({"ENV": "testing", "TESTING": True, "DATABASE_URL": database_url, "INSTANCE_PATH": instance,
                      "SECRET_KEY": "test-secret-key-" + "x" * 32, "MAIL_BACKEND": "smtp",
                      "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": smtp_port})
    with app.app_context():
        moment, end = start, start + timedelta(hours=hours)
        while moment <= end:
            with clock.frozen(moment):
                send_reminders()
            moment += timedelta(minutes=step)


if __name__ == "__main__":
    url, port, start, hours, step, instance = sys.argv[1:7]
    main(url, int(port), datetime.fromisoformat(start), int(hours), int(step), instance)
