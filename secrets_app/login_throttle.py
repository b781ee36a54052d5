"""Failed sign-ins are throttled per username and per client address, and audited (issue 7).

Password guessing is slowed for the console login and for HTTP Basic on the tokens endpoint
alike: both go through Django's `authenticate`, whose `user_login_failed` signal is counted
here; both ask `check` first and refuse while a limit is reached.
"""

from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.db import transaction
from django.dispatch import receiver

from audit_app import log
from audit_app.context import current
from audit_app.models import AuditAction

from . import ratelimit


class LoginThrottled(Exception):
    def __init__(self, retry_after: int):
        self.retry_after = retry_after
        minutes = max(1, round(retry_after / 60))
        super().__init__(
            f"Too many failed sign-ins. Try again in {minutes} minute{'s' if minutes > 1 else ''}."
        )


def _username(value) -> str:
    return str(value or "").strip().lower()[:150]


def check(username, ip_address) -> None:
    """Raise LoginThrottled while this username or this address has failed too often."""
    for scope, key, rate in (
        ("login-user", _username(username), settings.SECRETS_LOGIN_RATE_PER_USER),
        ("login-ip", ip_address or "unknown", settings.SECRETS_LOGIN_RATE_PER_IP),
    ):
        usage = ratelimit.peek(scope, key, rate)
        if not usage.allowed:
            raise LoginThrottled(usage.retry_after)


@receiver(user_login_failed)
def note_failure(sender, credentials, request=None, **kwargs):
    username = _username(credentials.get("username"))
    ip_address = current().ip_address
    ratelimit.hit("login-user", username, settings.SECRETS_LOGIN_RATE_PER_USER)
    ratelimit.hit("login-ip", ip_address or "unknown", settings.SECRETS_LOGIN_RATE_PER_IP)
    with transaction.atomic():
        log.record(AuditAction.LOGIN_FAILED, user=None, allowed=False,
                   detail={"username": username})
