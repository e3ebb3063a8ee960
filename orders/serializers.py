"""Input and output shapes of the storefront API (the schema at /api/schema/). Serializers never save."""

import re
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .models import Order, ReturnReason
from .services import phone_e164
from .tracking import tracking_page_url

MONEY = re.compile(r"^[0-9]+\.[0-9]{2}\Z", re.ASCII)


@extend_schema_field({"type": "string", "pattern": "^[0-9]+\\.[0-9]{2}$", "example": "99.00"})
class MoneyField(serializers.DecimalField):
    """A JSON string with exactly two decimals, `"199.00"`: no numbers, exponents, signs, underscores or
    non-ASCII digits (Python's Decimal would take all of those)."""

    default_error_messages = {"invalid": _('Send money as a string with two decimals, such as "199.00".')}

    def __init__(self, **kwargs):
        kwargs.setdefault("max_digits", 12)
        kwargs.setdefault("decimal_places", 2)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str) or not MONEY.match(data):
            self.fail("invalid")
        return super().to_internal_value(data)


@extend_schema_field({"type": "integer", "minimum": 1, "maximum": 100_000})
class QuantityField(serializers.IntegerField):
    """A JSON integer: not a string ("2", "1_0"), a float (2.0) or a boolean."""

    default_error_messages = {"invalid": _("Send a whole number, such as 2.")}

    def to_internal_value(self, data):
        if type(data) is not int:
            self.fail("invalid")
        return super().to_internal_value(data)


class AddressInput(serializers.Serializer):
    street = serializers.CharField(max_length=255)
    city = serializers.CharField(max_length=100)
    province = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    postal_code = serializers.CharField(max_length=20)
    country = serializers.RegexField(
        r"^[A-Za-z]{2}$", error_messages={"invalid": _("Use a two-letter ISO 3166 country code.")}
    )

    def validate_country(self, value):
        return value.upper()


class CustomerInput(serializers.Serializer):
    id = serializers.CharField(max_length=64)
    name = serializers.CharField(max_length=200)
    email = serializers.EmailField(max_length=254)
    phone = serializers.CharField(max_length=40)
    address = AddressInput()

    def validate_email(self, value):
        return value.strip().lower()

    def validate(self, attrs):
        phone = phone_e164(attrs["phone"], region=attrs["address"]["country"])
        if phone is None:
            raise serializers.ValidationError({"phone": [_("Enter a valid phone number.")]})
        attrs["phone"] = phone
        return attrs


class ItemInput(serializers.Serializer):
    sku = serializers.CharField(max_length=64)
    quantity = QuantityField(min_value=1, max_value=100_000)
    unit_price = MoneyField(min_value=Decimal("0.00"))


class OrderPlaceInput(serializers.Serializer):
    customer = CustomerInput()
    items = serializers.ListField(child=ItemInput(), min_length=1, max_length=100)
    coupon_code = serializers.CharField(max_length=40, required=False, allow_blank=True, allow_null=True)
    shipping_method = serializers.ChoiceField(choices=["standard", "express"], default="standard")
    currency = serializers.RegexField(r"^[A-Za-z]{3}$", required=False)
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    allow_duplicate = serializers.BooleanField(default=False)
    language = serializers.ChoiceField(
        choices=["zh-hans", "en"],
        required=False,
        help_text="The language of the customer's messages (default from settings).",
    )

    def validate_items(self, items):
        skus = [i["sku"] for i in items]
        repeated = sorted({s for s in skus if skus.count(s) > 1})
        if repeated:
            raise serializers.ValidationError(_("Each sku may appear once: %(skus)s.") % {"skus": ", ".join(repeated)})
        return items

    def validate_coupon_code(self, value):
        return (value or "").strip().upper() or None

    def validate_currency(self, value):
        return value.upper()


