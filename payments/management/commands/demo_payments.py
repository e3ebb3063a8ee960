"""Demo data for `make run` (after demo_setup): finance reconciles the demo orders marked to be paid, and
refunds part of one."""

from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from inventory.models import StockItem
from inventory.services import stock_adjust
from orders.models import Order, OrderStatus
from orders.services import order_cancel
from payments.models import Payment
from payments.services import payment_mark_paid_manually, payment_refund


class Command(BaseCommand):
    help = "Pay and refund the demo orders (never use in production)."

    def handle(self, *args, **options):
        finance = get_user_model().objects.get(username="finance")
        paid = 0
        for order in Order.objects.filter(
            status=OrderStatus.PENDING, note__in=["demo:ship", "demo:pick", "demo:refund", "demo:deliver"]
        ):
            payment_mark_paid_manually(
                order_number=order.number, bank_reference=f"ICBC-DEMO-{order.pk:04d}", amount=order.total, user=finance
            )
            paid += 1
        for order in Order.objects.filter(status=OrderStatus.PENDING, note="demo:backorder"):
            # Cancelled, the last gaiwans broken on the shelf, then the customer's transfer arrives anyway:
            # paid, and waiting in the back-order queue for the next delivery.
            order_cancel(number=order.number, actor="api:demo-storefront", reason="Cancelled by the customer")
            for item in StockItem.objects.filter(product__sku="GAIWAN-WHT"):
                stock_adjust(stock_item=item, delta=item.reserved - item.on_hand, actor="warehouse", reason="Broken")
            payment_mark_paid_manually(
                order_number=order.number, bank_reference=f"ICBC-DEMO-{order.pk:04d}", amount=order.total, user=finance
            )
        for payment in Payment.objects.filter(order__note="demo:refund", refunds__isnull=True):
            payment_refund(payment=payment, amount=Decimal("20.00"), user=finance, reason="Box arrived dented")
        self.stdout.write(f"Demo payments: {paid} orders reconciled by hand\n")
