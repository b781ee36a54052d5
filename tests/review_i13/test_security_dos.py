"""Outside security review of issue 13 (R20): cost of one credentials request. FAILS while
one cheap request can make the server do unbounded work or keep unbounded state."""

import time

import pytest

from secrets_app.sources import chain
from secrets_app.sources.aws import AWSSecretLoader

pytestmark = pytest.mark.django_db

URL = "/api/v1/credentials/"


@pytest.fixture
def aws_calls(aws, monkeypatch):
    calls = []
    original = AWSSecretLoader._fetch_uncached

    def counted(self, secret_id):
        calls.append(secret_id)
        return original(self, secret_id)

    monkeypatch.setattr(AWSSecretLoader, "_fetch_uncached", counted)
    chain.default_loaders.cache_clear()
    return calls


def test_D1_one_request_of_500_unknown_keys_is_1000_aws_round_trips(admin_api, aws_calls):
    """resolve_many's docstring: 'fifty keys cost about what one does (R20)'. The AWS source
    has no lookup_many: each key missing elsewhere costs 2 GetSecretValue calls
    (prefix/P/K and prefix/default/K; the bundles are cached), each up to
    SECRETS_AWS_TIMEOUT_SECONDS x SECRETS_AWS_MAX_ATTEMPTS. Any caller in scope (a service
    token: 600 requests a minute by default) ties up a worker and the AWS API quota with
    random names, which the per-name miss cache never catches."""
    keys = ",".join(f"NOPE_{n}_{time.monotonic_ns()}" for n in range(500))
    started = time.monotonic()
    response = admin_api.get(URL, {"profile": "production", "keys": keys})
    elapsed = time.monotonic() - started
    assert response.status_code == 200
    assert len(aws_calls) <= 50, (
        f"{len(aws_calls)} AWS calls and {elapsed:.1f} s for one request")


def test_D2_the_aws_miss_cache_never_forgets_expired_entries(admin_api, aws_calls, settings):
    """AWSSecretLoader._cache keeps every secret id ever asked, misses included, and never
    drops an expired entry: distinct random names make the server's memory grow for as
    long as requests come (a service token: 600 requests/min x 500 names x 2 ids)."""
    settings.SECRETS_AWS_CACHE_SECONDS = 1
    chain.default_loaders.cache_clear()
    loader = next(item for item in chain.default_loaders() if isinstance(item, AWSSecretLoader))
    for round_number in range(2):
        keys = ",".join(f"GROW_{round_number}_{n}" for n in range(100))
        assert admin_api.get(URL, {"profile": "production", "keys": keys}).status_code == 200
        time.sleep(1.2)
    now = time.monotonic()
    expired = [name for name, (until, _) in loader._cache.items() if until <= now]
    assert not expired, f"{len(expired)} expired entries still held of {len(loader._cache)}"
