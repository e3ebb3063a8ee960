from django.urls import path

from .apis import DeviceRegisterApi, DeviceRemoveApi

urlpatterns = [
    path("customers/<str:customer_id>/devices/", DeviceRegisterApi.as_view(), name="device-register"),
    path("customers/<str:customer_id>/devices/<str:token>/", DeviceRemoveApi.as_view(), name="device-remove"),
]
