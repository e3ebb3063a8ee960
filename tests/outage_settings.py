"""Settings of the worker processes the outage tests start: the test database and broker come from the
environment; e-mail is written to files (SLOW_MAIL_SECONDS makes each send take that long, so a test can
kill a worker in the middle of one); SMS and push to files; dead-worker recovery in seconds, not minutes."""

import os

from config.settings.test import *  # noqa: F403

EMAIL_BACKEND = "tests.outage_settings.SlowFileBackend"
EMAIL_FILE_PATH = os.environ["OUTAGE_MAIL_DIR"]
SMS_BACKEND, SMS_FILE_DIR = "file", os.environ["OUTAGE_MAIL_DIR"] + "/sms"
PUSH_BACKEND, PUSH_FILE_DIR = "file", os.environ["OUTAGE_MAIL_DIR"] + "/push"
NOTIFY_SENDING_TIMEOUT_SECONDS = 5
PAYMENTS_SANDBOX_KEY_DIR = os.environ.get("PAYMENTS_SANDBOX_KEY_DIR", PAYMENTS_SANDBOX_KEY_DIR)  # noqa: F405


def _slow_file_backend():
    import time
    from pathlib import Path

    from django.core.mail.backends.filebased import EmailBackend

    class Backend(EmailBackend):
        def send_messages(self, email_messages):
            delay = float(os.environ.get("SLOW_MAIL_SECONDS", "0"))
            if delay:
                Path(EMAIL_FILE_PATH, f"sending-{time.time_ns()}").touch()  # a marker: "a send is under way"
                time.sleep(delay)
            return super().send_messages(email_messages)

    return Backend


class SlowFileBackend:
    def __new__(cls, *args, **kwargs):
        return _slow_file_backend()(*args, **kwargs)
