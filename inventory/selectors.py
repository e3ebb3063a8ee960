from collections import defaultdict

from django.db.models import IntegerField, OuterRef, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce

from .models import Product, StockItem


def products_with_available() -> QuerySet[Product]:
    """Products annotated with `available`: on hand less reserved in active warehouses, what can be sold now.
    The one place this number is computed for reading (the API and the admin show the same)."""
    per_product = (
        StockItem.objects.filter(product=OuterRef("pk"), warehouse__is_active=True)
        .values("product")
        .annotate(total=Sum("on_hand") - Sum("reserved"))
        .values("total")
    )
    return Product.objects.annotate(available=Coalesce(Subquery(per_product, output_field=IntegerField()), 0))


def products_with_availability(*, skus: list[str]) -> tuple[dict[str, Product], dict[int, list[tuple[int, int]]]]:
    """Products by sku and their availability {product_id: [(stock_item_id, available)]} in warehouse
    priority order, in one query (placement reads both for every order)."""
    fields = [f.attname for f in Product._meta.concrete_fields]
    stock = ["stock_items__id", "stock_items__on_hand", "stock_items__reserved", "stock_items__warehouse__is_active"]
    rows = (
        Product.objects.filter(sku__in=skus)
        .order_by("stock_items__warehouse__priority", "stock_items__warehouse_id")
        .values_list(*fields, *stock)
    )
    products: dict[str, Product] = {}
    available: dict[int, list[tuple[int, int]]] = defaultdict(list)
    n = len(fields)
    for row in rows:
        product = products.get(row[fields.index("sku")])
        if product is None:
            product = Product(**dict(zip(fields, row[:n], strict=True)))
            product._state.adding = False
            products[product.sku] = product
        item_id, on_hand, reserved, warehouse_active = row[n:]
        if item_id is not None and warehouse_active:
            available[product.pk].append((item_id, on_hand - reserved))
    return products, available


def committed_stock_of(*, holder: str) -> list[dict]:
    """What a holder's committed reservations took, per stock row: warehouse, product, bin, quantity."""
    from .models import Reservation

    return list(
        Reservation.objects.filter(holder=holder, state=Reservation.State.COMMITTED)
        .values("stock_item__warehouse_id", "stock_item__product_id", "stock_item__location", "quantity")
        .order_by("stock_item__warehouse__priority", "stock_item__location")
    )
