"""Who is acting, from where and through which channel, for the audit rows written meanwhile.

The middleware sets a context per request; commands set channel `cli`; services name the actor
explicitly with `audit_context(user=...)`. The request's user is read lazily because DRF
authenticates tokens after the middleware has run.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from typing import Any


@dataclass(frozen=True)
class AuditContext:
    channel: str = "system"
    ip_address: str | None = None
    user_agent: str = ""
    request: Any = None
    user: Any = None

    def actor(self):
        """The acting user, or None (anonymous, or a command run without --as)."""
        user = self.user
        if user is None and self.request is not None:
            user = getattr(self.request, "user", None)
        if user is None or not getattr(user, "is_authenticated", False):
            return None
        return user


_current: ContextVar[AuditContext] = ContextVar("audit_context", default=AuditContext())  # noqa: B039 - immutable


def current() -> AuditContext:
    return _current.get()


@contextmanager
def audit_context(**changes: Any) -> Iterator[AuditContext]:
    """Run a block with some context fields replaced (user, channel, ...)."""
    token = _current.set(replace(current(), **changes))
    try:
        yield _current.get()
    finally:
        _current.reset(token)


def set_command_line(command: str, os_user: str) -> None:
    """For the rest of this thread, audit rows say `cli`, the command and the OS account
    (manage.py calls this; requests served by runserver set their own context)."""
    _current.set(
        replace(
            current(), channel="cli", user_agent=f"manage.py {command} (os user {os_user})"[:255]
        )
    )
