"""R21: the audit page's Detail column reads as "name: value" lines (no Python dict or list
dump), and a service token's request names the token as who made it. The rows themselves
are not changed: the export still has the JSON."""

import html
import re

import pytest

from audit_app.context import audit_context
from audit_app.models import AuditLog
from audit_app.templatetags.audit_rows import detail_lines, service_token_actor
from secrets_app.access.service_tokens import ServicePrincipal, create_service_token
from secrets_app.services.credentials import fetch_credentials
from secrets_app.services.secrets import create_secret

pytestmark = pytest.mark.django_db


def test_nested_mappings_are_flattened_and_lists_joined():
    detail = {"via": "credentials", "served": {"A_KEY": "database", "B_KEY": "environment"},
              "missing": ["C_KEY", "D_KEY"], "dry_run": True, "expires_at": None,
              "refused": [{"key": "E_KEY", "profile": "production"}], "empty": {}}
    assert detail_lines(detail) == [
        ("via", "credentials"), ("served.A_KEY", "database"), ("served.B_KEY", "environment"),
        ("missing", "C_KEY, D_KEY"), ("dry_run", "yes"), ("expires_at", "none"),
        ("refused", "key=E_KEY profile=production"), ("empty", "none"),
    ]
    assert detail_lines({}) == []
    assert detail_lines(["odd", "row"]) == [("detail", "odd, row")]


def test_the_token_is_who_only_when_it_made_the_request(admin_user):
    token, _ = create_service_token(admin_user, name="etl-nightly", profiles=["production"])
    made = AuditLog.objects.get(action="SERVICE_TOKEN_CREATE")
    assert made.detail["service_token"] == "etl-nightly"
    assert service_token_actor(made) == ""  # a person made it: the token is what, not who
    create_secret(admin_user, name="warehouse", key="POSTGRES_PASSWORD", value="v",
                  profile="production")
    with audit_context(channel="api", user=None):
        fetch_credentials(ServicePrincipal(token), "production")
    fetched = AuditLog.objects.filter(action="DECRYPT").latest("sequence")
    assert fetched.username == admin_user.username  # the row keeps the creator, unchanged
    assert service_token_actor(fetched) == "etl-nightly"


def test_the_audit_page_shows_lines_and_the_token(admin_client, admin_user):
    token, _ = create_service_token(admin_user, name="etl-nightly", profiles=["production"],
                                    keys=["POSTGRES_*", "AWS_*"])
    create_secret(admin_user, name="warehouse", key="POSTGRES_PASSWORD", value="CANARY-V",
                  profile="production")
    with audit_context(channel="api", user=None):
        fetch_credentials(ServicePrincipal(token), "production")
    response = admin_client.get("/audit/")
    assert response.status_code == 200
    page = response.content.decode()
    rows = re.findall(r'<tr data-testid="audit-row".*?</tr>', page, re.S)
    assert len(rows) == 3
    who = [html.unescape(re.sub(r"<[^>]+>|\s+", " ", re.search(
        r'data-testid="audit-who">(.*?)</td>', row, re.S).group(1))).split() for row in rows]
    assert who[0] == ["service", "token", "etl-nightly", "created", "by", "root"]
    assert who[1] == who[2] == ["root"]
    details = [re.search(r'data-testid="audit-detail">(.*?)</td>', row, re.S).group(1)
               for row in rows]
    assert '<span class="detail-name">served.POSTGRES_PASSWORD:</span> database' in details[0]
    assert '<span class="detail-name">keys:</span> AWS_*, POSTGRES_*' in details[2]
    for detail in details:
        text = html.unescape(re.sub(r"<[^>]+>", "", detail))
        assert not re.search(r"[{}\[\]]|'\w+':", text), text  # no dict or list dump
    assert "CANARY-V" not in page
