"""The bulk operations: importing secrets from a YAML (Mage AI `io_config.yaml` shape) or
dotenv file (R6), and re-encrypting everything under the first key (R11, `rotate_encryption`).

One parser and one upsert, used by `manage.py import_secrets`, the API and the console:

    summary = import_file(data, user=request.user, profile=None, dry_run=False)

Parsing is defensive: size, UTF-8, nesting depth and alias expansion are checked before
anything is built, and a file that fails them raises `InvalidImport` ("Invalid YAML
structure: <reason>") with nothing stored. Entries that are bad on their own (unknown profile,
bad key name, unset `env_var`) are reported one by one while the rest imports. The upsert runs
in one transaction with bulk queries, and writes versions and audit rows in bulk.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import IntegrityError, OperationalError, transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from audit_app import log
from audit_app.context import current as current_context
from audit_app.models import AuditAction, Channel
from secrets_app.access.policy import access_of
from secrets_app.audit import secret_change_entry
from secrets_app.constants import DEFAULT_PROFILE, ValueFormat, profiles, unknown_profile_message
from secrets_app.crypto import DecryptionError, get_encryption_service
from secrets_app.fields import Sealed
from secrets_app.formats.dotenv import detect_format, last_line_wins, parse_dotenv
from secrets_app.formats.entries import (
    FileEntry,
    InvalidImport,
    Problem,
    check_problem_count,
    check_templates,
    entry_count,
    read_text,
)
from secrets_app.formats.yaml import parse_yaml
from secrets_app.list_counts import secrets_changed
from secrets_app.models import KeyCheck, Secret, SecretVersion, SSHTunnel
from secrets_app.services.reveal import admit_reveal
from secrets_app.services.rules import (
    BATCH,
    FIRST_VERSION,
    infer_category,
    look_alikes,
    next_version_numbers,
    same_value,
)
from secrets_app.validation import describe_name, skeleton_digest

IMPORT_TARGET = "import"  # the secret_name of a refused import's audit row
IMPORT_RATE_LIMITED = (
    "Rate limit reached: an import compares the file's values with the stored ones, so it "
    "counts as a decrypt (SECRETS_DECRYPT_RATE). Try again in {seconds} s."
)


class ImportConflict(RuntimeError):
    """Another change to the same secrets committed during the import; nothing was stored."""


@dataclass
class ImportSummary:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: list[Problem] = field(default_factory=list)
    failed: list[Problem] = field(default_factory=list)
    dry_run: bool = False

    def counts(self) -> dict[str, int]:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "skipped": entry_count(self.skipped),
            "failed": entry_count(self.failed),
        }

    def as_dict(self) -> dict:
        return {
            **self.counts(),
            "dry_run": self.dry_run,
            "skipped_entries": [problem.__dict__ for problem in self.skipped],
            "failures": [problem.__dict__ for problem in self.failed],
        }

    def __str__(self) -> str:
        return ", ".join(f"{count} {name}" for name, count in self.counts().items())


Progress = Callable[[int, int], None]


@sensitive_variables()
def import_file(
    data,
    *,
    user,
    profile: str | None = None,
    dry_run: bool = False,
    file_format: str = "auto",
    filename: str = "",
    progress: Progress | None = None,
    resolve_env_vars: bool | None = None,
    templates: str = "fail",
) -> ImportSummary:
    """Parse `data` (bytes, str or a binary stream) and upsert its entries.

    `profile` limits a sectioned YAML file to one profile, and is where a flat file or a
    dotenv file goes (default `default`). `file_format` is "yaml", "dotenv" or "auto".
    `env_var` templates are resolved only on the command line unless `resolve_env_vars`
    says otherwise: an uploaded file must not read the server's environment (its keys).
    `templates` (fail, skip, keep) decides what becomes of a template left unresolved (R22).
    """
    # Its "unchanged" answers whether a value is right, so every import costs one decrypt
    # (R17.2), charged before the file is read: a refusal (not an admin, audited; over the
    # budget) costs the server nothing. With the cache down a real import still runs
    # (R17.19): only a dry run, which stores nothing and exists only to compare, needs the
    # limit to be counted.
    admit_reveal(user, {"secret_name": IMPORT_TARGET, "secret_profile": profile or ""},
                 None, uncounted_ok=not dry_run)
    if resolve_env_vars is None:
        # The server's environment counts as `default` (R18): on the command line it is read
        # for the operator and for those who may read `default`, never for an upload.
        resolve_env_vars = current_context().channel == Channel.CLI and (
            user is None or access_of(user).reads(DEFAULT_PROFILE))
    if profile is not None and profile not in profiles():
        raise InvalidImport(unknown_profile_message(profile))
    check_templates(templates)
    text = read_text(data)
    if file_format == "auto":
        file_format = detect_format(filename, text)
    if file_format == "dotenv":
        entries, skipped, failed = last_line_wins(
            *parse_dotenv(text, profile or DEFAULT_PROFILE)
        )
    elif file_format == "yaml":
        entries, skipped, failed = parse_yaml(text, profile, resolve_env_vars=resolve_env_vars,
                                              templates=templates)
    else:
        raise InvalidImport(f"unknown format '{file_format}': use yaml or dotenv")
    entries = _within_grants(entries, user, failed)
    check_problem_count(skipped, failed)
    summary = ImportSummary(skipped=skipped, failed=failed, dry_run=dry_run)
    _upsert(entries, summary, user=user, dry_run=dry_run, progress=progress, profile=profile)
    return summary


def _within_grants(entries: list[FileEntry], user, failed: list[Problem]) -> list[FileEntry]:
    """An editor imports into their profiles only (R18): every other entry fails, saying
    why, before anything is compared or stored. Admins and the operator write everywhere."""
    if user is None and current_context().channel == Channel.CLI:
        return entries
    access = access_of(user)
    kept = []
    for entry in entries:
        if access.writes(entry.profile):
            kept.append(entry)
        else:
            failed.append(Problem(entry.profile, entry.key,
                                  f"you have no editor grant on {entry.profile}", entry.line))
    return kept


# --- upsert -----------------------------------------------------------------------------


@sensitive_variables()
def _upsert(entries, summary: ImportSummary, *, user, dry_run: bool, progress,
            profile: str | None = None) -> None:
    # A key given twice in one profile: the last one wins, as in YAML itself.
    latest = {(entry.key, entry.profile): entry for entry in entries}
    total = len(latest)
    try:
        with transaction.atomic():
            # One writer at a time: concurrent imports serialize instead of colliding.
            log.lock_chain()
            existing = _existing_secrets(latest)
            _refuse_look_alikes(latest, existing, summary)
            total = len(latest)
            to_create, to_update = [], []
            for done, (identity, entry) in enumerate(latest.items(), start=1):
                secret = existing.get(identity)
                if secret is None:
                    to_create.append(entry)
                elif same_value(secret, entry.value):
                    if entry.value_format in (ValueFormat.TEXT, secret.value_format):
                        # Plain text (a .env file) says nothing about shape: keep the stored one.
                        summary.unchanged += 1
                    else:  # the same text, now known as a mapping or a kept template (R22)
                        secret.value_format, secret.import_changed = entry.value_format, [
                            "value_format"]
                        to_update.append(secret)
                else:
                    secret.value, secret.value_format = entry.value, entry.value_format
                    secret.import_changed = ["value"]
                    to_update.append(secret)
                if progress and (done % BATCH == 0 or done == total):
                    progress(done, total)
            summary.created, summary.updated = len(to_create), len(to_update)
            if dry_run or not (to_create or to_update):
                # Compared, nothing stored: still one row saying who asked and what it was
                # told, since "unchanged" answers whether a value was right (R17.2).
                log.record(
                    AuditAction.IMPORT, user=user, secret_profile=profile or "",
                    detail={**summary.counts(), "dry_run": dry_run, "profile": profile or "all"},
                )
                return
            _write(to_create, to_update, summary, user, profile)
    except (IntegrityError, OperationalError) as error:
        if isinstance(error, OperationalError) and not _is_lock_conflict(error):
            raise
        raise ImportConflict(
            "Another change to these secrets was saved while the import ran; nothing was "
            "imported. Run the import again."
        ) from None


def _refuse_look_alikes(latest: dict, existing: dict, summary: ImportSummary) -> None:
    """A new entry whose name looks like another secret's in its profile (R17.11), stored or
    earlier in this file, fails with a reason naming that secret; the rest imports."""
    new = [identity for identity in latest if identity not in existing]
    taken: dict[tuple[str, str], str] = {}  # (profile, skeleton digest) -> name
    by_profile: dict[str, list[str]] = {}
    for name, profile in new:
        by_profile.setdefault(profile, []).append(name)
    for profile, names in by_profile.items():
        taken.update({(profile, digest): name
                      for digest, name in look_alikes(profile, names).items()})
    for identity in new:
        name, profile = identity
        digest = skeleton_digest(name)
        other = taken.setdefault((profile, digest), name)
        if other != name:
            entry = latest.pop(identity)
            summary.failed.append(Problem(
                profile, name, "a secret with a look-alike name already exists in this "
                f"profile: {describe_name(other)}; rename one of them", entry.line,
            ))


def _is_lock_conflict(error: OperationalError) -> bool:
    """PostgreSQL's deadlock or serialization failure: retrying is the cure."""
    return getattr(error.__cause__, "sqlstate", None) in {"40P01", "40001"}


