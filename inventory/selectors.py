import functools
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


_PRODUCT_FIELDS = [f.attname for f in Product._meta.concrete_fields]
_STOCK_FIELDS = [
    "stock_items__id",
    "stock_items__on_hand",
    "stock_items__reserved",
    "stock_items__warehouse__is_active",
    "stock_items__warehouse__priority",
    "stock_items__warehouse_id",
]


def availability_query(*, skus: list[str]) -> QuerySet:
    """The rows `availability_from_rows` reads: each product with each of its stock rows. Placement folds
    this query into its first statement (orders.selectors.placement_reads)."""
    return Product.objects.filter(sku__in=skus).order_by().values_list(*_PRODUCT_FIELDS, *_STOCK_FIELDS)


@functools.lru_cache(maxsize=64)
def availability_sql(n: int) -> str:
    """The SQL of `availability_query` for n SKUs, built once per process (building and compiling it cost more
    than running it, on every placement); its parameters are the SKUs, in order."""
    markers = [f"sku-{i}" for i in range(n)]
    sql, params = availability_query(skus=markers).query.sql_with_params()
    if list(params) != markers:
        raise RuntimeError("the availability query takes other parameters than the SKUs")
    return sql


def availability_from_rows(rows) -> tuple[dict[str, Product], dict[int, list[tuple[int, int]]]]:
    """Products by sku and their availability {product_id: [(stock_item_id, available)]} in warehouse
    priority order (rows with no product, from an outer join, are skipped)."""
    products: dict[str, Product] = {}
    stock: dict[int, list[tuple]] = defaultdict(list)
    n = len(_PRODUCT_FIELDS)
    sku = _PRODUCT_FIELDS.index("sku")
    for row in rows:
        if row[sku] is None:
            continue
        product = products.get(row[sku])
        if product is None:
            product = Product(**dict(zip(_PRODUCT_FIELDS, row[:n], strict=True)))
            product._state.adding = False
            products[product.sku] = product
        item_id, on_hand, reserved, warehouse_active, priority, warehouse_id = row[n:]
        if item_id is not None and warehouse_active:
            stock[product.pk].append((priority, warehouse_id, item_id, on_hand - reserved))
    available = {pk: [(item, free) for *_order, item, free in sorted(entries)] for pk, entries in stock.items()}
    return products, defaultdict(list, available)


def committed_stock_of(*, holder: str) -> list[dict]:
    """What a holder's committed reservations took, per stock row: warehouse, product, bin, quantity."""
    from .models import Reservation

    return list(
        Reservation.objects.filter(holder=holder, state=Reservation.State.COMMITTED)
        .values("stock_item__warehouse_id", "stock_item__product_id", "stock_item__location", "quantity")
        .order_by("stock_item__warehouse__priority", "stock_item__location")
    )