# --- the placement body without DRF's field machinery (the hot path) ------------------------------------------
# OrderPlaceInput costs more than half a millisecond a placement. order_place_input reads a body that is
# plainly valid by the same rules, field for field, into the same dict; anything else — a doubt as much as an
# error — goes to OrderPlaceInput, which accepts what it accepts and words every refusal
# (tests/orders/test_place_input.py holds the two together on generated bodies).
_SURROGATE = re.compile("[\ud800-\udfff]")
_COUNTRY = re.compile(r"^[A-Za-z]{2}$")
_CURRENCY = re.compile(r"^[A-Za-z]{3}$")
_TWO_PLACES = Decimal("0.01")


class _Doubt(Exception):
    """Not plainly valid: OrderPlaceInput decides."""


def _plain_text(data: dict, name: str, max_length: int, *, blank: bool = False, default: str | None = None) -> str:
    """What DRF's CharField makes of a string: stripped, not blank unless allowed, within max_length, no NUL
    or surrogates."""
    if name not in data and default is not None:
        return default
    value = data.get(name)
    if type(value) is not str:
        raise _Doubt
    value = value.strip()
    if (not value and not blank) or len(value) > max_length or "\x00" in value or _SURROGATE.search(value):
        raise _Doubt
    return value


def _plain_item(data) -> dict:
    if type(data) is not dict:
        raise _Doubt
    quantity, price = data.get("quantity"), data.get("unit_price")
    if type(quantity) is not int or not 1 <= quantity <= 100_000:
        raise _Doubt
    if type(price) is not str or not MONEY.match(price) or len(price) > 13:  # ≤ 12 digits, as max_digits
        raise _Doubt
    price = Decimal(price).quantize(_TWO_PLACES)
    return {"sku": _plain_text(data, "sku", 64), "quantity": quantity, "unit_price": price}


def _plain_customer(data) -> dict:
    if type(data) is not dict or type(data.get("address")) is not dict:
        raise _Doubt
    address = data["address"]
    country = _plain_text(address, "country", 2)
    if not _COUNTRY.match(country):
        raise _Doubt
    email = _plain_text(data, "email", 254)
    try:
        validate_email(email)
    except ValidationError:
        raise _Doubt from None
    phone = phone_e164(_plain_text(data, "phone", 40), region=country.upper())
    if phone is None:
        raise _Doubt
    return {
        "id": _plain_text(data, "id", 64),
        "name": _plain_text(data, "name", 200),
        "email": email.strip().lower(),
        "phone": phone,
        "address": {
            "street": _plain_text(address, "street", 255),
            "city": _plain_text(address, "city", 100),
            "province": _plain_text(address, "province", 100, blank=True, default=""),
            "postal_code": _plain_text(address, "postal_code", 20),
            "country": country.upper(),
        },
    }


def _order_place_plain(data) -> dict:
    if type(data) is not dict or type(data.get("items")) is not list or not 1 <= len(data["items"]) <= 100:
        raise _Doubt
    items = [_plain_item(item) for item in data["items"]]
    if len({item["sku"] for item in items}) != len(items):
        raise _Doubt
    out = {"customer": _plain_customer(data.get("customer")), "items": items}
    if "coupon_code" in data:
        coupon = None if data["coupon_code"] is None else _plain_text(data, "coupon_code", 40, blank=True)
        out["coupon_code"] = coupon.upper() if coupon else None
    shipping = data.get("shipping_method", "standard")
    if shipping not in ("standard", "express") or type(shipping) is not str:
        raise _Doubt
    out["shipping_method"] = shipping
    if "currency" in data:
        currency = _plain_text(data, "currency", 3)
        if not _CURRENCY.match(currency):
            raise _Doubt
        out["currency"] = currency.upper()
    out["note"] = _plain_text(data, "note", 500, blank=True, default="")
    allow_duplicate = data.get("allow_duplicate", False)
    if type(allow_duplicate) is not bool:
        raise _Doubt
    out["allow_duplicate"] = allow_duplicate
    if "language" in data:
        if data["language"] not in ("zh-hans", "en") or type(data["language"]) is not str:
            raise _Doubt
        out["language"] = data["language"]
    return out


