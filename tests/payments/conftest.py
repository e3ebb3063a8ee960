import io
import json

import pytest
from django.core.management import call_command

from tests.conftest import order_body
from tests.local_server import serving
from tests.payments.gateway_platforms import Platforms, private_pem, public_pem


def signed(reference, gateway, outcome="success", **options):
    """The request the sandbox gateway would send (via the management command, as the demo does)."""
    out = io.StringIO()
    args = [reference, "--gateway", gateway, "--outcome", outcome]
    for key, value in options.items():
        flag = "--" + key.replace("_", "-")
        args += [flag] if value is True else [flag, str(value)]
    call_command("sandbox_callback", *args, stdout=out)
    return json.loads(out.getvalue().strip().splitlines()[-1])


def deliver(client, request):
    headers = dict(request["headers"])
    content_type = headers.pop("Content-Type")
    return client.post(request["path"], data=request["body"].encode(), content_type=content_type, headers=headers)


@pytest.fixture
def order(place, product):
    return place(order_body()).json()


@pytest.fixture
def start(api):
    def _start(number, gateway):
        response = api.post(f"/api/v1/orders/{number}/payments/", {"gateway": gateway}, format="json")
        assert response.status_code == 201, response.json()
        return response.json()

    return _start


GATEWAYS = ["alipay", "wechatpay", "stripe", "paypal"]


@pytest.fixture
def platforms(settings):
    platforms = Platforms()
    with serving(platforms.respond) as platforms.url:
        yield configure(platforms, settings)


def configure(platforms, settings):
    settings.PAYMENTS_SANDBOX = False
    settings.WECHATPAY_API_URL = platforms.url
    settings.WECHATPAY_MCHID = platforms.mchid
    settings.WECHATPAY_MCH_PRIVATE_KEY = private_pem("wechatpay-merchant")
    settings.WECHATPAY_MCH_SERIAL = platforms.merchant_serial
    settings.WECHATPAY_PLATFORM_CERT = public_pem("wechatpay-platform")
    settings.WECHATPAY_PLATFORM_SERIAL = platforms.platform_serial
    settings.ALIPAY_GATEWAY_URL = f"{platforms.url}/gateway.do"
    settings.ALIPAY_APP_ID = platforms.alipay_app_id
    settings.ALIPAY_APP_PRIVATE_KEY = private_pem("alipay-app")
    settings.ALIPAY_PUBLIC_KEY = public_pem("alipay-platform")
    settings.PAYPAL_API_URL = f"{platforms.url}/paypal"
    settings.PAYPAL_CLIENT_ID, settings.PAYPAL_CLIENT_SECRET = platforms.paypal_client
    settings.PAYPAL_WEBHOOK_CERT = public_pem("paypal-webhook")
    settings.STRIPE_API_URL = f"{platforms.url}/stripe"
    settings.STRIPE_SECRET_KEY = platforms.stripe_key
    return platforms
