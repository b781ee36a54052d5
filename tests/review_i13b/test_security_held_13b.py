"""What held in the second pass (these pass): the AWS listing keeps to the profile's own names
(`production-eu` is not `production`, other cases are not this name), no fallback through
AWS for a caller who may not read `default`, withheld names in any case, and env_var
templates with padded names."""

import pytest
from rest_framework.test import APIClient

from secrets_app.access.service_tokens import create_service_token
from secrets_app.child_env import withheld

pytestmark = pytest.mark.django_db
URL = "/api/v1/credentials/"


def test_held_a_longer_profile_and_other_cases_never_answer_for_production(aws, admin_api):
    aws.create_secret(Name="kozmo/production-eu/APP_TOKEN", SecretString="EU")
    aws.create_secret(Name="kozmo/production-eu", SecretString='{"APP_BUNDLED": "EU"}')
    aws.create_secret(Name="KOZMO/PRODUCTION/APP_TOKEN", SecretString="UPPER")
    aws.create_secret(Name="kozmo/Production/APP_TOKEN", SecretString="MIXED")
    response = admin_api.get(URL, {"profile": "production", "keys": "APP_TOKEN,APP_BUNDLED"})
    assert response.status_code == 200
    assert response.json()["credentials"] == {}


def test_held_no_fallback_through_aws_for_a_production_token(aws, admin_user):
    aws.create_secret(Name="kozmo/default/APP_TOKEN", SecretString="DEFAULT-AWS")
    _, key = create_service_token(admin_user, name="etl", profiles=["production"])
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    response = api.get(URL, {"profile": "production", "keys": "APP_TOKEN"})
    assert response.status_code == 200
    assert response.json()["missing"] == ["APP_TOKEN"]
    assert response.json()["fallback"] is False


@pytest.mark.parametrize("name", ["https_proxy", "Https_Proxy", "django_secret_key",
                                  "Database_Url", "aws_secret_access_key"])
def test_held_withheld_ignores_case(name, settings):
    settings.SECRETS_AWS_REGION = "eu-west-1"
    assert withheld(name)