def order_place_input(data) -> dict:
    """The placement body, validated: read plainly when it is plainly valid, else by OrderPlaceInput (which
    raises the contract's validation error)."""
    try:
        return _order_place_plain(data)
    except _Doubt:
        payload = OrderPlaceInput(data=data)
        payload.is_valid(raise_exception=True)
        return payload.validated_data


class OrderItemOutput(serializers.Serializer):
    sku = serializers.CharField()
    name = serializers.CharField()
    quantity = serializers.IntegerField()
    unit_price = MoneyField()
    total_price = MoneyField()


class AddressOutput(serializers.Serializer):
    street = serializers.CharField()
    city = serializers.CharField()
    province = serializers.CharField()
    postal_code = serializers.CharField()
    country = serializers.CharField()


class CustomerOutput(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    email = serializers.EmailField()
    phone = serializers.CharField()
    address = AddressOutput()


class PricingOutput(serializers.Serializer):
    subtotal = MoneyField()
    shipping = MoneyField()
    tax = MoneyField()
    discount = MoneyField()
    total = MoneyField()


class OrderPaymentOutput(serializers.Serializer):
    id = serializers.IntegerField()
    gateway = serializers.CharField()
    reference = serializers.CharField()
    amount = MoneyField()
    currency = serializers.CharField()
    status = serializers.CharField()
    refunded_amount = MoneyField()
    paid_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()


class TrackingEventOutput(serializers.Serializer):
    time = serializers.DateTimeField()
    status = serializers.CharField()
    location = serializers.CharField()
    description = serializers.CharField()


class ShipmentOutput(serializers.Serializer):
    id = serializers.IntegerField()
    warehouse = serializers.CharField()
    carrier = serializers.CharField(allow_null=True)
    tracking_number = serializers.CharField(allow_null=True)
    tracking_url = serializers.CharField(allow_null=True)
    status = serializers.CharField()
    shipped_at = serializers.DateTimeField(allow_null=True)
    delivered_at = serializers.DateTimeField(allow_null=True)
    events = TrackingEventOutput(many=True)


class ReturnLineInput(serializers.Serializer):
    sku = serializers.CharField(max_length=64)
    quantity = QuantityField(min_value=1, max_value=100_000)


class ReturnInput(serializers.Serializer):
    items = ReturnLineInput(many=True, min_length=1, max_length=100)
    reason = serializers.ChoiceField(choices=ReturnReason.choices)
    note = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="")


class ReturnLineOutput(serializers.Serializer):
    sku = serializers.CharField()
    quantity = serializers.IntegerField()
    refund_amount = serializers.DecimalField(max_digits=12, decimal_places=2, coerce_to_string=True)


