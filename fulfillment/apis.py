from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from . import services
from .carriers import CarrierError, CarrierSignatureInvalid


class TrackingCallbackApi(APIView):
    """Carriers authenticate by signature (HMAC for the sandbox carrier)."""

    authentication_classes = []
    permission_classes = []
    throttle_classes = []
    parser_classes = []

    @extend_schema(
        operation_id="shipping_callback",
        request={"application/json": OpenApiTypes.OBJECT},
        responses={200: OpenApiResponse(description="stored"), 400: OpenApiResponse(description="refused")},
    )
    def post(self, request, carrier):
        try:
            stored = services.tracking_apply_push(carrier=carrier, headers=dict(request.headers), body=request.body)
        except CarrierSignatureInvalid as exc:
            return Response({"code": "invalid_signature", "detail": str(exc)}, status=400)
        except CarrierError as exc:
            return Response({"code": "invalid_push", "detail": str(exc)}, status=400)
        return Response({"stored": stored})
