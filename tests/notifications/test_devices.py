"""Devices the storefront registers get the contract's push messages, once each; another storefront's
customers and devices do not exist for it."""

import json

import pytest

from notifications.models import Device, Notification
from notifications.services import notification_deliver
from tests.conftest import order_body, storefront_client, storefront_key
from tests.factories import UserFactory
from tests.payments.conftest import deliver, signed


@pytest.mark.django_db
def test_register_is_idempotent_and_delete_is_scoped_to_the_storefront(api):
    url = "/api/v1/customers/cust-42/devices/"
    first = api.post(url, {"platform": "fcm", "token": "tok-1"}, format="json")
    assert first.status_code == 201 and set(first.json()) == {"platform", "token", "created_at"}
    again = api.post(url, {"platform": "fcm", "token": "tok-1"}, format="json")
    assert again.status_code == 200 and again.json() == first.json()
    assert api.post(url, {"platform": "sms", "token": "x"}, format="json").json()["code"] == "validation_error"
    assert api.post(url, {"platform": "fcm", "token": "has space"}, format="json").status_code == 400
    too_long = api.post(url, {"platform": "fcm", "token": "x" * 241}, format="json")
    assert too_long.status_code == 400 and too_long.json()["code"] == "validation_error"
    other = storefront_client(storefront_key(UserFactory(username="api:other-shop")))
    assert other.delete(f"{url}tok-1/").status_code == 404
    assert api.delete(f"{url}tok-1/").status_code == 204
    assert not Device.objects.exists()


@pytest.mark.django_db
def test_a_paid_order_is_pushed_to_each_registered_device_once(api, client, place, product, settings, tmp_path):
    settings.PUSH_BACKEND, settings.PUSH_FILE_DIR = "file", str(tmp_path)
    for platform, token in (("fcm", "android-1"), ("jpush", "android-cn-2")):
        api.post("/api/v1/customers/cust-42/devices/", {"platform": platform, "token": token}, format="json")
    number = place(order_body()).json()["number"]
    payment = api.post(f"/api/v1/orders/{number}/payments/", {"gateway": "stripe"}, format="json").json()
    request = signed(payment["reference"], "stripe")
    deliver(client, request)
    deliver(client, request)  # the gateway says it twice
    pushes = Notification.objects.filter(order__number=number, event="payment_confirmed", channel="push")
    assert sorted(pushes.values_list("recipient", flat=True)) == ["fcm:android-1", "jpush:android-cn-2"]
    assert not Notification.objects.filter(order__number=number, event="order_placed", channel="push").exists()
    for push in pushes:
        notification_deliver(notification_id=push.pk)
    sent = [json.loads(f.read_text()) for f in tmp_path.glob("*.json")]
    assert len(sent) == 2 and all(s["kind"] == "push" and number in s["text"] for s in sent)
