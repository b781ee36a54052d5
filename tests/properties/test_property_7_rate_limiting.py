"""Property 7 (R10.3, R10.4): more than 10 decrypts by one user within the window are
answered 429 with Retry-After; once the window passes they are allowed again; one user's
limit does not touch another's."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from audit_app.models import AuditLog
from secrets_app import ratelimit
from secrets_app.services import create_secret
from tests.conftest import rolled_back


@pytest.mark.django_db
@given(
    attempts=st.integers(min_value=1, max_value=25),
    start=st.floats(min_value=1_000_000, max_value=2_000_000_000),
    other_attempts=st.integers(min_value=0, max_value=10),
)
def test_property_7_rate_limiting(admin_user, secrets_admin, settings, monkeypatch,
                                  attempts, start, other_attempts):
    from django.core.cache import cache
    from rest_framework.test import APIClient

    settings.SECRETS_DECRYPT_RATE = "10/m"
    cache.clear()
    window_start = start - (start % 60)  # the first second of a window
    monkeypatch.setattr(ratelimit, "now", lambda: window_start + 1)
    root, alice = APIClient(), APIClient()
    root.force_authenticate(admin_user)
    alice.force_authenticate(secrets_admin)
    with rolled_back():
        secret = create_secret(admin_user, name="p7", key="K", value="v")
        url = f"/api/v1/secrets/{secret.pk}/decrypt/"
        codes = [root.post(url).status_code for _ in range(attempts)]
        assert codes == [200] * min(attempts, 10) + [429] * max(0, attempts - 10)
        if attempts > 10:
            refused = root.post(url)
            assert refused.json() == {"detail": "Rate limit exceeded. Try again later."}
            assert 1 <= int(refused["Retry-After"]) <= 60
            assert AuditLog.objects.filter(action="DECRYPT", allowed=False,
                                           detail__reason="rate limited").exists()
        # Another user has a budget of their own.
        assert [alice.post(url).status_code for _ in range(other_attempts)] == [200] * (
            other_attempts)
        # The next window starts afresh.
        monkeypatch.setattr(ratelimit, "now", lambda: window_start + 61)
        assert root.post(url).status_code == 200
