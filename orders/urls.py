from django.urls import path

from .apis import OrderCancelApi, OrderDetailApi, OrderListCreateApi, ReturnCancelApi, ReturnListCreateApi

urlpatterns = [
    path("orders/", OrderListCreateApi.as_view(), name="order-list"),
    path("orders/<str:number>/", OrderDetailApi.as_view(), name="order-detail"),
    path("orders/<str:number>/cancel/", OrderCancelApi.as_view(), name="order-cancel"),
    path("orders/<str:number>/returns/", ReturnListCreateApi.as_view(), name="return-list"),
    path("orders/<str:number>/returns/<str:return_number>/cancel/", ReturnCancelApi.as_view(), name="return-cancel"),
]
