"""The audit row of a change to a secret, built in one place: the post-save signal (one secret)
and the import (many, in bulk) both record through `secret_change_entry`.

What the signal records comes from the instance (its changed fields, see Secret.changed_fields)
and the audit context. A service whose change is more than its fields say tells it so with
`recorded_as(...)` around the save: a restore is a RESTORE with its version numbers, and an
update that also touched the SSH tunnel (another table) adds "ssh_tunnel" to "changed".
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from audit_app import log
from audit_app.models import AuditAction


@dataclass(frozen=True)
class Recording:
    action: str | None = None  # instead of CREATE/UPDATE
    detail: dict | None = None  # instead of {"changed": [...]}
    also_changed: tuple[str, ...] = ()  # beyond the model's own fields


_recording: ContextVar[Recording] = ContextVar("secret_recording", default=Recording())  # noqa: B039 - immutable


@contextmanager
def recorded_as(*, action: str | None = None, detail: dict | None = None,
                also_changed=()) -> Iterator[None]:
    """Saves of a Secret inside this block are audited with this action, detail or extra
    changed names (the signal reads it; nothing is set on the instance)."""
    token = _recording.set(Recording(action, detail, tuple(also_changed)))
    try:
        yield
    finally:
        _recording.reset(token)


def saved_entry(secret, *, created: bool, changed: list[str]) -> log.Entry:
    """The row the post-save signal writes for `secret`: CREATE with no detail; UPDATE naming
    the changed fields, sorted; or what `recorded_as` says."""
    recording = _recording.get()
    if created:
        return secret_change_entry(AuditAction.CREATE, secret)
    changed = sorted({*changed, *recording.also_changed})
    detail = recording.detail if recording.detail is not None else (
        {"changed": changed} if changed else {})
    return secret_change_entry(recording.action or AuditAction.UPDATE, secret, detail=detail)


def secret_change_entry(action: str, secret, *, detail: dict | None = None,
                        **user) -> log.Entry:
    """One audit row about `secret`. `user=` names the actor; without it, the context's."""
    return log.Entry(action, secret_id=secret.pk, secret_name=secret.name,
                     secret_profile=secret.profile, detail=detail or {}, **user)
