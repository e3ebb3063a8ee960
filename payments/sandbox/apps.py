from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PaymentsSandboxConfig(AppConfig):
    """Installed only with PAYMENTS_SANDBOX (the default outside production): its ledger is not part of a
    live shop's schema."""

    name = "payments.sandbox"
    label = "payments_sandbox"
    verbose_name = _("Payment sandbox")
