from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from core.dashboard import CUSTOMER_SERVICE, WAREHOUSE, ToDo

from .models import Order, OrderStatus, Return, ReturnStatus, ReviewStatus, ShippingStatus


def _orders(query: str):
    return lambda: reverse("admin:orders_order_changelist") + query


TODOS = [
    ToDo(
        CUSTOMER_SERVICE,
        _("Orders held for review"),
        lambda: Order.objects.filter(review_status=ReviewStatus.HELD).count(),
        _orders("?review_status__exact=held"),
    ),
    ToDo(
        CUSTOMER_SERVICE,
        _("Orders with a delivery problem"),
        lambda: Order.objects.filter(shipping_status=ShippingStatus.EXCEPTION).count(),
        _orders("?shipping_status__exact=exception"),
    ),
    ToDo(
        CUSTOMER_SERVICE,
        _("Returns to decide"),
        lambda: Return.objects.filter(status=ReturnStatus.REQUESTED).count(),
        lambda: reverse("admin:orders_return_changelist") + "?status__exact=requested",
    ),
    ToDo(
        CUSTOMER_SERVICE,
        _("Returns on their way back"),
        lambda: Return.objects.filter(status=ReturnStatus.APPROVED).count(),
        lambda: reverse("admin:orders_return_changelist") + "?status__exact=approved",
    ),
    ToDo(
        WAREHOUSE,
        _("Back-orders waiting for stock"),
        lambda: Order.objects.filter(status=OrderStatus.PENDING_RESTOCK).count(),
        lambda: reverse("admin:orders_backorder_changelist"),
    ),
]
