"""One sign-in throttle for every way in (R17.5, R17.6): the console form, /admin/login/ and
HTTP Basic on /api/v1/tokens/ all call django.contrib.auth.authenticate(), which asks the
backends in settings.AUTHENTICATION_BACKENDS, so a new sign-in path cannot skip this one.
A form that checks a signed-in user's current password (the admin's password change) is a
password guess too: it calls check_password_throttled(), the same budget and audit rows.

Each attempt is counted with django-ratelimit (atomic cache add/incr) per username and per
client address BEFORE its password is checked, so parallel guesses cannot outrun the count;
a successful sign-in gives its counts back, so only failures use up the budget. Usernames
are keyed as the user model normalises them (NFKC), casefolded, and django-ratelimit hashes
them into the cache key (no raw spaces, control characters or unbounded lengths in keys).
"""

import contextlib
import logging
import unicodedata

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.signals import user_login_failed
from django.core.cache import caches
from django.core.exceptions import ValidationError
from django.db import transaction
from django.dispatch import receiver
from django_ratelimit import ALL
from django_ratelimit.core import _get_window, _make_cache_key, get_usage

from audit_app import log
from audit_app.context import current as current_context
from audit_app.models import AuditAction
from kozmo_secrets.escaping import printable
from secrets_app.access.ratelimit import parse_rate
from secrets_app.shared_cache import CACHE_ERRORS, require_shared_cache

logger = logging.getLogger(__name__)

USER_GROUP = "kozmo.signin.user"
ADDRESS_GROUP = "kozmo.signin.address"
CONTROL_CHARACTERS_MESSAGE = "A username cannot contain control characters."


class LoginThrottled(ValidationError):
    """Too many failed sign-ins for this username or address. A ValidationError, so the
    sign-in forms (console and admin) show it as their error with no code of their own; the
    API answers it with 429 and Retry-After."""

    def __init__(self, retry_after: int):
        self.retry_after = retry_after
        minutes = max(1, -(-retry_after // 60))
        super().__init__(
            f"Too many failed sign-ins. Try again in {minutes} minute{'s' if minutes > 1 else ''}.",
            code="throttled",
        )


def throttle_key(username: str) -> str:
    """The username as the user model normalises it (NFKC), casefolded: `victim` in
    fullwidth letters, `Victim` and `victim` share one budget."""
    return get_user_model().normalize_username(username).casefold()


def has_control_characters(text: str) -> bool:
    return any(unicodedata.category(character) == "Cc" for character in text)



class _Counter:
    """One django-ratelimit counter (a fixed window per key, with per-key jitter)."""

    def __init__(self, group: str, setting: str, value: str):
        self.group, self.value = group, value
        self.rate = parse_rate(getattr(settings, setting), setting=setting)
        self.counted_in = None  # the cache key this attempt was counted under

    def hit(self) -> dict:
        """Count this attempt (atomically) and answer django-ratelimit's usage."""
        before = self._cache_key()
        usage = get_usage(None, group=self.group, key=lambda group, request: self.value,
                          rate=self.rate, method=ALL, increment=True)
        # The key of the window just counted in, unless the window turned meanwhile.
        self.counted_in = before if before == self._cache_key() else None
        return usage

    def give_back(self) -> None:
        if self.counted_in is None:
            return
        # ValueError: the window's counter expired meanwhile, nothing to give back.
        with contextlib.suppress(ValueError):
            caches[getattr(settings, "RATELIMIT_USE_CACHE", "default")].decr(self.counted_in)

    def _cache_key(self) -> str:
        # django-ratelimit 4.1.0 has no "undo": rebuild its key the way get_usage does.
        return _make_cache_key(self.group, _get_window(self.value, self.rate[1]), self.rate,
                               self.value, ALL)


def _admit(username: str, activity: str = "Signing in") -> list[_Counter]:
    """Count one attempt for the username and the client's address; raise LoginThrottled if
    either is over its limit (the attempt stays counted: hammering does not help)."""
    counters = [_Counter(USER_GROUP, "SECRETS_LOGIN_RATE_PER_USER", throttle_key(username)),
                _Counter(ADDRESS_GROUP, "SECRETS_LOGIN_RATE_PER_IP",
                         current_context().ip_address or "unknown")]
    with require_shared_cache(activity):
        usages = [counter.hit() for counter in counters]
    waits = [max(1, usage["time_left"]) for usage in usages
             if usage is not None and usage["should_limit"]]
    if waits:
        raise LoginThrottled(max(waits))
    return counters


def _give_back(counters: list[_Counter]) -> None:
    try:
        for counter in counters:
            counter.give_back()
    except CACHE_ERRORS:  # counted and checked already: the success stands
        logger.warning("Could not give a successful password check's count back to the cache.")


def record_failed_password(username: str, user=None, target=None, **detail) -> None:
    """One LOGIN_FAILED row for a refused password: username, address and user agent (from
    the audit context), the secret it was asked for if any (`target`: secret_id,
    secret_name, secret_profile), never the password."""
    with transaction.atomic():
        log.record(AuditAction.LOGIN_FAILED, user=user, allowed=False, **(target or {}),
                   detail={"username": printable(username[:150], keep_newlines=False), **detail})


def check_password_throttled(user, raw_password: str, check: str = "current password",
                             target=None, **detail) -> bool:
    """Check a known user's current password (e.g. the old password of a password change)
    under the sign-in limits: counted per username and per address before the check (raises
    LoginThrottled over the limit), a wrong password is a LOGIN_FAILED row, a right one
    gives its count back. Shares its budget with signing in as that user. `check` and
    `detail` say in the audit row what the password was asked for; `target` names the
    secret it was asked for (re-authentication, reauth.py)."""
    counters = _admit(user.get_username(), activity="Checking your password")
    if not user.check_password(raw_password):
        record_failed_password(user.get_username(), user=user, target=target, check=check,
                               **detail)
        return False
    _give_back(counters)
    return True


class ThrottledModelBackend(ModelBackend):
    """Django's ModelBackend behind the sign-in throttle. A username with control characters
    (a NUL is a 500 on PostgreSQL) is refused like a wrong password: counted, audited."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        UserModel = get_user_model()
        if username is None:
            username = kwargs.get(UserModel.USERNAME_FIELD)
        if username is None or password is None:
            return None
        username = UserModel.normalize_username(str(username))
        counters = _admit(username)
        if has_control_characters(username):
            UserModel().set_password(password)  # as long as a real check (see ModelBackend)
            return None
        user = super().authenticate(request, username=username, password=password)
        if user is not None:
            _give_back(counters)
        return user

    async def aauthenticate(self, request, username=None, password=None, **kwargs):
        # ModelBackend's own async version would skip the throttle: run the one above.
        return await sync_to_async(self.authenticate)(request, username, password, **kwargs)


@receiver(user_login_failed)
def audit_failed_sign_in(sender, credentials, request=None, **kwargs):
    """Every refused sign-in (any path) is one LOGIN_FAILED row."""
    record_failed_password(str(credentials.get(get_user_model().USERNAME_FIELD) or ""))
