"""Fuzzing (issue 7): schemathesis generates requests for every operation of /api/schema/
and sends them, with an admin token, through the WSGI app: no 5xx, and every answer matches
the schema it is documented with. Bounded examples per operation."""

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import checks

from kozmo_secrets.wsgi import application

schema = schemathesis.openapi.from_wsgi("/api/schema/", application)


@pytest.fixture
def keep_the_test_connection():
    """The WSGI app closes database connections at the end of each request; Django's test
    client switches that off, and so does this (the test's transaction must survive)."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def admin_token(admin_user, settings, keep_the_test_connection):
    # Schemathesis also sends wrong passwords on purpose; it checks they get 401, which the
    # sign-in throttle would turn into 429 after five (tested in test_login_throttle.py).
    settings.SECRETS_LOGIN_RATE_PER_USER = settings.SECRETS_LOGIN_RATE_PER_IP = "100000/m"
    from secrets_app.access.tokens import create_token
    from secrets_app.services.secrets import create_secret

    create_secret(admin_user, name="fuzz-target", key="API_TOKEN", value="fuzz")
    return create_token(admin_user, "fuzz", None)[1]


@pytest.mark.django_db
@schema.parametrize()
@settings(max_examples=12, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_api_never_fails_and_keeps_its_schema(case, admin_token):
    # Every check but the two that judge the business rules against the schema alone: a
    # duplicate name is a valid JSON body rightly refused (400), and unknown query
    # parameters are ignored, as DRF does.
    case.call_and_validate(
        headers={"Authorization": f"Token {admin_token}"},
        excluded_checks=[checks.positive_data_acceptance, checks.negative_data_rejection],
    )
