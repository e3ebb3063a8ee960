"""Take a paid order through the warehouse as staff would, for storefront developers and the demo: pick,
pack and ship with the sandbox carrier's electronic waybill (every step logged with the actor `sandbox`),
and with `--until delivered` deliver it through signed sandbox carrier pushes. The order body (as the API
shows it) is the last line of output."""

import json
from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

from core.errors import ApplicationError
from fulfillment.carriers import get_carrier
from fulfillment.carriers.sandbox import SANDBOX_SCRIPT
from fulfillment.models import ShipmentStatus
from fulfillment.services import shipment_pack, shipment_ship, shipment_start_picking, tracking_apply_push
from fulfillment.tasks import start_fulfillment
from orders.models import Order, OrderStatus
from orders.selectors import order_detail_queryset
from orders.serializers import order_render

ACTOR = "sandbox"
PAID = [OrderStatus.CONFIRMED, OrderStatus.PROCESSING, OrderStatus.SHIPPED, OrderStatus.DELIVERED]


class Command(BaseCommand):
    help = "Fulfil a paid order in the sandbox: pick, pack, ship (and deliver); prints the order as JSON."

    def add_arguments(self, parser):
        parser.add_argument("number")
        parser.add_argument("--until", choices=["shipped", "delivered"], default="shipped")

    def handle(self, *args, number, until, **options):
        if not settings.PAYMENTS_SANDBOX:
            raise CommandError("sandbox_fulfil runs only with PAYMENTS_SANDBOX=true")
        order = Order.objects.filter(number=number).first()
        if order is None:
            raise CommandError(f"no order {number}")
        if order.status not in PAID:
            raise CommandError(f"order {number} is {order.status}: only a paid order can be fulfilled")
        try:
            start_fulfillment(number)  # what the worker does when the order is paid; safe to run twice
            for shipment in order.shipments.exclude(status=ShipmentStatus.CANCELLED).order_by("pk"):
                if shipment.status == ShipmentStatus.PENDING:
                    shipment = shipment_start_picking(shipment_id=shipment.pk, actor=ACTOR)
                if shipment.status == ShipmentStatus.PICKING:
                    shipment = shipment_pack(shipment_id=shipment.pk, actor=ACTOR)
                if shipment.status == ShipmentStatus.PACKED:
                    shipment = shipment_ship(shipment_id=shipment.pk, carrier="sandbox", actor=ACTOR)
                if until == "delivered" and shipment.carrier == "sandbox":
                    self._deliver(shipment)
        except ApplicationError as exc:
            raise CommandError(f"{exc.code}: {exc.detail}") from exc
        body = order_render(order_detail_queryset().get(number=number))
        self.stdout.write(json.dumps(body, cls=DjangoJSONEncoder, ensure_ascii=False))

    def _deliver(self, shipment):
        """The sandbox carrier's whole script, pushed and verified exactly as a real push is."""
        shipped = shipment.shipped_at or timezone.now()
        start = min(shipped, timezone.now() - timedelta(hours=SANDBOX_SCRIPT[-1][0]))
        events = [
            {
                "id": f"{shipment.tracking_number}-{i}",
                "time": (start + timedelta(hours=hours)).isoformat(),
                "status": status,
                "location": location,
                "description": description,
            }
            for i, (hours, status, location, description) in enumerate(SANDBOX_SCRIPT)
        ]
        headers, body = get_carrier("sandbox").sign_push(tracking_number=shipment.tracking_number, events=events)
        tracking_apply_push(carrier="sandbox", headers=headers, body=body.encode())
