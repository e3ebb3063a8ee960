"""Push through FCM and JPush, each played on a local server that authenticates and answers as it does:
one push per registered device, and a token the provider no longer knows removes the device."""

import json

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from core.models import TransitionLog
from notifications.models import Device, Notification
from notifications.services import notification_deliver
from tests.conftest import order_body
from tests.local_server import serving
from tests.notifications.push_providers import PushProviders
from tests.payments.conftest import deliver, signed


@pytest.fixture
def providers(settings, tmp_path):
    platforms = PushProviders(fcm_devices={"fcm-live"}, jpush_devices={"1a0018970a5c2b1e"})
    with serving(platforms.respond) as url:
        platforms.url = url
        account = tmp_path / "firebase-service-account.json"
        account.write_text(json.dumps(platforms.service_account()))
        settings.PUSH_BACKEND, settings.FCM_SERVICE_ACCOUNT_FILE, settings.FCM_API_URL = "providers", str(account), url
        settings.JPUSH_API_URL = url
        settings.JPUSH_APP_KEY, settings.JPUSH_MASTER_SECRET = platforms.jpush_app_key, platforms.jpush_master_secret
        yield platforms


def register(api, platform, token):
    response = api.post("/api/v1/customers/cust-42/devices/", {"platform": platform, "token": token}, format="json")
    assert response.status_code == 201


def paid_order(api, client, place):
    number = place(order_body(allow_duplicate=True)).json()["number"]
    payment = api.post(f"/api/v1/orders/{number}/payments/", {"gateway": "stripe"}, format="json").json()
    deliver(client, signed(payment["reference"], "stripe"))
    return number


def send_pushes(number):
    pushes = Notification.objects.filter(order__number=number, event="payment_confirmed", channel="push")
    for push in pushes:
        notification_deliver(notification_id=push.pk)
        notification_deliver(notification_id=push.pk)  # a redelivered task: nothing more is sent
    return {p.recipient: p for p in pushes.all()}


@pytest.mark.django_db
def test_each_registered_device_gets_one_push_and_unregistered_tokens_are_removed(
    api, client, place, product, providers
):
    for platform, token in [("fcm", "fcm-live"), ("fcm", "fcm-uninstalled"), ("jpush", "1a0018970a5c2b1e"),
                            ("jpush", "190e35f7e0aa1e9b")]:  # fmt: skip
        register(api, platform, token)
    number = paid_order(api, client, place)

    pushes = send_pushes(number)
    [fcm] = providers.fcm_sent
    assert fcm["token"] == "fcm-live" and number in fcm["notification"]["body"]
    [jpush] = providers.jpush_sent
    assert jpush["audience"] == {"registration_id": ["1a0018970a5c2b1e"]} and number in jpush["notification"]["alert"]
    assert pushes["fcm:fcm-live"].status == "sent" and pushes["fcm:fcm-live"].provider_message_id.startswith(
        "projects/"
    )
    assert pushes["jpush:1a0018970a5c2b1e"].status == "sent"
    for gone in ("fcm:fcm-uninstalled", "jpush:190e35f7e0aa1e9b"):
        cancelled = TransitionLog.objects.get(object_id=pushes[gone].pk, target="cancelled", field="status")
        assert pushes[gone].status == "cancelled" and "device removed" in cancelled.reason
    assert sorted(Device.objects.values_list("token", flat=True)) == ["1a0018970a5c2b1e", "fcm-live"]

    second = paid_order(api, client, place)
    send_pushes(second)  # the same process reuses its access token until it expires
    assert len(providers.fcm_sent) == 2 and providers.tokens_issued == 1


@pytest.mark.django_db
def test_a_provider_refusing_our_credentials_is_retried_not_sent_and_the_device_kept(
    api, client, place, product, providers, tmp_path, settings
):
    stranger = tmp_path / "someone-elses-account.json"
    stranger.write_text(json.dumps(providers.service_account(rsa.generate_private_key(public_exponent=65537,
                                                                                      key_size=2048))))  # fmt: skip
    settings.FCM_SERVICE_ACCOUNT_FILE, settings.JPUSH_MASTER_SECRET = str(stranger), "guessed"
    register(api, "fcm", "fcm-live")
    register(api, "jpush", "1a0018970a5c2b1e")
    number = paid_order(api, client, place)

    pushes = send_pushes(number)

    assert not providers.fcm_sent and not providers.jpush_sent and providers.tokens_issued == 0
    assert {p.status for p in pushes.values()} == {"queued"}
    assert "invalid_grant" in pushes["fcm:fcm-live"].last_error
    assert "1004" in pushes["jpush:1a0018970a5c2b1e"].last_error
    assert Device.objects.count() == 2
