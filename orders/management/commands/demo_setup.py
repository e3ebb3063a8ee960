"""Demo data for `make run`: the demo catalogue, one staff user per group, a storefront token."""

import os
from pathlib import Path

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import BaseCommand

from orders.services import storefront_key_issue

DEMO_CATALOG = Path(__file__).resolve().parents[2] / "fixtures" / "demo_catalog.json"
STAFF = [
    ("admin", "admin-demo-pass", None),
    ("cs", "cs-demo-pass", "Customer service"),
    ("finance", "finance-demo-pass", "Finance"),
    ("warehouse", "warehouse-demo-pass", "Warehouse"),
]


class Command(BaseCommand):
    help = "Load demo data and print the demo logins (never use in production)."

    def handle(self, *args, **options):
        call_command("load_catalog", str(DEMO_CATALOG), stdout=self.stdout)
        User = get_user_model()
        lines = []
        for username, password, group in STAFF:
            user, _ = User.objects.get_or_create(username=username, defaults={"is_staff": True})
            user.is_staff = True
            user.is_superuser = group is None
            user.set_password(password)
            user.save()
            if group:
                user.groups.add(Group.objects.get(name=group))
            lines.append(f"  {username:<10} {password:<22} {group or 'superuser'}")
        _api_key, key = storefront_key_issue(name="demo-storefront")  # keys are kept hashed: a new one each run
        port = os.environ.get("PORT", "8000")
        self.stdout.write(f"\nDemo staff logins for http://127.0.0.1:{port}/admin/ :\n" + "\n".join(lines))
        self.stdout.write(f"Demo storefront API token: Authorization: Token {key}\n")
