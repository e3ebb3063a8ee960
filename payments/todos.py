from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from core.dashboard import FINANCE, ToDo
from orders.models import Return, ReturnStatus

from .models import Refund
from .selectors import late_payments, payments_needing_attention, received_today


def _url(name: str, query: str = ""):
    return lambda: reverse(name) + query


TODOS = [
    ToDo(
        FINANCE,
        _("Payments needing attention"),
        lambda: payments_needing_attention().count(),
        _url("admin:payments_paymentattention_changelist"),
    ),
    ToDo(
        FINANCE,
        _("Late payments"),
        lambda: late_payments().count(),
        _url("admin:payments_paymentattention_changelist", "?late=yes"),
    ),
    ToDo(
        FINANCE,
        _("Refunds pending at the gateway"),
        lambda: Refund.objects.filter(status="pending").count(),
        _url("admin:payments_refund_changelist", "?status__exact=pending"),
    ),
    ToDo(
        FINANCE,
        _("Returns to refund"),
        lambda: Return.objects.filter(status=ReturnStatus.RECEIVED).count(),
        _url("admin:orders_return_changelist", "?status__exact=received"),
    ),
    ToDo(
        FINANCE,
        _("Received today, by gateway"),
        received_today,
        _url("admin:payments_payment_changelist", "?status__exact=paid"),
        urgent=False,
    ),
]