def _existing_secrets(latest: dict) -> dict:
    existing = {}
    by_profile: dict[str, list[str]] = {}
    for key, profile in latest:
        by_profile.setdefault(profile, []).append(key)
    for profile, names in by_profile.items():
        for start in range(0, len(names), BATCH):
            rows = Secret.objects.filter(profile=profile, name__in=names[start:start + BATCH])
            for secret in rows.only("id", "name", "profile", "value", "value_format"):
                existing[(secret.name, secret.profile)] = secret
    return existing


def _write(to_create: list[FileEntry], to_update: list[Secret], summary, user,
           profile: str | None) -> None:
    now = timezone.now()
    created = [
        Secret(
            name=entry.key, key=entry.stored_key, value=entry.value,
            value_format=entry.value_format, profile=entry.profile,
            category=entry.category or infer_category(None, entry.stored_key),
            created_at=now, updated_at=now, created_by=user, updated_by=user,
        )
        for entry in to_create
    ]
    Secret.objects.bulk_create(created, batch_size=BATCH)
    for secret in to_update:
        secret.updated_at, secret.updated_by = now, user
    Secret.objects.bulk_update(
        to_update, ["value", "value_format", "updated_at", "updated_by"], batch_size=BATCH
    )

    # A new version only where the value changed, not its shape alone.
    revised = [secret for secret in to_update if "value" in secret.import_changed]
    next_number = next_version_numbers(secret.pk for secret in revised)
    versions = [
        SecretVersion(secret=secret, number=FIRST_VERSION, value=secret.value,
                      created_by=user, created_at=now, profile=secret.profile)
        for secret in created
    ] + [
        SecretVersion(secret=secret, number=next_number.get(secret.pk, FIRST_VERSION),
                      value=secret.value, created_by=user, created_at=now,
                      profile=secret.profile)
        for secret in revised
    ]
    SecretVersion.objects.bulk_create(versions, batch_size=BATCH)

    audit = [
        secret_change_entry(AuditAction.CREATE, secret, detail={"via": "import"}, user=user)
        for secret in created
    ] + [
        secret_change_entry(AuditAction.UPDATE, secret,
                            detail={"via": "import", "changed": secret.import_changed},
                            user=user)
        for secret in to_update
    ]
    audit.append(log.Entry(
        AuditAction.IMPORT, user=user, secret_profile=profile or "",
        detail={**summary.counts(), "dry_run": False, "profile": profile or "all"},
    ))
    log.record_many(audit)
    secrets_changed()


