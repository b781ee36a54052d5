"""Re-authentication before protected console actions (R21.1): the one rule.

A console session remembers when its password was last entered: at sign-in (the
user_logged_in signal, whichever form signed in) and at each right re-entry. It is stale once
that moment is older than SECRETS_REAUTH_SECONDS (0: always), or ahead of the clock.

A profile is protected when it is in SECRETS_REAUTH_PROFILES, or when it is no longer in
SECRETS_PROFILES (a retired profile still holding secrets: its values are no less
valuable, and the setting cannot name it). From a stale session:
- revealing, restoring or deleting a secret of a protected profile, and creating, editing
  (out of, into or within one) or importing into one, asks for the password again
  (`needs_reauth`);
- so does what reaches every protected profile at once whatever its form says: minting an
  API token, and any unsafe request of a session on the API (`session_is_stale`).

A re-entered password is a password guess like any other: it goes through the sign-in
throttle's check (signin.check_password_throttled: counted per username and address, a
wrong one is a LOGIN_FAILED row, LoginThrottled past the limit). API tokens and commands
never come here: they have no session and no password to re-enter.
"""

import time

from django.apps import apps
from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.core.exceptions import ImproperlyConfigured
from django.dispatch import receiver
from django.views.decorators.debug import sensitive_variables

from secrets_app.constants import profiles

SESSION_KEY = "kozmo_password_entered_at"
DEFAULT_REAUTH_PROFILES = "production"
# A stamp this far ahead of the clock still counts (servers' clocks differ a little); past
# it the clock went back (NTP, a VM restored) and the stamp counts as stale.
CLOCK_SLACK_SECONDS = 30


def parse_reauth_profiles(raw, configured=None) -> tuple[str, ...]:
    """SECRETS_REAUTH_PROFILES (comma-separated text, or a list) as a tuple of configured
    profiles. None means the default: `production` when it is configured, else none (a site
    whose profiles have other names chooses its own). Raise ImproperlyConfigured, naming the
    setting, on a name that is not a configured profile."""
    configured = tuple(configured if configured is not None else profiles())
    if raw is None:
        return (DEFAULT_REAUTH_PROFILES,) if DEFAULT_REAUTH_PROFILES in configured else ()
    items = raw.split(",") if isinstance(raw, str) else list(raw)
    names = [str(item).strip() for item in items]
    names = [name for name in names if name]
    unknown = [name for name in names if name not in configured]
    if unknown:
        verb = "is not a configured profile" if len(unknown) == 1 else "are not configured profiles"
        raise ImproperlyConfigured(
            f"SECRETS_REAUTH_PROFILES: {', '.join(repr(name[:40]) for name in unknown)} {verb}"
            f": use names from SECRETS_PROFILES ({', '.join(configured)}), separated by commas, "
            "or leave it empty to ask no profile again.")
    return tuple(dict.fromkeys(names))


def parse_reauth_seconds(raw) -> int:
    """SECRETS_REAUTH_SECONDS: a whole number of seconds, 0 or more (0: ask every time)."""
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < 0:
        raise ImproperlyConfigured(
            f"SECRETS_REAUTH_SECONDS must be a whole number of seconds, 0 or more "
            f"(0 asks every time), not {raw!r}.")
    return raw


def protected_profiles() -> tuple[str, ...]:
    return parse_reauth_profiles(getattr(settings, "SECRETS_REAUTH_PROFILES", None))


def check_reauth_settings() -> None:
    """For the start-up check (secrets_app.startup)."""
    protected_profiles()
    parse_reauth_seconds(settings.SECRETS_REAUTH_SECONDS)


def stamp(request) -> None:
    """The password was entered just now, in this session."""
    request.session[SESSION_KEY] = time.time()


@receiver(user_logged_in)
def stamp_at_sign_in(sender, request=None, **kwargs):
    if request is not None and hasattr(request, "session"):
        stamp(request)


def is_protected(profile: str) -> bool:
    """Whether acting on `profile` may ask for the password again: named in
    SECRETS_REAUTH_PROFILES, or retired (not a configured profile)."""
    return profile in protected_profiles() or profile not in profiles()


def _stale(request, *, at_least: int = 0) -> bool:
    """`at_least`: the shortest freshness to grant, for what cannot ask in the same request."""
    session = getattr(request, "session", None)
    if session is None:  # not a console session (API tokens, commands): never asked
        return False
    entered_at = session.get(SESSION_KEY)
    if isinstance(entered_at, bool) or not isinstance(entered_at, int | float):
        return True  # a session from before this rule
    seconds = max(settings.SECRETS_REAUTH_SECONDS, at_least)
    age = time.time() - entered_at
    return seconds == 0 or age >= seconds or age < -CLOCK_SLACK_SECONDS


def needs_reauth(request, profile: str) -> bool:
    """Whether acting on a secret of `profile` must first ask for the password again."""
    return is_protected(profile) and _stale(request)


def needs_reauth_any(request, names) -> bool:
    """Whether an act touching any of the profiles `names` must ask for the password again."""
    return _stale(request) and any(is_protected(name) for name in names)


def _retired_profiles_hold_secrets() -> bool:
    # Through the app registry: access sits below secrets_app.models (which imports it), and
    # this is the one question it asks of the secrets table.
    secret_model = apps.get_model("secrets_app", "Secret")
    return secret_model.objects.exclude(profile__in=profiles()).exists()


# The Django admin and a session on the API cannot ask for the password in the request
# itself: they send the user to a sign-in, so with SECRETS_REAUTH_SECONDS=0 ("every time") the
# password just entered there counts for this long, or nothing could ever be saved.
NO_ASKING_GRACE_SECONDS = 300


def session_is_stale(request, *, at_least: int = 0) -> bool:
    """For what reaches every protected profile at once: the session is stale and some
    profile is protected. `at_least`: NO_ASKING_GRACE_SECONDS where the request cannot ask."""
    return (_stale(request, at_least=at_least)
            and (bool(protected_profiles()) or _retired_profiles_hold_secrets()))


def reaches_protected(request, access, *, at_least: int = 0) -> bool:
    """Whether what `access` may do reaches a protected profile from a stale session: an API
    token minted now, or a session's unsafe request on the API. An admin reaches every
    profile; anyone else, the profiles of their grants."""
    if access.admin:
        return session_is_stale(request, at_least=at_least)
    return (_stale(request, at_least=at_least)
            and any(is_protected(name) for name in access.roles))


@sensitive_variables("password")
def confirm_password(request, password: str, action: str, secret=None) -> bool:
    """Check the signed-in user's password under the sign-in throttle (raises LoginThrottled
    past its limit); a wrong one is audited as LOGIN_FAILED with the action and the secret it
    was asked for, never the password. A right one restarts the clock."""
    # Here, not at the top: signin imports the auth models, and manage.py runs the start-up
    # check (check_reauth_settings, above) before the app registry is ready.
    from secrets_app.access.signin import check_password_throttled

    target = None if secret is None else {
        "secret_id": secret.pk, "secret_name": secret.name, "secret_profile": secret.profile}
    if not check_password_throttled(request.user, password, check="re-authentication",
                                    target=target, action=action):
        return False
    stamp(request)
    # A new session key: a copy of the old cookie (a shared machine, a log) stays stale.
    request.session.cycle_key()
    return True
