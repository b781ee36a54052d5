"""Resolve a credential through the sources in order Database → Environment → Config file →
AWS (R5.4), answering with the value (Sealed) and the source that held it."""

from dataclasses import dataclass, field
from functools import cache

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

from secrets_app.constants import DEFAULT_PROFILE, KEY_PATTERN, profiles, unknown_profile_message
from secrets_app.fields import Sealed
from secrets_app.models import Secret, SSHTunnel
from secrets_app.sources.aws import AWSSecretLoader
from secrets_app.sources.base import BaseCredentialLoader, profiles_to_try
from secrets_app.sources.config_file import ConfigFileLoader
from secrets_app.sources.database import DatabaseLoader
from secrets_app.sources.environment import EnvironmentLoader

SOURCES = ("database", "environment", "config_file", "aws")
# The sources that only answer once configured, and the setting that turns each on.
SOURCE_SETTINGS = {"config_file": "SECRETS_CONFIG_FILE", "aws": "SECRETS_AWS_REGION"}
SOURCE_HOW_TO_ENABLE = {
    "config_file": "set SECRETS_CONFIG_FILE to an io_config.yaml to also read a config file",
    "aws": "set SECRETS_AWS_REGION to also ask AWS Secrets Manager",
}


def configured_sources() -> list[str]:
    """The sources this installation asks, in order (R17.18: never name the others)."""
    return [source for source in SOURCES
            if source not in SOURCE_SETTINGS or getattr(settings, SOURCE_SETTINGS[source])]


def not_found_message(key: str, profile: str) -> str:
    """Says which configured sources were asked, and how to enable the others."""
    message = f"{key} [{profile}]: not found in any configured source " \
              f"({', '.join(configured_sources())})."
    hints = [SOURCE_HOW_TO_ENABLE[source] for source in SOURCES
             if source in SOURCE_SETTINGS and source not in configured_sources()]
    if hints:
        message += " To ask more sources: " + "; ".join(hints) + "."
    return message


@cache
def default_loaders() -> tuple[BaseCredentialLoader, ...]:
    """One chain per process, so the config file and AWS caches live across requests."""
    return (DatabaseLoader(), EnvironmentLoader(), ConfigFileLoader(), AWSSecretLoader())


@receiver(setting_changed)
def _rebuild_chain_on_settings_change(*, setting, **kwargs):
    if setting.startswith(("SECRETS_CONFIG_FILE", "SECRETS_AWS_")):
        default_loaders.cache_clear()


@dataclass(frozen=True)
class Resolution:
    key: str
    profile: str
    source: str | None  # None: no source holds the key
    value: Sealed | None = field(default=None, repr=False)
    origin: object = field(default=None, repr=False)  # e.g. the answering Secret
    # The profile whose entry answered: `default` on a fallback, and for the environment,
    # which has no profiles (see BaseCredentialLoader.lookup).
    answered_in: str | None = None

    @property
    def found(self) -> bool:
        return self.source is not None


def check_key(key: str) -> str:
    if not KEY_PATTERN.match(key or ""):
        raise ValueError(
            f"'{key}' is not a key name: use a ConfigKey or any UPPER_SNAKE name "
            "(a capital letter, then capitals, digits or underscores)"
        )
    return key


def check_profile(profile: str) -> str:
    if profile not in profiles():
        raise ValueError(unknown_profile_message(profile))
    return profile


def resolve(key: str, profile: str = DEFAULT_PROFILE, loaders=None) -> Resolution:
    """The first source holding the key, with its value."""
    check_key(key)
    check_profile(profile)
    for loader in loaders if loaders is not None else default_loaders():
        answer = loader.lookup(key, profile)
        if answer is not None:
            return Resolution(key, profile, loader.source, answer.value, answer.origin,
                              answer.profile)
    return Resolution(key, profile, None)


def resolve_many(keys, profile: str = DEFAULT_PROFILE, loaders=None, *,
                 fallback: bool = True) -> dict[str, Resolution]:
    """resolve() for several keys, in the order given: each source is asked once for the keys
    no earlier source held (the database in one query), so fifty keys cost about what one
    does (R20). fallback=False: only the profile's own entries answer, never `default`'s
    (nor the environment, which counts as `default`), for a caller who may not read
    `default` (R18)."""
    keys = [check_key(key) for key in dict.fromkeys(keys)]
    check_profile(profile)
    found: dict[str, Resolution] = {}
    for loader in loaders if loaders is not None else default_loaders():
        remaining = [key for key in keys if key not in found]
        if not remaining:
            break
        for key, answer in loader.lookup_many(remaining, profile).items():
            if fallback or answer.profile == profile:
                found[key] = Resolution(key, profile, loader.source, answer.value,
                                        answer.origin, answer.profile)
    return {key: found.get(key) or Resolution(key, profile, None) for key in keys}


