from django.urls import path

from .apis import ProductDetailApi, ProductListApi

urlpatterns = [
    path("products/", ProductListApi.as_view(), name="product-list"),
    path("products/<str:sku>/", ProductDetailApi.as_view(), name="product-detail"),
]
