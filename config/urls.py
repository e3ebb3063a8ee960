from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from config.ops import healthz, metrics
from fulfillment.apis import TrackingCallbackApi
from inventory.apis import ProductDetailApi, ProductListApi
from orders.apis import OrderCancelApi, OrderDetailApi, OrderListCreateApi
from payments.apis import PaymentCallbackApi, PaymentStartApi

admin.site.site_header = _("Shop back office")
admin.site.site_title = _("Shop back office")
admin.site.index_title = _("Orders, stock and payments")

api_v1 = [
    path("products/", ProductListApi.as_view(), name="product-list"),
    path("products/<str:sku>/", ProductDetailApi.as_view(), name="product-detail"),
    path("orders/", OrderListCreateApi.as_view(), name="order-list"),
    path("orders/<str:number>/", OrderDetailApi.as_view(), name="order-detail"),
    path("orders/<str:number>/cancel/", OrderCancelApi.as_view(), name="order-cancel"),
    path("orders/<str:number>/payments/", PaymentStartApi.as_view(), name="payment-start"),
    path("payments/callbacks/<str:gateway>/", PaymentCallbackApi.as_view(), name="payment-callback"),
    path("shipping/callbacks/<str:carrier>/", TrackingCallbackApi.as_view(), name="shipping-callback"),
]

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("metrics", metrics, name="metrics"),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(permission_classes=[]), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema", permission_classes=[]), name="swagger-ui"),
    path("api/v1/", include((api_v1, "api"), namespace="v1")),
]

handler400 = "config.api.handler400"
handler403 = "config.api.handler403"
handler404 = "config.api.handler404"
handler500 = "config.api.handler500"
