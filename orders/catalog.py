"""Catalogue import: validate the whole file first, then write; stock moves only through the ledger.

It lives in `orders` because the file bundles coupons and the block list (owned here) with the
warehouses, products and stock that `inventory` owns.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.db import transaction
from rest_framework import serializers

from inventory.models import Product, Warehouse
from inventory.services import stock_set_level

from .models import BlockedCustomer, Coupon


class CatalogError(Exception):
    pass


class WarehouseEntry(serializers.Serializer):
    code = serializers.CharField(max_length=20)
    name = serializers.CharField(max_length=120)
    priority = serializers.IntegerField(min_value=0, default=100)
    is_active = serializers.BooleanField(default=True)
    contact_name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    phone = serializers.CharField(max_length=20, required=False, allow_blank=True)
    province = serializers.CharField(max_length=100, required=False, allow_blank=True)
    city = serializers.CharField(max_length=100, required=False, allow_blank=True)
    street = serializers.CharField(max_length=255, required=False, allow_blank=True)


class StockEntry(serializers.Serializer):
    warehouse = serializers.CharField(max_length=20)
    on_hand = serializers.IntegerField(min_value=0)
    location = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    reorder_point = serializers.IntegerField(min_value=0, default=0)


class ProductEntry(serializers.Serializer):
    sku = serializers.CharField(max_length=64)
    name = serializers.CharField(max_length=200)
    price = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=0)
    currency = serializers.RegexField(r"^[A-Z]{3}$", default="CNY")
    is_active = serializers.BooleanField(default=True)
    status = serializers.ChoiceField(choices=Product.Status.choices, default=Product.Status.ACTIVE)
    max_quantity_per_order = serializers.IntegerField(min_value=1, default=10)
    weight_grams = serializers.IntegerField(min_value=0, default=0)
    fragile = serializers.BooleanField(default=False)
    stock = StockEntry(many=True, default=list)


class CouponEntry(serializers.Serializer):
    code = serializers.CharField(max_length=40)
    kind = serializers.ChoiceField(choices=["percent", "fixed"])
    value = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=0)
    min_subtotal = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=0, default="0.00")
    valid_from = serializers.DateTimeField(required=False, allow_null=True, default=None)
    valid_until = serializers.DateTimeField(required=False, allow_null=True, default=None)
    max_uses = serializers.IntegerField(min_value=0, required=False, allow_null=True, default=None)
    is_active = serializers.BooleanField(default=True)

    def validate(self, attrs):
        attrs["code"] = attrs["code"].strip().upper()
        if attrs["kind"] == "percent" and attrs["value"] > 100:
            raise serializers.ValidationError({"value": ["A percent coupon cannot exceed 100."]})
        return attrs


def _describe(errors: Any) -> str:
    if isinstance(errors, dict):
        return "; ".join(f"{k}: {_describe(v)}" for k, v in errors.items())
    if isinstance(errors, list):
        return "; ".join(_describe(e) for e in errors if e)
    return str(errors)


def _validate(section: str, entries: Any, serializer_class, label_key: str) -> list[dict]:
    if entries is None:
        return []
    if not isinstance(entries, list):
        raise CatalogError(f"'{section}' must be a list.")
    cleaned = []
    for index, entry in enumerate(entries):
        s = serializer_class(data=entry)
        if not s.is_valid():
            label = entry.get(label_key) if isinstance(entry, dict) else None
            raise CatalogError(f"{section}[{index}]{f' ({label})' if label else ''}: {_describe(s.errors)}")
        cleaned.append(s.validated_data)
    keys = Counter(e[label_key] for e in cleaned)
    repeated = [k for k, n in keys.items() if n > 1]
    if repeated:
        raise CatalogError(f"{section}: {label_key} repeated: {', '.join(repeated)}")
    return cleaned


def _upsert(model, lookup: dict, values: dict) -> str:
    """Create, update only what differs, or leave alone: re-running a file changes nothing."""
    obj = model.objects.filter(**lookup).first()
    if obj is None:
        model.objects.create(**lookup, **values)
        return "created"
    changed = [f for f, v in values.items() if getattr(obj, f) != v]
    if not changed:
        return "unchanged"
    for f in changed:
        setattr(obj, f, values[f])
    obj.save(update_fields=changed)
    return "updated"


def coupons_load(*, coupons: list[dict]) -> Counter:
    counts: Counter = Counter()
    for c in coupons:
        code = c.pop("code")
        coupon = Coupon.objects.filter(code=code).first()
        if coupon is None:
            Coupon.objects.create(code=code, **c)
            counts["coupons created"] += 1
            continue
        changed = [f for f, v in c.items() if getattr(coupon, f) != v]
        if changed:
            for f in changed:
                setattr(coupon, f, c[f])
            coupon.save(update_fields=changed)
            counts["coupons updated"] += 1
    return counts


def blocklist_load(*, identifiers: list[str]) -> Counter:
    counts: Counter = Counter()
    for raw in identifiers:
        value = raw.strip().lower() if "@" in raw else raw.strip()
        _obj, created = BlockedCustomer.objects.get_or_create(identifier=value, defaults={"reason": "catalogue"})
        counts["blocked created"] += created
    return counts


@transaction.atomic
def catalog_load(*, data: Any, actor: str, reference: str) -> str:
    if not isinstance(data, dict):
        raise CatalogError("The file must hold one JSON object.")
    unknown = set(data) - {"warehouses", "products", "coupons", "blocked_customers"}
    if unknown:
        raise CatalogError(f"Unknown sections: {', '.join(sorted(unknown))}")
    warehouses = _validate("warehouses", data.get("warehouses"), WarehouseEntry, "code")
    products = _validate("products", data.get("products"), ProductEntry, "sku")
    coupons = _validate("coupons", data.get("coupons"), CouponEntry, "code")
    blocked = data.get("blocked_customers") or []
    if not isinstance(blocked, list) or not all(isinstance(b, str) and b.strip() for b in blocked):
        raise CatalogError("'blocked_customers' must be a list of customer ids or e-mail addresses.")
    known = {w["code"] for w in warehouses} | set(Warehouse.objects.values_list("code", flat=True))
    for index, p in enumerate(products):
        for s in p["stock"]:
            if s["warehouse"] not in known:
                raise CatalogError(f"products[{index}] ({p['sku']}): unknown warehouse '{s['warehouse']}'")

    counts: Counter = Counter()
    for w in warehouses:
        counts["warehouses " + _upsert(Warehouse, {"code": w.pop("code")}, w)] += 1
    by_code = {w.code: w for w in Warehouse.objects.all()}
    moved = 0
    for p in products:
        stock = p.pop("stock")
        sku = p.pop("sku")
        counts["products " + _upsert(Product, {"sku": sku}, p)] += 1
        product = Product.objects.get(sku=sku)
        for s in stock:
            _item, did_move = stock_set_level(
                product=product,
                warehouse=by_code[s["warehouse"]],
                on_hand=s["on_hand"],
                actor=actor,
                reference=reference,
                location=s["location"],
                reorder_point=s["reorder_point"],
            )
            moved += did_move
    counts.update(coupons_load(coupons=coupons))
    counts.update(blocklist_load(identifiers=blocked))

    def part(name):
        return f"{name}: {counts[name + ' created']} created, {counts[name + ' updated']} updated"

    return (
        f"{part('warehouses')}; {part('products')}; stock movements: {moved}; {part('coupons')}; "
        f"blocked customers: {counts['blocked created']} added"
    )
