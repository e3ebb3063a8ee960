"""The storefront registers its customers' devices for push messages (scoped to that storefront)."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import ErrorOutput

from .models import Device


class DeviceInput(serializers.Serializer):
    platform = serializers.ChoiceField(choices=Device.Platform.choices)
    # FCM tokens are ~160 characters, JPush ids ~20, APNs 64; the bound keeps `platform:token` a recipient.
    token = serializers.RegexField(r"^[\x21-\x7e]{1,240}\Z", max_length=240)


class DeviceOutput(serializers.Serializer):
    platform = serializers.CharField()
    token = serializers.CharField()
    created_at = serializers.DateTimeField()


class DeviceRegisterApi(APIView):
    @extend_schema(
        operation_id="devices_register",
        request=DeviceInput,
        responses={200: DeviceOutput, 201: DeviceOutput, 400: ErrorOutput},
    )
    def post(self, request, customer_id):
        payload = DeviceInput(data=request.data)
        payload.is_valid(raise_exception=True)
        device, created = Device.objects.get_or_create(
            client=request.user, customer_id=customer_id[:64], **payload.validated_data
        )
        return Response(DeviceOutput(device).data, status=201 if created else 200)


class DeviceRemoveApi(APIView):
    @extend_schema(operation_id="devices_remove", request=None, responses={204: None, 404: ErrorOutput})
    def delete(self, request, customer_id, token):
        get_object_or_404(Device, client=request.user, customer_id=customer_id, token=token).delete()
        return Response(status=204)
