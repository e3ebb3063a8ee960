"""Gateway adapters, chosen by name: the live ones, or with PAYMENTS_SANDBOX their sandbox twins
(`payments.sandbox`, an app of its own that a live shop does not install)."""

from django.conf import settings

from .alipay import AlipayGateway
from .base import (
    ConfirmingGateway,
    GatewayError,
    GatewayNotConfigured,
    MalformedNotification,
    Notification,
    PaymentGateway,
    PaymentRequest,
    SignatureInvalid,
    SignedRequest,
    StaleNotification,
)
from .paypal import PayPalGateway
from .stripe_gateway import StripeGateway
from .wechatpay import WeChatPayGateway

LIVE_GATEWAYS: dict[str, PaymentGateway] = {
    g.name: g for g in (AlipayGateway(), WeChatPayGateway(), StripeGateway(), PayPalGateway())
}


def get_gateway(name: str) -> PaymentGateway | None:
    if settings.PAYMENTS_SANDBOX:
        from payments.sandbox.gateways import SANDBOX_GATEWAYS

        return SANDBOX_GATEWAYS.get(name)
    return LIVE_GATEWAYS.get(name)


__all__ = [
    "LIVE_GATEWAYS",
    "ConfirmingGateway",
    "GatewayError",
    "GatewayNotConfigured",
    "MalformedNotification",
    "Notification",
    "PaymentGateway",
    "PaymentRequest",
    "SignatureInvalid",
    "SignedRequest",
    "StaleNotification",
    "get_gateway",
]
