from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import new_refund_number


class MarkPaidForm(forms.Form):
    bank_reference = forms.CharField(label=_("Bank or gateway reference"), max_length=128)
    amount = forms.DecimalField(label=_("Amount received"), max_digits=12, decimal_places=2, min_value=Decimal("0.01"))
    reason = forms.CharField(
        label=_("Reason for a different amount"),
        max_length=200,
        required=False,
        help_text=_("Required when the amount differs from the order total."),
    )
    note = forms.CharField(label=_("Note"), max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, total: Decimal, **kwargs):
        super().__init__(*args, **kwargs)
        self.total = total

    def clean(self):
        data = super().clean()
        if data.get("amount") is not None and data["amount"] != self.total and not data.get("reason", "").strip():
            self.add_error(
                "reason",
                _("The amount differs from the order total (%(total)s): give the reason.") % {"total": self.total},
            )
        return data


class RefundForm(forms.Form):
    amount = forms.DecimalField(label=_("Amount to refund"), max_digits=12, decimal_places=2, min_value=Decimal("0.01"))
    reason = forms.CharField(label=_("Reason"), max_length=200)
    # Made when the form is shown: submitting the same form twice finds the first refund and sends nothing.
    number = forms.RegexField(r"^RF[0-9A-Z]{6,30}$", widget=forms.HiddenInput)

    def __init__(self, *args, remaining: Decimal, **kwargs):
        super().__init__(*args, **kwargs)
        self.remaining = remaining
        self.fields["number"].initial = new_refund_number()

    def clean_amount(self):
        amount = self.cleaned_data["amount"]
        if amount > self.remaining:
            raise forms.ValidationError(_("At most %(remaining)s can be refunded.") % {"remaining": self.remaining})
        return amount
