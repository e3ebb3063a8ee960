"""Create or update warehouses, products, stock, coupons and the block list from a JSON file."""

import json
from decimal import Decimal
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from rest_framework import serializers

from orders.catalog import CatalogError, catalog_load


class Command(BaseCommand):
    help = "Load a catalogue JSON file (warehouses, products and their stock, coupons). Idempotent, all or nothing."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)

    def handle(self, *args, file: Path, **options):
        try:
            data = json.loads(file.read_text(encoding="utf-8"), parse_float=Decimal)
        except (OSError, ValueError) as exc:
            raise CommandError(f"{file}: cannot read JSON: {exc}") from exc
        try:
            with transaction.atomic():
                summary = catalog_load(data=data, actor="command:load_catalog", reference=file.name)
        except (CatalogError, serializers.ValidationError) as exc:
            raise CommandError(f"{file}: nothing was loaded. {exc}") from exc
        self.stdout.write(summary)
