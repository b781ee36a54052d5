"""The one audit writer, and the chain verifier (R10, R12).

Each row's hash covers its own content and the previous row's hash, so altering, removing or
reordering rows breaks the chain at that point. Writers lock the chain head, which makes the
chain linear, and write inside the caller's transaction: if the audit row cannot be written,
the operation it records rolls back with it (fail closed).
"""

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC

from django.db import transaction

from audit_app.context import current
from audit_app.models import GENESIS_HASH, AuditChainHead, AuditLog, AuditSecretRead
from kozmo_secrets.escaping import printable

_FROM_CONTEXT = object()


@dataclass
class Entry:
    """One audit row to write. `user` defaults to the context's actor."""

    action: str
    allowed: bool = True
    secret_id: object = None
    secret_name: str = ""
    secret_profile: str = ""
    detail: dict = field(default_factory=dict)
    user: object = _FROM_CONTEXT


def entry_hash(row: AuditLog) -> str:
    """SHA-256 over the previous hash and a canonical JSON of the row's content."""
    content = {
        "sequence": row.sequence,
        "timestamp": row.timestamp.astimezone(UTC).isoformat(timespec="microseconds"),
        "user_id": row.user_id,
        "username": row.username,
        "action": row.action,
        "secret_id": str(row.secret_id) if row.secret_id else None,
        "secret_name": row.secret_name,
        "secret_profile": row.secret_profile,
        "ip_address": row.ip_address,
        "user_agent": row.user_agent,
        "channel": row.channel,
        "allowed": row.allowed,
        "detail": row.detail,
    }
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(f"{row.prev_hash}:{canonical}".encode()).hexdigest()


TEXT_FIELDS = ("username", "secret_name", "secret_profile", "user_agent")


def _as_stored(row: AuditLog) -> None:
    """Put values in the form the database gives back, so the hash computed now matches the
    one recomputed on verification (an IPv4-mapped address, a UUID given as text, a tuple).
    Text fields may come from a request (a name that was refused, a user agent): they are
    stored as text, control characters escaped, cut to the column's length, so whatever a
    caller passes the row is written and its hash verifies."""
    for name in TEXT_FIELDS:
        limit = AuditLog._meta.get_field(name).max_length
        row.__dict__[name] = printable(str(getattr(row, name) or ""), keep_newlines=False)[:limit]
    ip_field = AuditLog._meta.get_field("ip_address")
    row.ip_address = ip_field.get_prep_value(row.ip_address)
    row.secret_id = AuditLog._meta.get_field("secret_id").to_python(row.secret_id)
    row.detail = json.loads(json.dumps(row.detail))


def lock_chain() -> None:
    """Take the chain's writer lock until the current transaction ends. Bulk operations take
    it first, so they run one at a time and see each other's committed rows."""
    AuditChainHead.objects.select_for_update().get_or_create(pk=1)


def record(action: str, **fields) -> AuditLog:
    """Write one audit row in the current transaction."""
    return record_many([Entry(action, **fields)])[0]


