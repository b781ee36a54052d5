"""AWS Secrets Manager (R5.3), through boto3.

For key K in profile P (then `default`) it reads the secret `<prefix>P/K` — a plain string, or
JSON holding K — and then the secret `<prefix>P`, JSON holding several keys. Which of those
names exist is listed once per profile (ListSecrets), so a key AWS does not hold costs no call:
a request for hundreds of unknown names stays a few calls (R20). Without the ListSecrets
permission every name is asked for, as before. Answers, misses and listings are cached for
SECRETS_AWS_CACHE_SECONDS (expired entries are dropped as the cache grows); timeouts and
retries are bounded, and after a connection failure the endpoint is skipped for the cache
period, so a dead endpoint costs one bounded wait per period and never breaks the chain: any
error is a logged warning and "not found in AWS".
"""

import json
import logging
import threading
import time

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.views.decorators.debug import sensitive_variables

from secrets_app.constants import DEFAULT_PROFILE
from secrets_app.fields import Sealed
from secrets_app.sources.base import Answer, BaseCredentialLoader, profiles_to_try

logger = logging.getLogger(__name__)
NOT_FOUND_CODES = {"ResourceNotFoundException"}
CACHE_PRUNE_AT = 2048  # entries: past this, expired ones are dropped on the next insert
UNKNOWN = None  # a listing that could not be made: every name is asked for


