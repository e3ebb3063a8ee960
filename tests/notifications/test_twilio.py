"""SMS through Twilio's Messages API, played on a local HTTP server that checks the account's credentials
and honours the idempotency token as Twilio does."""

import base64
import json
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

import pytest

from config.celery_app import app
from notifications.models import Event, Notification
from tests.conftest import order_body
from tests.notifications.test_notifications import pay

SID, TOKEN = "AC" + "0" * 32, "twilio-auth-token"


class Twilio(BaseHTTPRequestHandler):
    def do_POST(self):
        sent = self.server.sent
        expected = "Basic " + base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
        if self.path != f"/2010-04-01/Accounts/{SID}/Messages.json" or self.headers["Authorization"] != expected:
            status, answer = 401, {"code": 20003, "message": "Authenticate"}
        else:
            form = dict(parse_qsl(self.rfile.read(int(self.headers["Content-Length"])).decode()))
            key = self.headers.get("I-Twilio-Idempotency-Token")
            if key not in sent:
                sent[key] = {"sid": "SM" + secrets.token_hex(16), **form}
            status, answer = 201, {"sid": sent[key]["sid"], "status": "queued"}
        payload = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture
def twilio(settings):
    server = ThreadingHTTPServer(("127.0.0.1", 0), Twilio)
    server.sent = {}
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.SMS_BACKEND = "twilio"
    settings.TWILIO_API_URL = f"http://127.0.0.1:{server.server_address[1]}"
    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, settings.TWILIO_FROM = SID, TOKEN, "+15005550006"
    app.conf.task_always_eager = True
    yield server.sent
    app.conf.task_always_eager = False
    server.shutdown()
    server.server_close()


@pytest.mark.django_db
def test_payment_confirmation_sms_goes_through_twilio_once(
    api, client, place, product, twilio, django_capture_on_commit_callbacks
):
    number = place(order_body()).json()["number"]
    with django_capture_on_commit_callbacks(execute=True):
        pay(api, client, number)
    sms = Notification.objects.get(event=Event.PAYMENT_CONFIRMED, channel="sms")
    [sent] = twilio.values()
    assert (sms.status, sms.provider_message_id) == ("sent", sent["sid"])
    assert (sent["To"], sent["From"]) == (sms.recipient, "+15005550006") and number in sent["Body"]


@pytest.mark.django_db
def test_twilio_refusing_our_credentials_is_retried_later(
    api, client, place, product, twilio, settings, django_capture_on_commit_callbacks
):
    settings.TWILIO_AUTH_TOKEN = "revoked"
    number = place(order_body()).json()["number"]
    with django_capture_on_commit_callbacks(execute=True):
        pay(api, client, number)
    sms = Notification.objects.get(event=Event.PAYMENT_CONFIRMED, channel="sms")
    assert (sms.status, sms.attempts) == ("queued", 1) and "twilio 20003" in sms.last_error
    assert not twilio
