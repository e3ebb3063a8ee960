from django.urls import path

from .apis import TrackingCallbackApi

urlpatterns = [
    path("shipping/callbacks/<str:carrier>/", TrackingCallbackApi.as_view(), name="shipping-callback"),
]
