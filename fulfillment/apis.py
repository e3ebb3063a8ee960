from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import CallbackRateThrottle

from . import services
from .carriers import CarrierError, CarrierNotConfigured, CarrierSignatureInvalid, get_carrier


class TrackingCallbackApi(APIView):
    """Carriers authenticate by signature; each gets the acknowledgement its platform expects."""

    authentication_classes = []
    permission_classes = []
    throttle_classes = [CallbackRateThrottle]
    parser_classes = []

    @extend_schema(
        operation_id="shipping_callback",
        request={"application/json": OpenApiTypes.OBJECT, "application/x-www-form-urlencoded": OpenApiTypes.OBJECT},
        responses={
            200: OpenApiResponse(description="stored; the body is the acknowledgement the carrier expects"),
            400: OpenApiResponse(description="refused: bad signature or malformed push"),
            503: OpenApiResponse(description="this carrier's credentials are not configured: pushed again later"),
        },
    )
    def post(self, request, carrier):
        try:
            stored = services.tracking_apply_push(carrier=carrier, headers=dict(request.headers), body=request.body)
        except CarrierSignatureInvalid as exc:
            return Response({"code": "invalid_signature", "detail": str(exc)}, status=400)
        except CarrierNotConfigured as exc:
            return Response({"code": "carrier_not_configured", "detail": str(exc)}, status=503)
        except CarrierError as exc:
            return Response({"code": "invalid_push", "detail": str(exc)}, status=400)
        reply = get_carrier(carrier).push_reply(stored)
        return HttpResponse(reply.body, content_type=reply.content_type)
