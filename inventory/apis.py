"""Catalogue API for storefronts."""

from django.db.models import IntegerField, OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.generics import ListAPIView, RetrieveAPIView

from .models import Product, StockItem


class ProductOutput(serializers.ModelSerializer):
    available = serializers.IntegerField(read_only=True)

    class Meta:
        model = Product
        fields = ["sku", "name", "price", "currency", "is_active", "available", "max_quantity_per_order"]


def product_queryset():
    """Products with `available` summed over active warehouses in one query."""
    available = (
        StockItem.objects.filter(product=OuterRef("pk"), warehouse__is_active=True)
        .values("product")
        .annotate(total=Sum("on_hand") - Sum("reserved"))
        .values("total")
    )
    return Product.objects.annotate(available=Coalesce(Subquery(available, output_field=IntegerField()), 0)).order_by(
        "sku"
    )


class ProductListApi(ListAPIView):
    serializer_class = ProductOutput

    def get_queryset(self):
        return product_queryset()

    @extend_schema(operation_id="products_list")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class ProductDetailApi(RetrieveAPIView):
    serializer_class = ProductOutput
    lookup_field = "sku"

    def get_queryset(self):
        return product_queryset()

    @extend_schema(operation_id="products_retrieve")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)
