"""schemathesis against the live schema (/api/schema/) over real HTTP: every storefront operation, with a
bounded number of generated requests each, valid and not. 0 server errors, 0 answers that break the schema."""

import contextlib
import os

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.conftest import storefront_key
from tests.factories import ProductFactory, UserFactory, WarehouseFactory, stock

EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "30"))
STOREFRONT = {
    ("GET", "/api/v1/products/"),
    ("GET", "/api/v1/products/{sku}/"),
    ("GET", "/api/v1/orders/"),
    ("POST", "/api/v1/orders/"),
    ("GET", "/api/v1/orders/{number}/"),
    ("POST", "/api/v1/orders/{number}/cancel/"),
    ("POST", "/api/v1/orders/{number}/payments/"),
}


@pytest.fixture
def storefront(transactional_db, live_server):
    product = ProductFactory(sku="SKU-001", price="99.00", max_quantity_per_order=5)
    stock(product, WarehouseFactory(code="SH", priority=1), 10_000)
    return {"Authorization": f"Token {storefront_key(UserFactory(username='api:fuzz', is_staff=False))}"}


def fuzz(operation, base_url: str, auth: dict) -> list[str]:
    """Generated requests for one operation; the failures found (Hypothesis stops at the first and shrinks it)."""
    failures = []

    @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy())
    def run(case):
        headers = {**auth}
        if case.method == "POST" and operation.path == "/api/v1/orders/":
            headers.setdefault("Idempotency-Key", f"fuzz-{id(case)}")
        response = case.call(base_url=base_url, headers=headers)
        try:
            case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])
        except Exception as exc:
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}"[:2000])
            raise

    with contextlib.suppress(Exception):
        run()
    return failures


def test_no_server_error_and_no_schema_violation_on_any_storefront_operation(live_server, storefront):
    schema = schemathesis.openapi.from_url(f"{live_server.url}/api/schema/")
    operations = [result.ok() for result in schema.get_all_operations()]
    chosen = [op for op in operations if (op.method.upper(), op.path) in STOREFRONT]
    assert {(op.method.upper(), op.path) for op in chosen} == STOREFRONT
    failures = [failure for op in chosen for failure in fuzz(op, live_server.url, storefront)]
    assert not failures, "\n\n".join(failures[:5])
