from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from config.ops import healthz, metrics, order_health

admin.site.site_header = _("Shop back office")
admin.site.site_title = _("Shop back office")
admin.site.index_title = _("Orders, stock and payments")
admin.site.site_url = "/api/docs/"  # "View site": the storefront API's documentation

# Each app's storefront, gateway and carrier endpoints, under one versioned prefix.
api_v1 = [
    path("", include(f"{app}.urls")) for app in ("inventory", "orders", "payments", "fulfillment", "notifications")
]

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("metrics", metrics, name="metrics"),
    path("admin/order-health/", admin.site.admin_view(order_health), name="order-health"),
    path("admin/", admin.site.urls),
    path("t/", include("orders.tracking_urls")),  # the public tracking page (a signed token, no login)
    path("api/schema/", SpectacularAPIView.as_view(permission_classes=[]), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema", permission_classes=[]), name="swagger-ui"),
    path("api/v1/", include((api_v1, "api"), namespace="v1")),
]

handler400 = "config.api.handler400"
handler403 = "config.api.handler403"
handler404 = "config.api.handler404"
handler500 = "config.api.handler500"