class AWSSecretLoader(BaseCredentialLoader):
    source = "aws"

    def __init__(self, *, region=None, endpoint_url=None, prefix=None, cache_seconds=None,
                 timeout_seconds=None, max_attempts=None):
        self.region = region if region is not None else settings.SECRETS_AWS_REGION
        self.endpoint_url = (
            endpoint_url if endpoint_url is not None else settings.SECRETS_AWS_ENDPOINT_URL
        ) or None
        self.prefix = prefix if prefix is not None else settings.SECRETS_AWS_PREFIX
        self.cache_seconds = (
            cache_seconds if cache_seconds is not None else settings.SECRETS_AWS_CACHE_SECONDS
        )
        self.timeout = (
            timeout_seconds if timeout_seconds is not None
            else settings.SECRETS_AWS_TIMEOUT_SECONDS
        )
        self.max_attempts = (
            max_attempts if max_attempts is not None else settings.SECRETS_AWS_MAX_ATTEMPTS
        )
        self._client = None
        self._cache: dict[str, tuple[float, Sealed | None]] = {}
        self._listings: dict[str, tuple[float, frozenset | None]] = {}
        self._lock = threading.Lock()
        # After a connection failure every lookup is "not found" until this moment, so a
        # dead endpoint costs one bounded wait per cache period, not one per secret name.
        self._down_until = 0.0

    @property
    def enabled(self) -> bool:
        return bool(self.region)

    def client(self):
        if self._client is None:
            self._client = boto3.session.Session().client(
                "secretsmanager",
                region_name=self.region,
                endpoint_url=self.endpoint_url,
                config=Config(
                    connect_timeout=self.timeout,
                    read_timeout=self.timeout,
                    retries={"max_attempts": self.max_attempts, "mode": "standard"},
                ),
            )
        return self._client

    def _fetch(self, secret_id: str) -> Sealed | None:
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(secret_id)
        if cached and cached[0] > now:
            return cached[1]
        if now < self._down_until:
            return None
        value = self._fetch_uncached(secret_id)
        if self.cache_seconds > 0:
            with self._lock:
                if len(self._cache) >= CACHE_PRUNE_AT:
                    kept = [(name, entry) for name, entry in self._cache.items()
                            if entry[0] > now]
                    # Still full (many names within one period): the older half goes.
                    if len(kept) >= CACHE_PRUNE_AT:
                        kept = kept[len(kept) // 2:]
                    self._cache = dict(kept)
                self._cache[secret_id] = (now + self.cache_seconds, value)
        return value

    def _listed(self, profile: str) -> frozenset | None:
        """The names AWS holds for a profile (`<prefix>P` and `<prefix>P/...`), or None when
        they cannot be listed (no ListSecrets permission, an error): then every name is asked
        for."""
        now = time.monotonic()
        with self._lock:
            cached = self._listings.get(profile)
        if cached and cached[0] > now:
            return cached[1]
        if now < self._down_until:
            return UNKNOWN
        names = self._list_uncached(f"{self.prefix}{profile}")
        if self.cache_seconds > 0:
            with self._lock:
                self._listings[profile] = (now + self.cache_seconds, names)
        return names

    def _list_uncached(self, base: str) -> frozenset | None:
        names = set()
        try:
            # The name filter matches prefixes, ignoring case: the exact names are kept.
            pages = self.client().get_paginator("list_secrets").paginate(
                Filters=[{"Key": "name", "Values": [base]}])
            for page in pages:
                for entry in page.get("SecretList", []):
                    name = entry.get("Name", "")
                    if name == base or name.startswith(base + "/"):
                        names.add(name)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "") or "error"
            logger.warning("AWS Secrets Manager cannot list %s (%s): asking for each name "
                           "(allow secretsmanager:ListSecrets to spare those calls)", base, code)
            return UNKNOWN
        except (BotoCoreError, OSError) as error:
            logger.warning("AWS Secrets Manager unreachable listing %s (%s): not found in AWS",
                           base, type(error).__name__)
            self._down_until = time.monotonic() + max(self.cache_seconds, 5)
            return UNKNOWN
        return frozenset(names)

    def _fetch_uncached(self, secret_id: str) -> Sealed | None:
        try:
            answer = self.client().get_secret_value(SecretId=secret_id)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code not in NOT_FOUND_CODES:
                logger.warning("AWS Secrets Manager refused %s (%s): not found in AWS",
                               secret_id, code or "error")
            return None
        except (BotoCoreError, OSError) as error:
            logger.warning("AWS Secrets Manager unreachable for %s (%s): not found in AWS",
                           secret_id, type(error).__name__)
            self._down_until = time.monotonic() + max(self.cache_seconds, 5)
            return None
        text = answer.get("SecretString")
        return None if text is None else Sealed.encrypt(text)

    @sensitive_variables()
    def get(self, key: str, profile: str = DEFAULT_PROFILE) -> Sealed | None:
        if not self.enabled:
            return None
        for candidate in profiles_to_try(profile):
            value = self._lookup(key, candidate)
            if value is not None:
                return value
        return None

    @sensitive_variables()
    def lookup(self, key: str, profile: str = DEFAULT_PROFILE) -> Answer | None:
        if not self.enabled:
            return None
        for candidate in profiles_to_try(profile):
            value = self._lookup(key, candidate)
            if value is not None:
                return Answer(value, None, candidate)
        return None

    @sensitive_variables()
    def _lookup(self, key: str, profile: str) -> Sealed | None:
        """The key in this profile's own secret (`prefix/profile/KEY`), or in its bundle;
        names the listing says AWS does not hold are not asked for."""
        listed = self._listed(profile)
        own_id, bundle_id = f"{self.prefix}{profile}/{key}", f"{self.prefix}{profile}"
        own = self._fetch(own_id) if listed is UNKNOWN or own_id in listed else None
        if own is not None:
            picked = _from_json(own.reveal(), key)
            return own if picked is None else Sealed.encrypt(picked)
        bundle = self._fetch(bundle_id) if listed is UNKNOWN or bundle_id in listed else None
        if bundle is not None:
            picked = _from_json(bundle.reveal(), key)
            if picked is not None:
                return Sealed.encrypt(picked)
        return None


def _from_json(text: str, key: str) -> str | None:
    """The key's value if text is a JSON object holding it (nested values as JSON text)."""
    try:
        document = json.loads(text)
    except ValueError:
        return None
    if not isinstance(document, dict) or key not in document:
        return None
    value = document[key]
    if value is None:
        return None
    return value if isinstance(value, str) else json.dumps(value)
