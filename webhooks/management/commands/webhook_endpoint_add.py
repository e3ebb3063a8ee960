from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from webhooks.models import EventType
from webhooks.services import webhook_endpoint_add


class Command(BaseCommand):
    help = "Add an outgoing webhook endpoint; prints its signing secret (whsec_…) on the last line."

    def add_arguments(self, parser):
        parser.add_argument("url")
        parser.add_argument("--events", default="", help="comma-separated event types; none: all events")
        parser.add_argument("--description", default="")

    def handle(self, *args, url, events, description, **options):
        wanted = [e.strip() for e in events.split(",") if e.strip()]
        unknown = sorted(set(wanted) - set(EventType.values))
        if unknown:
            raise CommandError(f"unknown event types: {', '.join(unknown)} (known: {', '.join(EventType.values)})")
        try:
            endpoint = webhook_endpoint_add(url=url, events=wanted, description=description)
        except ValidationError as exc:
            raise CommandError("; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())) from exc
        self.stdout.write(f"endpoint {endpoint.pk}: {endpoint.url} ({', '.join(endpoint.events) or 'all events'})")
        self.stdout.write(endpoint.secret)
