"""SMS through Twilio's Messages API, played on a local HTTP server that checks the account's credentials
and honours the idempotency token as Twilio does."""

import base64
import json
import secrets
from urllib.parse import parse_qsl

import pytest

from config.celery_app import app
from notifications.models import Event, Notification
from tests.conftest import order_body
from tests.local_server import serving
from tests.notifications.test_notifications import pay

SID, TOKEN = "AC" + "0" * 32, "twilio-auth-token"


def twilio_api(sent: dict):
    """Twilio's Messages API: Basic auth with the account, one message per idempotency token."""
    expected = "Basic " + base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()

    def respond(method, path, headers, body):
        if path != f"/2010-04-01/Accounts/{SID}/Messages.json" or headers["Authorization"] != expected:
            return 401, json.dumps({"code": 20003, "message": "Authenticate"}).encode(), {}
        key = headers.get("I-Twilio-Idempotency-Token")
        if key not in sent:
            sent[key] = {"sid": "SM" + secrets.token_hex(16), **dict(parse_qsl(body.decode()))}
        return 201, json.dumps({"sid": sent[key]["sid"], "status": "queued"}).encode(), {}

    return respond


@pytest.fixture
def twilio(settings):
    sent = {}
    with serving(twilio_api(sent)) as url:
        settings.SMS_BACKEND, settings.TWILIO_API_URL = "twilio", url
        settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, settings.TWILIO_FROM = SID, TOKEN, "+15005550006"
        app.conf.task_always_eager = True
        yield sent
        app.conf.task_always_eager = False


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
