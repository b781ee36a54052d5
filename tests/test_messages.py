"""R17.18: messages that say what is true and what to do."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from secrets_app.access.models import ApiToken
from secrets_app.models import Secret
from secrets_app.services.secrets import create_secret

pytestmark = pytest.mark.django_db

CSRF_MESSAGE = "Your form expired or cookies are blocked: reload the page and try again."
HTMX = {"HTTP_HX_REQUEST": "true"}


class TestCreateApiTokenExpiry:
    @pytest.mark.parametrize("days", ["-5", "3651"])
    def test_r17_18a_out_of_range_names_zero_as_never(self, admin_user, days):
        with pytest.raises(CommandError) as refused:
            call_command("create_api_token", admin_user.username, "--expires-days", days)

        assert str(refused.value) == (
            "--expires-days must be 1-3650, or 0 for a token that never expires.")
        assert not ApiToken.objects.exists()

    def test_r17_18a_zero_still_means_never(self, admin_user, capsys):
        call_command("create_api_token", admin_user.username, "--expires-days", "0")

        assert ApiToken.objects.get().expires_at is None


class TestResolveCredentialSources:
    def test_r17_18b_names_only_configured_sources(self, settings):
        settings.SECRETS_CONFIG_FILE = ""
        settings.SECRETS_AWS_REGION = ""
        with pytest.raises(CommandError) as refused:
            call_command("resolve_credential", "SURELY_NOT_SET_ANYWHERE")

        message = str(refused.value)
        assert "not found in any configured source (database, environment)." in message
        assert "config_file" not in message.split("(")[1].split(")")[0]
        assert "aws" not in message.split("(")[1].split(")")[0]
        assert "set SECRETS_CONFIG_FILE" in message and "set SECRETS_AWS_REGION" in message

    def test_r17_18b_configured_sources_are_named_and_not_suggested(self, settings, tmp_path):
        config = tmp_path / "io_config.yaml"
        config.write_text("default:\n  OTHER_KEY: x\n")
        settings.SECRETS_CONFIG_FILE = str(config)
        settings.SECRETS_AWS_REGION = ""
        with pytest.raises(CommandError) as refused:
            call_command("resolve_credential", "SURELY_NOT_SET_ANYWHERE")

        message = str(refused.value)
        assert "(database, environment, config_file)." in message
        assert "SECRETS_CONFIG_FILE" not in message
        assert "set SECRETS_AWS_REGION to also ask AWS Secrets Manager" in message

    def test_r17_18b_help_says_when_each_source_is_asked(self, capsys):
        with pytest.raises(SystemExit):
            call_command("resolve_credential", "--help")
        assert "when SECRETS_AWS_REGION is set" in capsys.readouterr().out.replace("\n", " ")


@pytest.fixture
def strict(admin_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    return client


class TestCsrfRefusal:
    def test_r17_18c_console_post_without_token_says_reload(self, strict, admin_user):
        response = strict.post(reverse("secrets:create"),
                               {"name": "n", "key": "API_KEY", "value": "v"})

        assert response.status_code == 403
        html = response.content.decode()
        assert CSRF_MESSAGE in html
        assert "Admin privileges required" not in html
        assert 'class="dock"' in html  # the console's own page
        assert not Secret.objects.exists()

    def test_r17_18c_htmx_post_without_token_tells_the_toast(self, strict, admin_user):
        secret = create_secret(admin_user, name="n", key="API_KEY", value="v")
        response = strict.post(reverse("secrets:decrypt", kwargs={"pk": secret.pk}), **HTMX)

        assert response.status_code == 403
        assert response["X-Error-Message"] == CSRF_MESSAGE

    def test_r17_18c_api_session_post_without_token_is_json(self, admin_user):
        client = APIClient(enforce_csrf_checks=True)
        client.force_login(admin_user)
        response = client.post("/api/v1/secrets/", {"name": "n", "key": "API_KEY",
                                                    "value": "v"}, format="json")

        assert response.status_code == 403
        assert response.json() == {"detail": CSRF_MESSAGE}

    def test_r17_18c_a_missing_privilege_still_says_so(self, member_client):
        response = member_client.get(reverse("audit:log"), **HTMX)

        assert response.status_code == 403
        assert "Admin privileges required" in response.content.decode()
        assert response["X-Error-Message"] == "Admin privileges required"

    def test_r17_18c_the_403_page_shows_the_refusal_reason(self, rf, admin_user):
        from django.core.exceptions import PermissionDenied

        from kozmo_secrets.errors import permission_denied

        request = rf.get("/somewhere/")
        request.user = admin_user
        response = permission_denied(request, PermissionDenied("This token is read-only"))

        assert response.status_code == 403
        assert "This token is read-only" in response.content.decode()
        assert "Admin privileges required" not in response.content.decode()

    def test_r17_18c_the_toast_reads_the_server_reason(self):
        from pathlib import Path

        script = (Path(__file__).resolve().parents[1] / "static/js/app.js").read_text()
        assert 'getResponseHeader("X-Error-Message")' in script
        assert 'status === 403 ? "Admin privileges required."' not in script


def test_r17_18b_catalog_names_only_configured_sources(admin_client, settings, tmp_path):
    config = tmp_path / "io_config.yaml"
    config.write_text("default:\n  OTHER_KEY: x\n")
    settings.SECRETS_CONFIG_FILE = str(config)
    settings.SECRETS_AWS_REGION = ""

    response = admin_client.get(reverse("catalog"))

    assert response.status_code == 200
    assert "(asked in order: database → environment → config_file)" in response.content.decode()
