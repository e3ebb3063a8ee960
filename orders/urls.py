from django.urls import path

from .apis import OrderCancelApi, OrderDetailApi, OrderListCreateApi

urlpatterns = [
    path("orders/", OrderListCreateApi.as_view(), name="order-list"),
    path("orders/<str:number>/", OrderDetailApi.as_view(), name="order-detail"),
    path("orders/<str:number>/cancel/", OrderCancelApi.as_view(), name="order-cancel"),
]
