"""Catalogue API for storefronts."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.generics import ListAPIView, RetrieveAPIView

from .models import Product
from .selectors import products_with_available


class ProductOutput(serializers.ModelSerializer):
    available = serializers.IntegerField(read_only=True)

    class Meta:
        model = Product
        fields = ["sku", "name", "price", "currency", "is_active", "available", "max_quantity_per_order"]


def product_queryset():
    return products_with_available().order_by("sku")


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
