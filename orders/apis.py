"""Storefront API: one view per use case; parse, call one service, render."""

import re

from django.db import transaction
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import ErrorOutput
from core.db import writes_at_end
from core.errors import ApplicationError

from . import idempotency, returns, selectors, services
from .health import placement_outcome_record
from .metrics import ORDERS_PLACED
from .models import Return
from .serializers import OrderOutput, OrderPlaceInput, ReturnInput, ReturnOutput, order_place_input, order_render

IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")

ERROR = ErrorOutput


class IdempotencyKeyMissing(ApplicationError):
    code = "idempotency_key_missing"
    default_detail = _("Send an Idempotency-Key header of 1-255 visible ASCII characters.")


class OrderListCreateApi(ListAPIView):
    serializer_class = OrderOutput

    def get_queryset(self):
        return selectors.order_list(client=self.request.user, customer_id=self.request.query_params.get("customer_id"))

    @extend_schema(
        operation_id="orders_list",
        parameters=[OpenApiParameter("customer_id", str, description="Only this customer's orders, newest first")],
    )
    def get(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response([order_render(order) for order in page])

    @extend_schema(
        operation_id="orders_place",
        request=OrderPlaceInput,
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                str,
                OpenApiParameter.HEADER,
                required=True,
                description="1-255 visible ASCII characters; replays return the stored response",
            )
        ],
        responses={201: OrderOutput, 400: ERROR, 403: ERROR, 409: ERROR, 422: ERROR, 429: ERROR},
    )
    def post(self, request):
        key = request.headers.get("Idempotency-Key", "")
        if not IDEMPOTENCY_KEY.match(key):
            raise IdempotencyKeyMissing()
        validated = order_place_input(request.data)
        request_key = dict(client=request.user, key=key, fingerprint=idempotency.request_fingerprint(request.data))
        # The key is not read first: a placement writes it in its own transaction, and a replay fails there (as
        # a duplicate order, or on the key's unique index), rolls back, and is answered from the stored response.
        replayed = False
        try:
            # The placement's messages wait for the key: one INSERT statement for both (core.db.writes_at_end).
            with transaction.atomic(), writes_at_end(updates=False):
                order = services.order_place(client=request.user, **validated)
                stored = idempotency.response_remember(
                    **request_key, status=201, body=order_render(order), order_number=order.number
                )
        except ApplicationError:
            # A key used before explains the failure (this request's order placed by an earlier or concurrent
            # call; or the key reused with another body, refused here); otherwise the failure stands.
            stored = idempotency.stored_response(**request_key)
            if stored is None:
                raise
            replayed = True
        request.placement_replayed = replayed
        headers = {"Idempotent-Replayed": "true"} if replayed else {}
        if stored.body.get("number"):
            headers["Location"] = f"/api/v1/orders/{stored.body['number']}/"
        return Response(stored.body, status=stored.status, headers=headers)

    def finalize_response(self, request, response, *args, **kwargs):
        """Every placement request is counted by outcome (a replay placed nothing, so it is not)."""
        if request.method == "POST" and not getattr(request, "placement_replayed", False):
            data = getattr(response, "data", None)
            code = data.get("code") if isinstance(data, dict) else None
            outcome = "created" if response.status_code == 201 else code or str(response.status_code)
            ORDERS_PLACED.labels(outcome).inc()
            placement_outcome_record(outcome)  # the dashboard's per-minute count, sent within a second
        return super().finalize_response(request, response, *args, **kwargs)


class OrderDetailApi(APIView):
    @extend_schema(operation_id="orders_retrieve", responses={200: OrderOutput, 404: ERROR})
    def get(self, request, number):
        return Response(order_render(selectors.order_get(client=request.user, number=number)))


class OrderCancelApi(APIView):
    @extend_schema(operation_id="orders_cancel", request=None, responses={200: OrderOutput, 404: ERROR, 409: ERROR})
    def post(self, request, number):
        selectors.order_get(client=request.user, number=number, detail=False)
        services.order_cancel(number=number, actor=request.user, reason=str(_("Cancelled by the customer")))
        return Response(order_render(selectors.order_get(client=request.user, number=number)))


class ReturnListCreateApi(APIView):
    @extend_schema(operation_id="returns_list", responses={200: ReturnOutput(many=True), 404: ERROR})
    def get(self, request, number):
        order = selectors.order_get(client=request.user, number=number, detail=False)
        return Response(ReturnOutput(order.returns.prefetch_related("lines"), many=True).data)

    @extend_schema(
        operation_id="returns_request",
        request=ReturnInput,
        responses={201: ReturnOutput, 400: ERROR, 404: ERROR, 409: ERROR},
    )
    def post(self, request, number):
        order = selectors.order_get(client=request.user, number=number, detail=False)
        payload = ReturnInput(data=request.data)
        payload.is_valid(raise_exception=True)
        ret = returns.return_request(order=order, actor=request.user, **payload.validated_data)
        return Response(ReturnOutput(ret).data, status=201)


class ReturnCancelApi(APIView):
    @extend_schema(operation_id="returns_cancel", request=None, responses={200: ReturnOutput, 404: ERROR, 409: ERROR})
    def post(self, request, number, return_number):
        order = selectors.order_get(client=request.user, number=number, detail=False)
        try:
            ret = returns.return_cancel(order=order, number=return_number, actor=request.user)
        except Return.DoesNotExist as exc:
            raise Http404 from exc
        return Response(ReturnOutput(ret).data)
