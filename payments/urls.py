from django.urls import path

from .apis import PaymentCallbackApi, PaymentStartApi

urlpatterns = [
    path("orders/<str:number>/payments/", PaymentStartApi.as_view(), name="payment-start"),
    path("payments/callbacks/<str:gateway>/", PaymentCallbackApi.as_view(), name="payment-callback"),
]