class ReturnOutput(serializers.Serializer):
    number = serializers.CharField()
    status = serializers.CharField()
    reason = serializers.CharField()
    note = serializers.CharField()
    items = ReturnLineOutput(many=True, source="lines.all")
    refund_amount = serializers.DecimalField(max_digits=12, decimal_places=2, coerce_to_string=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class OrderOutput(serializers.Serializer):
    """The order as the API shows it: the schema's declaration, and the reference `order_render` is tested
    against. The views render with `order_render`, which builds the same JSON without DRF's field machinery
    (a placement spent ~1 ms of its Python here)."""

    number = serializers.CharField()
    status = serializers.CharField()
    payment_status = serializers.CharField()
    shipping_status = serializers.CharField()
    customer = serializers.SerializerMethodField()
    items = serializers.SerializerMethodField()
    pricing = serializers.SerializerMethodField()
    currency = serializers.CharField()
    coupon_code = serializers.SerializerMethodField()
    shipping_method = serializers.CharField()
    note = serializers.CharField()
    reservation_expires_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    warnings = serializers.SerializerMethodField()
    payments = serializers.SerializerMethodField()
    shipments = serializers.SerializerMethodField()
    returns = ReturnOutput(many=True, source="returns.all")
    tracking_page_url = serializers.SerializerMethodField()

    @extend_schema_field(serializers.URLField())
    def get_tracking_page_url(self, order: Order) -> str:
        return tracking_page_url(order)

    @extend_schema_field(CustomerOutput)
    def get_customer(self, order: Order) -> dict:
        return _customer(order)

    @extend_schema_field(OrderItemOutput(many=True))
    def get_items(self, order: Order) -> list[dict]:
        return OrderItemOutput(order.items.all(), many=True).data

    @extend_schema_field(PricingOutput)
    def get_pricing(self, order: Order) -> dict[str, str]:
        return _pricing(order)

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_coupon_code(self, order: Order) -> str | None:
        return order.coupon.code if order.coupon_id else None

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_warnings(self, order: Order) -> list[str]:
        return ["held_for_review"] if order.is_held else []

    @extend_schema_field(OrderPaymentOutput(many=True))
    def get_payments(self, order: Order) -> list[dict]:
        return _payments(order)

    @extend_schema_field(ShipmentOutput(many=True))
    def get_shipments(self, order: Order) -> list[dict]:
        return _shipments(order)


def _customer(order: Order) -> dict:
    return {
        "id": order.customer_id,
        "name": order.customer_name,
        "email": order.customer_email,
        "phone": order.customer_phone,
        "address": {
            "street": order.street,
            "city": order.city,
            "province": order.province,
            "postal_code": order.postal_code,
            "country": order.country,
        },
    }


def _pricing(order: Order) -> dict[str, str]:
    return {f: f"{getattr(order, f):.2f}" for f in ("subtotal", "shipping", "tax", "discount", "total")}


def _payments(order: Order) -> list[dict]:
    return [
        {
            "id": p.id,
            "gateway": p.gateway,
            "reference": p.reference,
            "amount": f"{p.amount:.2f}",
            "currency": p.currency,
            "status": p.status,
            "refunded_amount": f"{p.refunded_amount:.2f}",
            "paid_at": p.paid_at.isoformat() if p.paid_at else None,
            "created_at": p.created_at.isoformat(),
        }
        for p in order.payments.all()
    ]


def _shipments(order: Order) -> list[dict]:
    return [
        {
            "id": s.id,
            "warehouse": s.warehouse.code,
            "carrier": s.carrier or None,
            "tracking_number": s.tracking_number or None,
            "tracking_url": s.tracking_url or None,
            "status": s.status,
            "shipped_at": s.shipped_at.isoformat() if s.shipped_at else None,
            "delivered_at": s.delivered_at.isoformat() if s.delivered_at else None,
            "events": [
                {
                    "time": e.occurred_at.isoformat(),
                    "status": e.status,
                    "location": e.location,
                    "description": e.description,
                }
                for e in s.events.all()
            ],
        }
        for s in order.shipments.all()
    ]


def _datetime(value):
    """As DRF's DateTimeField writes it: in the current time zone, ISO 8601, UTC as `Z`."""
    if not value:
        return None
    text = timezone.localtime(value).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def order_render(order: Order) -> dict:
    """`OrderOutput(order).data`, byte for byte, at a fraction of its cost (tests/orders/test_render.py)."""
    returns = order.returns.all()
    return {
        "number": order.number,
        "status": order.status,
        "payment_status": order.payment_status,
        "shipping_status": order.shipping_status,
        "customer": _customer(order),
        "items": [
            {
                "sku": i.sku,
                "name": i.name,
                "quantity": i.quantity,
                "unit_price": f"{i.unit_price:.2f}",
                "total_price": f"{i.total_price:.2f}",
            }
            for i in order.items.all()
        ],
        "pricing": _pricing(order),
        "currency": order.currency,
        "coupon_code": order.coupon.code if order.coupon_id else None,
        "shipping_method": order.shipping_method,
        "note": order.note,
        "reservation_expires_at": _datetime(order.reservation_expires_at),
        "created_at": _datetime(order.created_at),
        "updated_at": _datetime(order.updated_at),
        "warnings": ["held_for_review"] if order.is_held else [],
        "payments": _payments(order),
        "shipments": _shipments(order),
        # Returns are rare and not on a hot path: their serializer renders them.
        "returns": ReturnOutput(returns, many=True).data if returns else [],
        "tracking_page_url": tracking_page_url(order),
    }
