"""`manage.py rotate_encryption_key`: re-encrypt every stored value under the first key (R11).

Works in batches, each its own transaction with one ROTATE audit row, so an interrupted run
keeps what it finished; running again skips values already under the first key (resumable,
and harmless when there is nothing to do). Afterwards the old keys can be removed.
"""

from django.core.management.base import CommandError
from django.db import transaction

from audit_app import log
from audit_app.models import AuditAction
from secrets_app.crypto import DecryptionError, get_encryption_service
from secrets_app.fields import Sealed
from secrets_app.management.secrets_command import SecretsCommand
from secrets_app.models import KeyCheck, Secret, SecretVersion, SSHTunnel

# Every encrypted column in the database: (model, its encrypted fields).
ENCRYPTED_COLUMNS = [
    (Secret, ["value"]),
    (SecretVersion, ["value"]),
    (SSHTunnel, ["password", "private_key"]),
]


class Command(SecretsCommand):
    help = "Re-encrypt every stored value under the first key of SECRETS_ENCRYPTION_KEYS."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args, batch_size, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        service = get_encryption_service()
        rotated = unreadable = 0
        for model, fields in ENCRYPTED_COLUMNS:
            done, failed = self._rotate_table(service, model, fields, batch_size)
            rotated += done
            unreadable += failed
        self._rotate_key_check(service)
        if unreadable:
            raise CommandError(
                f"{unreadable} value(s) could not be decrypted with any configured key and "
                "were left as they are. Add the key they were written with to "
                "SECRETS_ENCRYPTION_KEYS and run this command again."
            )
        self.stdout.write(
            f"Rotation complete: {rotated} row(s) re-encrypted under the first key.",
            self.style.SUCCESS,
        )

    def _rotate_table(self, service, model, fields, batch_size):
        label = model._meta.verbose_name_plural
        total = model.objects.count()
        seen = rotated = unreadable = 0
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
                changed = []
                for row in batch:
                    row_changed, row_unreadable = self._rotate_row(service, row, fields, label)
                    unreadable += row_unreadable
                    if row_changed:
                        changed.append(row)
                if changed:
                    model.objects.bulk_update(changed, fields)
                    log.record(
                        AuditAction.ROTATE,
                        detail={"table": model._meta.db_table, "rows": len(changed)},
                    )
                    rotated += len(changed)
            self.stdout.write(f"{label}: {seen}/{total} checked, {rotated} re-encrypted")
        return rotated, unreadable

    def _rotate_key_check(self, service):
        """The start-up key check's sentinel follows the data to the first key (R17.21), so
        the old keys can be removed afterwards. Not a secret: not counted, not audited."""
        with transaction.atomic():
            for row in KeyCheck.objects.select_for_update():
                if not service.is_current(row.value.token):
                    try:
                        row.value = Sealed(service.rotate(row.value.token))
                    except DecryptionError:
                        self.stderr.write("  cannot decrypt the key check sentinel")
                        continue
                    row.save(update_fields=["value"])

    def _rotate_row(self, service, row, fields, label) -> tuple[bool, int]:
        """Re-encrypt the row's values not yet under the first key: (any changed, unreadable)."""
        changed, unreadable = False, 0
        for field in fields:
            sealed = getattr(row, field)
            if sealed is None or service.is_current(sealed.token):
                continue
            try:
                setattr(row, field, Sealed(service.rotate(sealed.token)))
                changed = True
            except DecryptionError:
                unreadable += 1
                self.stderr.write(f"  cannot decrypt {label} {row.pk} ({field})")
        return changed, unreadable
