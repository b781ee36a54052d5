"""Kept as documented limits (docs/security.md, "Credentials for programs"): without the
ListSecrets permission every name is one GetSecretValue call (bounded by the 500-key cap, the
caller's budget and the cache); a secret added to AWS is seen within
SECRETS_AWS_CACHE_SECONDS. What is tested here: the cache stays bounded.

B7 (medium where the IAM policy grants GetSecretValue only) and B8 (low): the AWS listing.
Each test FAILS while the hole is open."""


from botocore.exceptions import ClientError

from secrets_app.sources.aws import CACHE_PRUNE_AT, AWSSecretLoader


class GetOnly:
    """A least-privilege policy: GetSecretValue on kozmo/*, no ListSecrets."""

    def __init__(self):
        self.asked = 0

    def get_paginator(self, name):
        raise ClientError({"Error": {"Code": "AccessDeniedException"}}, "ListSecrets")

    def get_secret_value(self, SecretId):
        self.asked += 1
        raise ClientError({"Error": {"Code": "ResourceNotFoundException"}}, "Get")


def test_B7_without_list_secrets_the_miss_cache_grows_without_bound(settings):
    """Review D2 again: pruning drops only EXPIRED entries, so within one cache period every
    made-up name stays: 10 requests of 500 names leave 10,000 entries (and it goes on)."""
    loader = AWSSecretLoader(region="eu-west-1", prefix="kozmo/", cache_seconds=60)
    loader._client = GetOnly()
    for request in range(10):
        loader.lookup_many([f"MADE_UP_{request}_{n}" for n in range(500)], "production")
    assert len(loader._cache) <= CACHE_PRUNE_AT, f"{len(loader._cache)} cache entries"


