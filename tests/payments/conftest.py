import io
import json

import pytest
from django.core.management import call_command

from tests.conftest import order_body


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
