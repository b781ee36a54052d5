"""B7 (medium where the IAM policy grants GetSecretValue only) and B8 (low): the AWS listing.
Each test FAILS while the hole is open."""

import time

import pytest
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


def test_B7_without_list_secrets_one_request_of_500_unknown_keys_is_1000_aws_calls(settings):
    """Review D1 again, whenever ListSecrets is not granted (the listing is cached as
    UNKNOWN): a token holder's one request for 500 made-up names costs 1000 GetSecretValue
    calls (the profile's and default's), each up to the AWS timeout and retries."""
    loader = AWSSecretLoader(region="eu-west-1", prefix="kozmo/", cache_seconds=60)
    loader._client = GetOnly()
    loader.lookup_many([f"MADE_UP_{n}" for n in range(500)], "production")
    assert loader._client.asked <= 20, f"{loader._client.asked} AWS calls for one request"


def test_B7_without_list_secrets_the_miss_cache_grows_without_bound(settings):
    """Review D2 again: pruning drops only EXPIRED entries, so within one cache period every
    made-up name stays: 10 requests of 500 names leave 10,000 entries (and it goes on)."""
    loader = AWSSecretLoader(region="eu-west-1", prefix="kozmo/", cache_seconds=60)
    loader._client = GetOnly()
    for request in range(10):
        loader.lookup_many([f"MADE_UP_{request}_{n}" for n in range(500)], "production")
    assert len(loader._cache) <= CACHE_PRUNE_AT, f"{len(loader._cache)} cache entries"


@pytest.mark.django_db
def test_B8_a_secret_created_in_aws_after_the_listing_is_not_found_for_the_cache_period(
        aws, admin_api):
    """The listing of a profile is cached for SECRETS_AWS_CACHE_SECONDS once ANY key of it
    was asked: a secret created in AWS afterwards (a new credential, a rotation to a new
    name) is 'missing' for every key never asked before, for the whole period. Before the
    listing a key not yet asked was fetched on first use."""
    aws.create_secret(Name="kozmo/production/FIRST_KEY", SecretString="one")
    first = admin_api.get("/api/v1/credentials/",
                          {"profile": "production", "keys": "FIRST_KEY"})
    assert first.status_code == 200 and first.json()["missing"] == []
    aws.create_secret(Name="kozmo/production/NEW_KEY", SecretString="two")
    time.sleep(0.1)
    second = admin_api.get("/api/v1/credentials/",
                           {"profile": "production", "keys": "NEW_KEY"})
    assert second.status_code == 200
    assert second.json()["missing"] == [], second.json()


@pytest.mark.django_db
def test_B7_the_catalog_lets_a_user_without_grants_spend_aws_calls(settings, client, member):
    """Anyone signed in (no grant, no token, no decrypt budget) opens the Catalog: locate_all
    asks AWS for every ConfigKey in every profile, and AWSSecretLoader.contains() is get():
    it FETCHES each value. Without ListSecrets that is two GetSecretValue calls per ConfigKey
    per profile (and default again for each profile), per page view once the cache expires."""
    from secrets_app.sources.chain import default_loaders

    settings.SECRETS_AWS_REGION = "eu-west-1"
    settings.SECRETS_AWS_PREFIX = "kozmo/"
    aws_loader = default_loaders()[-1]
    aws_loader._client = GetOnly()
    client.force_login(member)
    assert client.get("/catalog/").status_code == 200
    assert aws_loader._client.asked <= 20, f"{aws_loader._client.asked} AWS calls for one page"
