"""OpenAPI (R8): every route under /api/ is described, with its error answers; docs offline."""

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse
from drf_spectacular.generators import SchemaGenerator

pytestmark = pytest.mark.django_db

NOT_OPERATIONS = {"/api/schema/", "/api/docs/"}


def api_routes(patterns=None, prefix=""):
    """Every URL pattern under /api/, from the URLconf itself, as OpenAPI-style paths."""
    for pattern in patterns if patterns is not None else get_resolver().url_patterns:
        text = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from api_routes(pattern.url_patterns, text)
        elif isinstance(pattern, URLPattern):
            path = "/" + text.replace("^", "").replace("$", "")
            path = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", path)
            path = path.replace("{pk}", "{id}")  # the schema names primary keys "id"
            path = path.replace("/?", "/").replace("\\.", ".")
            if path.startswith("/api/") and "<format>" not in path and "{format}" not in path:
                yield path


def test_R8_every_api_route_is_in_the_schema():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    routes = set(api_routes()) - NOT_OPERATIONS
    assert len(routes) >= 12
    documented = set(schema["paths"])
    assert routes - documented == set()


def test_R8_operations_declare_their_errors():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    decrypt = schema["paths"]["/api/v1/secrets/{id}/decrypt/"]["post"]
    assert {"200", "401", "403", "404", "429", "500"} <= set(decrypt["responses"])
    create = schema["paths"]["/api/v1/secrets/"]["post"]
    assert {"201", "400", "401", "403"} <= set(create["responses"])
    assert schema["components"]["securitySchemes"]["TokenAuth"]["in"] == "header"


def test_schema_and_swagger_ui_are_served_without_the_internet(client, admin_user):
    client.force_login(admin_user)
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"openapi: 3" in schema.content
    docs = client.get("/api/docs/").content.decode()
    assert "swagger-ui" in docs
    assert not re.search(r"(src|href)=\"https?://", docs)


def test_R8_the_api_routes_are_named_in_the_api_namespace(client):
    # The routes answer with and without the trailing slash (R8); reverse() writes the form
    # without it, as it did before the namespace.
    assert reverse("api:secret-list") == "/api/v1/secrets"
    assert resolve("/api/v1/secrets/").view_name == "api:secret-list"
    assert resolve("/api/v1/secrets").view_name == "api:secret-list"
    assert reverse("api:secret-decrypt", kwargs={"pk": "x"}) == "/api/v1/secrets/x/decrypt"
    assert reverse("api:audit-list") == "/api/v1/audit"
    assert reverse("api:token-detail", kwargs={"pk": 1}) == "/api/v1/tokens/1"
    assert (reverse("api:schema"), reverse("api:docs")) == ("/api/schema/", "/api/docs/")
    script = client.get("/api/docs/?script=").content.decode()  # Swagger UI finds the schema
    assert 'url: "/api/schema/"' in script
