"""`manage.py import_secrets FILE`: import an io_config.yaml (or a .env file) (R6)."""

import sys

from django.core.management.base import CommandError

from secrets_app.formats.entries import TEMPLATE_CHOICES, InvalidImport
from secrets_app.management.secrets_command import SecretsCommand
from secrets_app.services.bulk import IMPORT_RATE_LIMITED, ImportConflict, import_file
from secrets_app.services.reveal import RateLimited


class Command(SecretsCommand):
    help = (
        "Import secrets from a YAML file shaped like Mage AI's io_config.yaml (top-level keys "
        "are profiles, each holding KEY: value entries) or from a .env file. An existing "
        "secret with the same name in the same profile is updated; unchanged values are left "
        "alone. Prints a summary; exits with status 1 if any entry failed."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "file", metavar="FILE", help="The file to import; - reads standard input."
        )
        self.add_profile_option(
            parser,
            "Import only this profile's section of a YAML file; for a flat YAML file or a "
            ".env file, the profile its entries go to (default: default).",
            default=None,
        )
        parser.add_argument(
            "--format", dest="file_format", choices=["auto", "yaml", "dotenv"], default="auto",
            help="How to read FILE (default: auto, from its name and first line).",
        )
        parser.add_argument(
            "--templates", choices=TEMPLATE_CHOICES, default="fail",
            help="A template this command cannot resolve ({{ mage_secret_var('x') }}, or an "
                 "env_var that is unset or not readable here): fail its entry (default), "
                 "skip it (reported with its reason), or keep the text as written.",
        )
        parser.add_argument(
            "--dry-run", action="store_true",
            help="Check the file and show what would change, without storing anything.",
        )
        self.add_as_option(parser)

    def handle(self, *args, file, profile, file_format, dry_run, as_user, templates,
               **options):
        user = self.acting_user(as_user)
        progress = self._progress_bar if self.stdout.isatty() else None
        try:
            if file == "-":
                summary = self._import(sys.stdin.buffer, user, profile, file_format, dry_run,
                                       "", progress, templates)
            else:
                try:
                    with open(file, "rb") as handle:
                        summary = self._import(handle, user, profile, file_format, dry_run,
                                               file, progress, templates)
                except OSError as error:
                    raise CommandError(f"Cannot read {file}: {error.strerror}.") from None
        except (InvalidImport, ImportConflict) as error:
            raise CommandError(str(error)) from None
        except RateLimited as error:
            raise CommandError(IMPORT_RATE_LIMITED.format(seconds=error.retry_after)) from None
        if progress:
            self.stdout.write("")
        self._report(summary, file)

    @staticmethod
    def _import(stream, user, profile, file_format, dry_run, filename, progress, templates):
        return import_file(stream, user=user, profile=profile, dry_run=dry_run,
                           file_format=file_format, filename=filename, progress=progress,
                           templates=templates)

    def _progress_bar(self, done: int, total: int) -> None:
        width = 30
        filled = width * done // total if total else width
        bar = f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total}"
        self.stdout.write_raw(bar, ending="")  # \r redraws the line: digits and #s only
        self.stdout.flush()

    def _report(self, summary, file) -> None:
        source = "standard input" if file == "-" else file
        title = "Dry run of" if summary.dry_run else "Imported"
        self.stdout.write(f"{title} {source}: {summary}")
        for heading, problems in (("Skipped", summary.skipped), ("Failed", summary.failed)):
            if problems:
                self.stdout.write(f"{heading}:")
                for problem in problems:
                    self.stdout.write(f"  {problem}")
        if summary.dry_run:
            self.stdout.write("Nothing was stored (--dry-run).")
        failed = summary.counts()["failed"]  # entries, not lines: a section is one line
        if failed:
            raise CommandError(
                f"{failed} entr{'y' if failed == 1 else 'ies'} failed; "
                "fix them and import again (the rest was "
                f"{'checked' if summary.dry_run else 'imported'})."
            )