def locate(key: str, profile: str = DEFAULT_PROFILE, loaders=None) -> str | None:
    """Only which source would answer; values are not read where a source can avoid it."""
    check_key(key)
    check_profile(profile)
    for loader in loaders if loaders is not None else default_loaders():
        if loader.contains(key, profile):
            return loader.source
    return None


@dataclass(frozen=True)
class SSHTunnelConfig:
    """A whole tunnel for a connector (R7.3). password and private_key stay sealed."""

    host: str
    port: int
    username: str
    password: Sealed | None = field(default=None, repr=False)
    private_key: Sealed | None = field(default=None, repr=False)
    source: str = "database"
    secret_name: str = ""
    # The profiles whose entries it was made from (the one asked, or `default` on a
    # fallback, in any source): whoever opens it must be allowed to read each (R18).
    stored_in: tuple = ()

    def revealed(self) -> dict:
        return {
            "host": self.host,
            "port": self.port,
            "username": self.username,
            "password": self.password.reveal() if self.password else None,
            "private_key": self.private_key.reveal() if self.private_key else None,
        }


def resolve_ssh_tunnel(
    profile: str = DEFAULT_PROFILE, name: str | None = None, loaders=None
) -> SSHTunnelConfig | None:
    """An SSH secret's tunnel in the profile (then `default`); failing that, a tunnel put
    together from the SSH_* keys through the whole chain. None when there is no SSH_HOST.
    A tunnel is one object: made with `default`'s parts, it is `default`'s to give (R18),
    and whoever opens it checks `stored_in` before its SSH_PORT is even read."""
    check_profile(profile)
    for candidate in profiles_to_try(profile):
        tunnels = SSHTunnel.objects.select_related("secret").filter(secret__profile=candidate)
        if name:
            tunnels = tunnels.filter(secret__name=name)
        tunnel = tunnels.order_by("secret__name").first()
        if tunnel is not None:
            return SSHTunnelConfig(
                tunnel.host, tunnel.port, tunnel.username, tunnel.password, tunnel.private_key,
                "database", tunnel.secret.name, stored_in=(candidate,),
            )
    if name:
        return None
    parts = resolve_many(
        ("SSH_HOST", "SSH_PORT", "SSH_USERNAME", "SSH_PASSWORD", "SSH_PRIVATE_KEY"), profile,
        loaders)
    if not parts["SSH_HOST"].found:
        return None
    stored_in = tuple(sorted({part.answered_in for part in parts.values()
                              if part.found and part.answered_in}))
    port_text = parts["SSH_PORT"].value.reveal() if parts["SSH_PORT"].found else "22"
    try:
        port = int(port_text)
    except ValueError:
        raise BadPort(stored_in) from None  # never echo a value
    return SSHTunnelConfig(
        host=parts["SSH_HOST"].value.reveal(),
        port=port,
        username=parts["SSH_USERNAME"].value.reveal() if parts["SSH_USERNAME"].found else "",
        password=parts["SSH_PASSWORD"].value,
        private_key=parts["SSH_PRIVATE_KEY"].value,
        source="keys",
        stored_in=stored_in,
    )


class BadPort(ValueError):
    """SSH_PORT is not a number. Carries where the parts came from, so whoever asked is
    checked for those profiles before hearing even this (a bit of a value otherwise)."""

    def __init__(self, stored_in: tuple):
        super().__init__("SSH_PORT is not a port number")
        self.stored_in = stored_in


def locate_all(keys, profiles, loaders=None) -> dict[tuple[str, str], Resolution]:
    """Which source answers for every (key, profile), and in which profile's entry — the
    Catalog (R15): `default` when a profile inherits the key. The database is asked once for
    everything; the other sources per key, no more than resolving would ask them (AWS reads
    as contains() always did). The answers carry no value."""
    chain = loaders if loaders is not None else default_loaders()
    stored = set(Secret.objects.filter(key__in=keys).values_list("key", "profile").distinct())
    answers = {}
    for key in keys:
        for profile in profiles:
            answers[(key, profile)] = Resolution(key, profile, None)
            for loader in chain:
                if isinstance(loader, DatabaseLoader):
                    answered_in = next((p for p in profiles_to_try(profile)
                                        if (key, p) in stored), None)
                elif isinstance(loader, EnvironmentLoader):
                    # No profiles, no value read: it answers as the server's base layer.
                    answered_in = DEFAULT_PROFILE if loader.contains(key, profile) else None
                else:
                    answer = loader.lookup(key, profile)
                    answered_in = answer.profile if answer is not None else None
                if answered_in is not None:
                    answers[(key, profile)] = Resolution(key, profile, loader.source,
                                                         answered_in=answered_in)
                    break
    return answers
