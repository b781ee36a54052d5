"""Settings → Service tokens, as a newcomer fills it in (issue 13, R19/R20)."""

import html

import pytest

pytestmark = pytest.mark.django_db


def test_newcomer_console_names_every_mistake_at_once_like_the_api(admin_client):
    """No profile ticked and a lowercase key pattern: POST /api/v1/service-tokens/ answers
    both field errors at once (profiles and keys), but the console form shows only "Choose at
    least one profile the token may read." and says nothing of `snowflake_*` until the second
    try. README: "the console, the API and the commands cannot disagree"; the service's own
    comment: "Every field is checked, so one answer names everything to fix"."""
    response = admin_client.post("/settings/service-tokens/", {
        "name": "dbt", "keys": "snowflake_*", "allowed_networks": "", "expires_in_days": "90",
    })
    page = html.unescape(response.content.decode())
    assert "Choose at least one profile" in page
    assert "'snowflake_*' is not a key pattern" in page
