"""Property 7 (R10.3, R10.4): more than 10 decrypts by one user within the window are
answered 429 with Retry-After; once the window passes they are allowed again; one user's
limit does not touch another's."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from audit_app.models import AuditLog
from secrets_app.access import ratelimit
from secrets_app.services.secrets import create_secret
from tests.helpers import rolled_back


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
            assert 1 <= int(refused["Retry-After"]) <= 61
            assert AuditLog.objects.filter(action="DECRYPT", allowed=False,
                                           detail__reason="rate limited").exists()
        # Another user has a budget of their own.
        assert [alice.post(url).status_code for _ in range(other_attempts)] == [200] * (
            other_attempts)
        # A full period after the burst, decrypts are allowed again.
        monkeypatch.setattr(ratelimit, "now", lambda: window_start + 62)
        assert root.post(url).status_code == 200


@pytest.mark.django_db
@given(
    gaps=st.lists(st.sampled_from([0, 0.05, 0.3, 1, 2.5, 7, 13, 29, 61]), min_size=11,
                  max_size=80),
    start=st.floats(min_value=1_000_000, max_value=2_000_000_000),
)
def test_property_7_no_sixty_seconds_ever_hold_more_than_ten(settings, monkeypatch, gaps,
                                                              start):
    """Sliding, not fixed windows: a burst at the end of one minute and another at the start
    of the next are not 20 decrypts in a few seconds. Retry-After is honest."""
    from django.core.cache import cache

    settings.SECRETS_DECRYPT_RATE = "10/m"
    cache.clear()
    clock = [start]
    monkeypatch.setattr(ratelimit, "now", lambda: clock[0])
    granted = []
    for gap in gaps:
        clock[0] += gap
        usage = ratelimit.hit("decrypt", "p7-user")
        if usage.allowed:
            granted.append(clock[0])
        else:
            assert 1 <= usage.retry_after <= 61
    for first in granted:
        assert sum(1 for moment in granted if first <= moment < first + 60) <= 10
    if not usage.allowed:
        clock[0] += usage.retry_after
        assert ratelimit.hit("decrypt", "p7-user").allowed


def test_R10_3_a_burst_across_a_minute_boundary_is_limited(settings, monkeypatch, db):
    from django.core.cache import cache

    settings.SECRETS_DECRYPT_RATE = "10/m"
    cache.clear()
    clock = [1_000_000_052.0]  # second :52 of a minute
    monkeypatch.setattr(ratelimit, "now", lambda: clock[0])
    assert all(ratelimit.hit("decrypt", "u").allowed for _ in range(10))
    clock[0] += 11  # second :03 of the next minute
    refused = ratelimit.hit("decrypt", "u")
    assert not refused.allowed
    assert refused.retry_after in (49, 50)  # whole seconds, rounded toward caution
