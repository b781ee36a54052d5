"""Plaintext never reaches error pages or serialized dumps."""

import io
import uuid

import pytest
from django.core import serializers
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError
from django.test import RequestFactory
from django.views.debug import ExceptionReporter

from audit_app.models import AuditLog
from secrets_app.fields import SerializationRefused
from secrets_app.models import Secret
from secrets_app.services.reveal import decrypt_secret
from secrets_app.services.secrets import SSHTunnelData, create_secret, update_secret

pytestmark = pytest.mark.django_db

# Made at run time: the debug page also shows source lines, and a literal would be among them.
CANARY = f"CANARY-{uuid.uuid4().hex}"


def debug_page_for(call) -> str:
    """The HTML Django's debug error page would show for the exception `call` raises."""
    try:
        call()
    except Exception as error:
        request = RequestFactory().post("/secrets/")
        reporter = ExceptionReporter(request, type(error), error, error.__traceback__)
        return reporter.get_traceback_html()
    raise AssertionError("expected the call to fail")


@pytest.fixture
def failing_audit(monkeypatch):
    def fail(*args, **kwargs):
        raise DatabaseError("audit table unavailable")

    return lambda: monkeypatch.setattr(AuditLog.objects, "bulk_create", fail)


def test_a_failed_create_shows_no_value_on_the_debug_page(admin_user, failing_audit):
    failing_audit()
    html = debug_page_for(lambda: create_secret(
        admin_user, name="n", key="SSH_HOST", value=CANARY,
        ssh=SSHTunnelData(host="h", username="u", password=CANARY + "-pw"),
    ))
    assert "audit table unavailable" in html  # it is the real debug page
    assert CANARY not in html


def test_a_failed_update_shows_no_value_on_the_debug_page(admin_user, failing_audit):
    secret = create_secret(admin_user, name="n", key="K", value="old")
    failing_audit()
    html = debug_page_for(lambda: update_secret(secret, admin_user, value=CANARY))
    assert "audit table unavailable" in html
    assert CANARY not in html


def test_a_failed_decrypt_shows_no_value_on_the_debug_page(admin_user, failing_audit):
    secret = create_secret(admin_user, name="n", key="K", value=CANARY)
    failing_audit()
    html = debug_page_for(lambda: decrypt_secret(secret, admin_user))
    assert "audit table unavailable" in html
    assert CANARY not in html


def test_tunnel_data_repr_hides_password_and_key():
    text = repr(SSHTunnelData(host="h", username="u", password=CANARY, private_key=CANARY))
    assert CANARY not in text and "host='h'" in text


def test_serializing_secrets_is_refused_not_blanked(admin_user):
    create_secret(admin_user, name="n", key="K", value=CANARY)
    with pytest.raises(SerializationRefused, match="is not serialized"):
        serializers.serialize("json", Secret.objects.all())
    with pytest.raises(CommandError, match="is not serialized"):
        call_command("dumpdata", "secrets_app", verbosity=0, stdout=io.StringIO())
