"""R17.19 in a real browser: with Redis down the list still loads, and a reveal shows why it
is refused in the row (htmx 2 would not swap a 503 into the page)."""

import pytest
from playwright.sync_api import expect

from secrets_app.services.secrets import create_secret
from tests.helpers import log_in, screenshot

pytestmark = pytest.mark.django_db(transaction=True)


def test_R17_19_with_redis_down_the_reveal_says_why_in_the_row(page, admin_user, settings):
    create_secret(admin_user, name="warehouse", key="POSTGRES_PASSWORD", value="BROWSER-CANARY",
                  profile="production")
    log_in(page, "root", "root-password")  # signed in before the outage
    settings.CACHES = {"default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens: every connection is refused
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
    }}
    page.goto("/secrets/")
    row = page.locator("[data-testid=secret-row][data-name='warehouse']")
    expect(row).to_be_visible()
    row.locator("[data-testid=decrypt]").click()
    message = row.locator("[data-testid=reveal-error]")
    expect(message).to_contain_text("REDIS_URL")
    expect(message).to_contain_text("Decrypting is unavailable")
    expect(row.locator("[data-testid=revealed-value]")).to_have_count(0)
    screenshot(page, "r17-19-reveal-without-redis")
    assert "BROWSER-CANARY" not in page.content()
