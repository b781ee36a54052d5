"""`manage.py rotate_encryption_key`: re-encrypt every stored value under the first key (R11).

Works in batches, each its own transaction with one ROTATE audit row, so an interrupted run
keeps what it finished; running again skips values already under the first key (resumable,
and harmless when there is nothing to do). Afterwards the old keys can be removed. The work
is services.bulk.rotate_encryption; this command shows its progress.
"""

from django.core.management.base import CommandError

from secrets_app.management.secrets_command import SecretsCommand
from secrets_app.services.bulk import rotate_encryption


class Command(SecretsCommand):
    help = "Re-encrypt every stored value under the first key of SECRETS_ENCRYPTION_KEYS."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args, batch_size, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        summary = rotate_encryption(batch_size, say=self.stdout.write, warn=self.stderr.write)
        if summary.unreadable:
            raise CommandError(
                f"{summary.unreadable} value(s) could not be decrypted with any configured key "
                "and were left as they are. Add the key they were written with to "
                "SECRETS_ENCRYPTION_KEYS and run this command again."
            )
        self.stdout.write(
            f"Rotation complete: {summary.rotated} row(s) re-encrypted under the first key.",
            self.style.SUCCESS,
        )
