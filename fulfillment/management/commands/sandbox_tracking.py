"""Print the signed push the sandbox carrier would send for a tracking number."""

import hashlib
import json

from django.core.management.base import BaseCommand
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from fulfillment.carriers import get_carrier

DESCRIPTIONS = {
    "in_transit": "In transit",
    "out_for_delivery": "Out for delivery",
    "delivered": "Delivered, signed by the customer",
    "exception": "Delivery failed: address not found",
}


class Command(BaseCommand):
    help = "Sign a sandbox carrier tracking push; the JSON request is the last line of output."

    def add_arguments(self, parser):
        parser.add_argument("tracking_number")
        parser.add_argument("--status", required=True, choices=list(DESCRIPTIONS))
        parser.add_argument("--time", help="ISO 8601 time of the event (default: now)")
        parser.add_argument("--location", default="Shanghai")

    def handle(self, *args, tracking_number, status, time, location, **options):
        at = parse_datetime(time) if time else timezone.now()
        event_id = hashlib.sha256(f"{tracking_number}|{status}|{at.isoformat()}".encode()).hexdigest()[:20]
        headers, body = get_carrier("sandbox").sign_push(
            tracking_number=tracking_number,
            events=[
                {
                    "id": event_id,
                    "time": at.isoformat(),
                    "status": status,
                    "location": location,
                    "description": DESCRIPTIONS[status],
                }
            ],
        )
        self.stdout.write(
            json.dumps(
                {"method": "POST", "path": "/api/v1/shipping/callbacks/sandbox/", "headers": headers, "body": body},
                ensure_ascii=False,
            )
        )
