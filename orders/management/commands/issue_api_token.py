"""Issue a storefront API token; the key alone is printed on the last line."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from rest_framework.authtoken.models import Token


class Command(BaseCommand):
    help = "Create (or rotate) the API token of storefront NAME and print the key on the last line."

    def add_arguments(self, parser):
        parser.add_argument("name", help="storefront name, e.g. 'web-shop'")

    def handle(self, *args, name: str, **options):
        user, created = get_user_model().objects.get_or_create(username=f"api:{name}"[:150])
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
        Token.objects.filter(user=user).delete()
        token = Token.objects.create(user=user)
        self.stderr.write(f"API token for storefront '{name}' ({'new' if created else 'rotated'}):")
        self.stdout.write(token.key)
