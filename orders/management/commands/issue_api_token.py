"""Issue a storefront API key; the key alone is printed on the last line (it is stored only hashed)."""

from django.core.management.base import BaseCommand

from orders.services import storefront_key_issue


class Command(BaseCommand):
    help = "Create (or rotate) the API key of storefront NAME and print the key on the last line."

    def add_arguments(self, parser):
        parser.add_argument("name", help="storefront name, e.g. 'web-shop'")

    def handle(self, *args, name: str, **options):
        api_key, key = storefront_key_issue(name=name)
        self.stderr.write(f"API key for storefront '{name}' (prefix {api_key.prefix}; earlier keys revoked):")
        self.stdout.write(key)
