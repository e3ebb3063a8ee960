"""Gateway adapters, chosen by name; sandbox or production from settings.PAYMENTS_SANDBOX."""

from .alipay import AlipayGateway
from .base import (
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

GATEWAYS: dict[str, PaymentGateway] = {
    g.name: g for g in (AlipayGateway(), WeChatPayGateway(), StripeGateway(), PayPalGateway())
}


def get_gateway(name: str) -> PaymentGateway | None:
    return GATEWAYS.get(name)


__all__ = [
    "GATEWAYS",
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
