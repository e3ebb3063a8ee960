from django.contrib import admin
from unfold.admin import ModelAdmin

from .models import SandboxTransaction


@admin.register(SandboxTransaction)
class SandboxTransactionAdmin(ModelAdmin):
    list_display = ["gateway", "reference", "status", "gateway_txn_id", "amount", "currency", "refunded", "updated_at"]
    list_filter = ["gateway", "status"]
    search_fields = ["=reference"]
