"""Demo data for `make run`: an ERP endpoint that wants every event, before the demo orders are placed, so the
webhook screens have deliveries. Nothing listens at its address: its attempts show how failures look."""

from django.core.management.base import BaseCommand

from webhooks.models import WebhookEndpoint
from webhooks.services import webhook_endpoint_add

DEMO_URL = "http://127.0.0.1:9/erp/webhooks"  # the discard port: connection refused


class Command(BaseCommand):
    help = "Add the demo webhook endpoint (never use in production)."

    def handle(self, *args, **options):
        if not WebhookEndpoint.objects.exists():
            webhook_endpoint_add(url=DEMO_URL, description="ERP (demo: nothing listens here, so attempts fail)")
            self.stdout.write(f"Demo webhook endpoint: {DEMO_URL}\n")
