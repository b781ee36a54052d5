"""Outside security review of issue 13 (R20): attacks that HELD. These pass; they record what
was tried so a regression shows."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from audit_app.models import AuditAction, AuditLog
from secrets_app.access.grants import add_grant
from secrets_app.access.models import ServiceToken
from secrets_app.access.service_tokens import create_service_token
from secrets_app.access.tokens import create_token
from secrets_app.services.secrets import create_secret

pytestmark = pytest.mark.django_db

URL = "/api/v1/credentials/"


def bearer(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


@pytest.fixture
def canaries(admin_user, monkeypatch, settings, tmp_path):
    for name in ("DATABASE_URL", "REDIS_URL", "SECRETS_ENCRYPTION_KEY", "DJANGO_SECRET_KEY"):
        monkeypatch.setenv(name, f"ENV-CANARY-{name}")
    config = tmp_path / "io_config.yaml"
    config.write_text(
        "default:\n"
        "  FROM_ENCRYPTION_KEY: \"{{ env_var('SECRETS_ENCRYPTION_KEY') }}\"\n"
        "  FROM_DJANGO_KEY: \"{{ env_var('DJANGO_SECRET_KEY') }}\"\n"
        "  KOZMO_X: file-CANARY\n")
    settings.SECRETS_CONFIG_FILE = str(config)
    create_secret(admin_user, name="db url", key="DATABASE_URL", value="DB-CANARY")
    create_secret(admin_user, name="plain", key="API_KEY", value="api-value")
    create_secret(admin_user, name="prod", key="API_KEY", value="prod-value",
                  profile="production")


@pytest.mark.parametrize("query", [
    "keys=database_url", "keys=Database_Url", "keys=DATABASE%5FURL",
    "keys=%EF%BC%A4ATABASE_URL",            # fullwidth D
    "keys=DATABASE_URL%0A", "keys=DATABASE_URL%00", "keys=%E2%80%8BDATABASE_URL",
    "keys=API_KEY&keys=DATABASE_URL", "keys=API_KEY,,DATABASE_URL,",
    "keys=SECRETS_ENCRYPTION_KEY", "keys=KOZMO_X", "keys=REDIS_URL",
    "profile=default%00&keys=API_KEY", "profile=DEFAULT&keys=API_KEY",
    "profile=default,production&keys=API_KEY", "profile=..%2Fdefault&keys=API_KEY",
])
def test_held_hostile_key_and_profile_input_never_serves_server_configuration(
        admin_api, canaries, query):
    response = admin_api.get(f"{URL}?{query}")
    assert response.status_code == 400, (query, response.content)
    assert "CANARY" not in response.content.decode()


def test_held_every_key_answer_and_templates_leave_the_servers_keys_out(admin_api, canaries):
    everything = admin_api.get(URL)
    assert everything.status_code == 200
    assert "CANARY" not in everything.content.decode()
    templated = admin_api.get(URL, {"keys": "FROM_ENCRYPTION_KEY,FROM_DJANGO_KEY"})
    assert templated.status_code == 200
    assert templated.json()["missing"] == ["FROM_ENCRYPTION_KEY", "FROM_DJANGO_KEY"]


def test_held_repeated_profile_takes_one_value_and_scope_follows_it(
        django_user_model, admin_user, canaries):
    user = django_user_model.objects.create_user("pia", password="pia-password")
    add_grant(admin_user, user, "production", "reader")
    client = APIClient()
    client.force_authenticate(user)
    # Neither order reaches `default`'s API_KEY for a production-only reader.
    first = client.get(f"{URL}?profile=default&profile=production&keys=API_KEY")
    second = client.get(f"{URL}?profile=production&profile=default&keys=API_KEY")
    assert {first.status_code, second.status_code} == {200, 403}
    assert "api-value" not in first.content.decode() + second.content.decode()
    # An empty profile is `default`, which this reader may not read.
    assert client.get(f"{URL}?profile=&keys=API_KEY").status_code == 403


def test_held_session_basic_expired_revoked_and_wrong_network_get_nothing(
        admin_user, client, canaries):
    client.force_login(admin_user)
    assert client.get(URL, {"keys": "API_KEY"}).status_code == 401
    basic = APIClient()
    basic.credentials(HTTP_AUTHORIZATION="Basic cm9vdDpyb290LXBhc3N3b3Jk")
    assert basic.get(URL, {"keys": "API_KEY"}).status_code == 401
    token, key = create_token(admin_user, "old", expires_in_days=1)
    type(token).objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(1))
    assert bearer(key).get(URL, {"keys": "API_KEY"}).status_code == 401
    service, service_key = create_service_token(admin_user, name="etl", profiles=["default"])
    ServiceToken.objects.filter(pk=service.pk).update(revoked_at=timezone.now())
    assert bearer(service_key).get(URL, {"keys": "API_KEY"}).status_code == 401
    _, far_key = create_service_token(admin_user, name="far", profiles=["default"],
                                      allowed_networks=["10.9.0.0/16"])
    far = bearer(far_key).get(URL, {"keys": "API_KEY"}, HTTP_X_FORWARDED_FOR="10.9.0.1")
    assert far.status_code == 403
    assert "api-value" not in far.content.decode()


def test_held_key_patterns_and_case_tricks(admin_user, canaries):
    _, key = create_service_token(admin_user, name="pg", profiles=["default", "production"],
                                  keys=["API_*"])
    client = bearer(key)
    assert client.get(URL, {"keys": "API_KEY"}).status_code == 200
    for asked in ("APIX_KEY", "API_KEY,OTHER", "Api_KEY"):
        response = client.get(URL, {"keys": asked})
        assert response.status_code in (400, 403), asked
    everything = client.get(URL, {"profile": "production"})
    assert set(everything.json()["credentials"]) == {"API_KEY"}


def test_held_refusal_is_audited_and_names_the_keys(admin_user, canaries):
    _, key = create_service_token(admin_user, name="narrow", profiles=["production"],
                                  keys=["POSTGRES_*"])
    response = bearer(key).get(URL, {"profile": "production", "keys": "API_KEY,POSTGRES_X"})
    assert response.status_code == 403
    row = AuditLog.objects.order_by("-sequence").first()
    assert (row.action, row.allowed) == (AuditAction.DECRYPT, False)
    assert row.detail["keys"] == ["API_KEY"]


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_held_parallel_requests_spend_exactly_the_budget(admin_user, live_server, settings):
    """30 requests at once against a 5/m decrypt limit (PostgreSQL + Redis, threaded live
    server): exactly 5 are answered."""
    import concurrent.futures
    import urllib.error
    import urllib.request

    settings.SECRETS_DECRYPT_RATE = "5/m"
    create_secret(admin_user, name="plain", key="API_KEY", value="api-value")
    _, key = create_token(admin_user, "race")

    def one(_):
        request = urllib.request.Request(f"{live_server.url}{URL}?keys=API_KEY",
                                         headers={"Authorization": f"Bearer {key}"})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code

    with concurrent.futures.ThreadPoolExecutor(30) as pool:
        statuses = list(pool.map(one, range(30)))
    assert statuses.count(200) == 5, statuses
    assert statuses.count(429) == 25, statuses