def record_many(entries: Iterable[Entry]) -> list[AuditLog]:
    """Write several audit rows with one lock, one hash pass and one bulk insert."""
    context = current()
    entries = list(entries)
    with transaction.atomic():
        # The migration creates the head; get_or_create covers a flushed database.
        head, _ = AuditChainHead.objects.select_for_update().get_or_create(pk=1)
        rows = []
        for entry in entries:
            user = context.actor() if entry.user is _FROM_CONTEXT else entry.user
            detail = entry.detail
            if hasattr(user, "audit_as"):  # a program acting under a person's name
                user, about_caller = user.audit_as()
                detail = {**detail, **about_caller}
            row = AuditLog(
                sequence=head.last_sequence + 1,
                user_id=user.pk if user is not None else None,
                username=user.get_username() if user is not None else "",
                action=entry.action,
                secret_id=entry.secret_id,
                secret_name=entry.secret_name,
                secret_profile=entry.secret_profile,
                ip_address=context.ip_address,
                user_agent=context.user_agent,
                channel=context.channel,
                allowed=entry.allowed,
                detail=detail,
                prev_hash=head.last_hash,
            )
            _as_stored(row)
            row.entry_hash = entry_hash(row)
            head.last_sequence, head.last_hash = row.sequence, row.entry_hash
            rows.append(row)
        if rows:
            AuditLog.objects.bulk_create(rows)
            head.save(update_fields=["last_sequence", "last_hash"])
            # A row naming further secrets it read (detail.secret_ids: a credentials request,
            # R20) is indexed, so the filter by secret finds it by any of them.
            reads = [AuditSecretRead(row=row, secret_id=secret_id)
                     for row in rows for secret_id in sorted(_listed_reads(row))]
            if reads:
                AuditSecretRead.objects.bulk_create(reads)
    return rows


def _secrets_read(rows) -> dict[int, set[str]]:
    """row id -> the secret ids its index rows name (AuditSecretRead), for a batch."""
    found: dict[int, set[str]] = {}
    pairs = AuditSecretRead.objects.filter(row_id__in=[row.pk for row in rows])
    for row_id, secret_id in pairs.values_list("row_id", "secret_id"):
        found.setdefault(row_id, set()).add(str(secret_id))
    return found


def _listed_reads(row: AuditLog) -> set[str]:
    """What the row itself (hashed) says it read besides its own secret_id."""
    listed = row.detail.get("secret_ids") if isinstance(row.detail, dict) else None
    if not isinstance(listed, list):
        return set()
    own = str(row.secret_id) if row.secret_id else None
    return {str(secret_id) for secret_id in listed if str(secret_id) != own}


@dataclass
class ChainReport:
    ok: bool
    checked: int
    message: str
    broken_sequence: int | None = None


def verify_chain(batch_size: int = 2000) -> ChainReport:
    """Walk the whole log in order and report the first broken link."""
    expected_prev = GENESIS_HASH
    expected_sequence = 1
    checked = 0
    last_seen = 0
    while True:
        batch = list(
            AuditLog.objects.filter(sequence__gt=last_seen).order_by("sequence")[:batch_size]
        )
        if not batch:
            break
        reads = _secrets_read(batch)
        for row in batch:
            if row.sequence != expected_sequence:
                return ChainReport(
                    False, checked,
                    f"Entry #{expected_sequence} is missing: the log jumps to "
                    f"#{row.sequence} (rows were deleted).",
                    expected_sequence,
                )
            if row.prev_hash != expected_prev:
                return ChainReport(
                    False, checked,
                    f"Entry #{row.sequence} does not link to the entry before it "
                    "(rows were removed, reordered or altered).",
                    row.sequence,
                )
            if entry_hash(row) != row.entry_hash:
                return ChainReport(
                    False, checked,
                    f"Entry #{row.sequence} (id {row.pk}) was altered: its content no longer "
                    "matches its hash.",
                    row.sequence,
                )
            # After the hash: an altered row is reported as altered, whatever its detail.
            if reads.get(row.pk, set()) != _listed_reads(row):
                return ChainReport(
                    False, checked,
                    f"Entry #{row.sequence}'s index of the secrets it read no longer matches "
                    "the entry (index rows were removed or added).",
                    row.sequence,
                )
            expected_prev = row.entry_hash
            expected_sequence += 1
            checked += 1
        last_seen = batch[-1].sequence
    head = AuditChainHead.objects.filter(pk=1).first() or AuditChainHead()
    if head.last_sequence != checked or (checked and head.last_hash != expected_prev):
        return ChainReport(
            False, checked,
            f"The log ends at #{checked} but the chain head expects #{head.last_sequence}: "
            "entries at the end were removed or altered.",
            checked + 1,
        )
    return ChainReport(True, checked, f"Audit log intact: {checked} entries verified.")