# --- rotation (R11) -------------------------------------------------------------------------

# Every encrypted column in the database: (model, its encrypted fields).
ENCRYPTED_COLUMNS = [
    (Secret, ["value"]),
    (SecretVersion, ["value"]),
    (SSHTunnel, ["password", "private_key"]),
]
Say = Callable[[str], None]


@dataclass
class RotationSummary:
    rotated: int = 0
    unreadable: int = 0


def rotate_encryption(batch_size: int = BATCH, *, say: Say = print,
                      warn: Say = print) -> RotationSummary:
    """Re-encrypt every stored value not yet under the first key. Works in batches, each its
    own transaction with one ROTATE audit row, so an interrupted run keeps what it finished
    and running again skips what is done. `say` gets progress lines; `warn` names each value
    no configured key opens (left as it is, counted in `unreadable`)."""
    service = get_encryption_service()
    summary = RotationSummary()
    for model, fields in ENCRYPTED_COLUMNS:
        _rotate_table(service, model, fields, batch_size, summary, say, warn)
    _rotate_key_check(service, warn)
    return summary


def _rotate_table(service, model, fields, batch_size, summary, say: Say, warn: Say) -> None:
    label = model._meta.verbose_name_plural
    total = model.objects.count()
    seen = rotated = 0
    last_pk = None
    while True:
        # Rows are locked while rotated, so a concurrent edit cannot be overwritten.
        with transaction.atomic():
            log.lock_chain()  # chain first, then rows: the order every writer uses
            rows = model.objects.select_for_update().order_by("pk").only("pk", *fields)
            if last_pk is not None:
                rows = rows.filter(pk__gt=last_pk)
            batch = list(rows[:batch_size])
            if not batch:
                break
            last_pk = batch[-1].pk
            seen += len(batch)
            changed = [row for row in batch
                       if _rotate_row(service, row, fields, label, summary, warn)]
            if changed:
                model.objects.bulk_update(changed, fields)
                log.record(AuditAction.ROTATE,
                           detail={"table": model._meta.db_table, "rows": len(changed)})
                rotated += len(changed)
        say(f"{label}: {seen}/{total} checked, {rotated} re-encrypted")
    summary.rotated += rotated


def _rotate_key_check(service, warn: Say) -> None:
    """The start-up key check's sentinel follows the data to the first key (R17.21), so the
    old keys can be removed afterwards. Not a secret: not counted, not audited."""
    with transaction.atomic():
        for row in KeyCheck.objects.select_for_update():
            if not service.is_current(row.value.token):
                try:
                    row.value = Sealed(service.rotate(row.value.token))
                except DecryptionError:
                    warn("  cannot decrypt the key check sentinel")
                    continue
                row.save(update_fields=["value"])


def _rotate_row(service, row, fields, label, summary, warn: Say) -> bool:
    """Re-encrypt the row's values not yet under the first key; True if any changed."""
    changed = False
    for name in fields:
        sealed = getattr(row, name)
        if sealed is None or service.is_current(sealed.token):
            continue
        try:
            setattr(row, name, Sealed(service.rotate(sealed.token)))
            changed = True
        except DecryptionError:
            summary.unreadable += 1
            warn(f"  cannot decrypt {label} {row.pk} ({name})")
    return changed
