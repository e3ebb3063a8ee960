"""Demo data for `make run` (after demo_payments): the paid demo orders go to the warehouse; one is picked,
packed and shipped with the sandbox carrier, another delivered through `sandbox_fulfil` (and a return
requested for it)."""

import io

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand

from fulfillment.models import Shipment, ShipmentStatus
from fulfillment.services import shipment_pack, shipment_ship, shipment_start_picking
from fulfillment.tasks import start_fulfillment
from orders.models import Order, OrderStatus
from orders.returns import return_request


class Command(BaseCommand):
    help = "Send the paid demo orders to the warehouse and ship one (never use in production)."

    def handle(self, *args, **options):
        warehouse = get_user_model().objects.get(username="warehouse")
        for number in Order.objects.filter(status=OrderStatus.CONFIRMED, note__startswith="demo:").values_list(
            "number", flat=True
        ):
            start_fulfillment(number)  # what the worker does on `order.paid`; safe to run twice
        for shipment in Shipment.objects.filter(order__note="demo:ship", status=ShipmentStatus.PENDING):
            shipment_start_picking(shipment_id=shipment.pk, actor=warehouse)
            shipment_pack(shipment_id=shipment.pk, actor=warehouse)
            shipment_ship(shipment_id=shipment.pk, carrier="sandbox", actor=warehouse)
        for number in Order.objects.filter(note="demo:deliver", status=OrderStatus.PROCESSING).values_list(
            "number", flat=True
        ):
            call_command("sandbox_fulfil", number, "--until", "delivered", stdout=io.StringIO())
            order = Order.objects.get(number=number)
            if not order.returns.exists():  # after-sales: the customer wants to send one item back
                first = order.items.first()
                return_request(
                    order=order,
                    items=[{"sku": first.sku, "quantity": 1}],
                    reason="damaged",
                    note="The lid arrived cracked.",
                    actor="api:demo-storefront",
                )
        self.stdout.write(f"Demo shipments: {Shipment.objects.count()}\n")
