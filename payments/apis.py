"""Payment endpoints: the storefront starts a payment; gateways call back in their own wire format."""

import time

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import CallbackRateThrottle, ErrorOutput
from orders.selectors import order_get

from . import services
from .gateways import get_gateway
from .metrics import CALLBACK_SECONDS, CALLBACKS, callback_latency_record
from .models import Gateway, Payment

GATEWAYS = [g for g in Gateway.values if g != Gateway.MANUAL]


@extend_schema_field({"type": "string", "enum": GATEWAYS})
class GatewayField(serializers.CharField):
    """Any string is taken, so that an unknown one gets the contract's `unsupported_gateway`."""


class PaymentStartInput(serializers.Serializer):
    gateway = GatewayField(max_length=20)


class PaymentOutput(serializers.Serializer):
    id = serializers.IntegerField()
    gateway = serializers.CharField()
    reference = serializers.CharField()
    amount = serializers.DecimalField(max_digits=12, decimal_places=2)
    currency = serializers.CharField()
    status = serializers.CharField()
    action = serializers.JSONField()


ERROR = ErrorOutput


def render_payment(payment: Payment) -> dict:
    return dict(PaymentOutput(payment).data)


class PaymentStartApi(APIView):
    @extend_schema(
        operation_id="payments_start",
        request=PaymentStartInput,
        responses={201: PaymentOutput, 400: ERROR, 404: ERROR, 409: ERROR},
    )
    def post(self, request, number):
        order_get(client=request.user, number=number, detail=False)
        payload = PaymentStartInput(data=request.data)
        payload.is_valid(raise_exception=True)
        payment = services.payment_start(
            order_number=number, gateway=payload.validated_data["gateway"], actor=request.user
        )
        return Response(render_payment(payment), status=201)


class PaymentCallbackApi(APIView):
    """Gateways authenticate by signature; the raw body is kept exactly as it arrived."""

    authentication_classes = []
    permission_classes = []
    throttle_classes = [CallbackRateThrottle]
    parser_classes = []

    @extend_schema(
        operation_id="payments_callback",
        description="Gateway notification in the gateway's own format: Alipay form-encoded RSA2 "
        '(answers `success`/`failure`), WeChat Pay API v3 (204, or 4xx `{"code": "FAIL"}`), '
        "Stripe events with `Stripe-Signature`, PayPal webhooks with transmission headers.",
        request={"application/json": OpenApiTypes.OBJECT, "application/x-www-form-urlencoded": OpenApiTypes.OBJECT},
        responses={
            200: OpenApiResponse(description="accepted"),
            204: OpenApiResponse(description="accepted"),
            400: OpenApiResponse(description="refused"),
        },
    )
    def post(self, request, gateway):
        adapter = get_gateway(gateway)
        if adapter is None:
            raise services.UnsupportedGateway(gateways=GATEWAYS)
        result = services.payment_take_callback(gateway=gateway, headers=dict(request.headers), body=request.body)
        request.callback_outcome = "accepted" if result.accepted else "refused"
        return adapter.ack(accepted=result.accepted, message=result.message)

    def dispatch(self, request, *args, **kwargs):
        """Every callback is counted and timed, refusals (bad signature, too large, throttled) included."""
        started = time.perf_counter()
        response = super().dispatch(request, *args, **kwargs)
        gateway = kwargs.get("gateway", "") if kwargs.get("gateway") in GATEWAYS else "unknown"
        outcome = getattr(self.request, "callback_outcome", "refused" if response.status_code < 500 else "error")
        CALLBACKS.labels(gateway, outcome).inc()
        elapsed = time.perf_counter() - started
        CALLBACK_SECONDS.labels(gateway).observe(elapsed)
        if gateway != "unknown":
            callback_latency_record(gateway, elapsed)  # the order-health page's p95, sent within a second
        return response
