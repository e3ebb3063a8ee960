import pytest
import yaml
from django.core.management import call_command
from drf_spectacular.validation import validate_schema


@pytest.mark.django_db
def test_openapi_schema_validates_and_lists_the_storefront_endpoints(tmp_path, client):
    path = tmp_path / "schema.yaml"
    call_command("spectacular", "--file", str(path), "--validate", "--fail-on-warn")
    schema = yaml.safe_load(path.read_text())
    validate_schema(schema)
    assert {
        "/api/v1/products/": {"get"},
        "/api/v1/products/{sku}/": {"get"},
        "/api/v1/orders/": {"get", "post"},
        "/api/v1/orders/{number}/": {"get"},
        "/api/v1/orders/{number}/cancel/": {"post"},
        "/api/v1/orders/{number}/payments/": {"post"},
        "/api/v1/payments/callbacks/{gateway}/": {"post"},
    }.items() <= {p: set(ops) - {"parameters"} for p, ops in schema["paths"].items()}.items()
    place = schema["paths"]["/api/v1/orders/"]["post"]
    assert any(p["name"] == "Idempotency-Key" and p["in"] == "header" for p in place["parameters"])
    assert set(place["responses"]) >= {"201", "400", "403", "409", "422", "429"}


@pytest.mark.django_db
def test_swagger_ui_is_served_without_a_cdn(client):
    page = client.get("/api/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "/static/drf_spectacular_sidecar/" in html and "cdn" not in html.lower()
    assert client.get("/api/schema/").status_code == 200
