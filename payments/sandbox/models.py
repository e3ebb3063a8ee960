from django.db import models
from django.utils.translation import gettext_lazy as _

from payments.models import Gateway


class SandboxTransaction(models.Model):
    """What a sandbox gateway knows about a payment, as the real gateway's API would."""

    gateway = models.CharField(_("gateway"), max_length=20, choices=Gateway.choices)
    reference = models.CharField(_("reference"), max_length=32)
    status = models.CharField(_("status"), max_length=20)
    gateway_txn_id = models.CharField(_("gateway transaction id"), max_length=128)
    order_id = models.CharField(_("gateway order id"), max_length=64, blank=True)
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3)
    refunded = models.DecimalField(_("refunded"), max_digits=12, decimal_places=2, default=0)
    refunds = models.JSONField(_("refunds"), default=dict, blank=True, help_text=_("Refund id → amount."))
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("sandbox transaction")
        verbose_name_plural = _("sandbox transactions")
        constraints = [
            models.UniqueConstraint(fields=["gateway", "reference"], name="sandboxtransaction_gateway_reference_uniq")
        ]

    def __str__(self):
        return f"{self.gateway}:{self.reference} {self.status}"
