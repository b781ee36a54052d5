"""What a parsed file holds: entries and the problems found reading it."""

from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ValidationError
from django.views.decorators.debug import sensitive_variables

from secrets_app.constants import ValueFormat, category_for_key
from secrets_app.validation import (
    EMPTY_VALUE,
    check_value,
    require_value,
)

# What to do with a template the server cannot resolve (R22): `{{ mage_secret_var(...) }}`,
# or an env_var this import may not read. fail: the entry fails (the default); skip: it is
# reported as skipped with the reason; keep: the text is stored as written, as `!literal`.
TEMPLATE_CHOICES = ("fail", "skip", "keep")
MAX_PROBLEMS = 1000  # skipped and failed entries reported; past it the file is refused whole


class InvalidImport(ValueError):
    """The file as a whole cannot be imported; nothing was stored."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(f"Invalid YAML structure: {reason}")


@dataclass
class FileEntry:
    """One entry to store. `key` is the secret's name; a connector block (`trino:`) keeps
    its lowercase name there and gives its UPPER key and category in `secret_key` and
    `category`."""

    profile: str
    key: str
    value: str = field(repr=False)
    line: int | None = None
    value_format: str = ValueFormat.TEXT
    secret_key: str = ""
    category: str | None = None

    @property
    def stored_key(self) -> str:
        return self.secret_key or self.key


@dataclass
class Problem:
    """A skipped or failed entry, with the reason a person can act on. One problem may stand
    for several entries (`entries`) that fail for one reason: a section of an unconfigured
    profile is named once, not once per key; it has no `key` then, and its section's line."""

    profile: str
    key: str
    reason: str
    line: int | None = None
    entries: int = 1

    def __str__(self) -> str:
        where = f" (line {self.line})" if self.line and not self.key.startswith("(line") else ""
        return f"{self.profile}{'/' if self.key else ''}{self.key}{where}: {self.reason}"


def entry_count(problems: list[Problem]) -> int:
    """How many entries of the file the problems stand for (what the summary counts)."""
    return sum(problem.entries for problem in problems)


def size_text(limit: int) -> str:
    """The import size limit as the messages and the console's help text say it: 5 MB."""
    return f"{limit // 1_000_000} MB" if limit >= 1_000_000 else f"{limit} bytes"


@sensitive_variables()
def read_text(data) -> str:
    limit = settings.SECRETS_IMPORT_MAX_BYTES
    if hasattr(data, "read"):
        data = data.read(limit + 1)
    if isinstance(data, str):
        data = data.encode("utf-8")
    if len(data) > limit:
        raise InvalidImport(
            f"the file is larger than {size_text(limit)}; split it into smaller files")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InvalidImport(
            f"the file is not UTF-8 text (invalid byte at position {error.start}); "
            "save it as UTF-8"
        ) from None


@sensitive_variables()
def admit(entry: FileEntry, entries: list, skipped: list, failed: list) -> None:
    """The value rules of create (validation.py), on the value as it will be stored: an empty
    one is skipped, an oversized one fails its entry."""
    try:
        require_value(entry.value,
                      category=entry.category or category_for_key(entry.stored_key))
    except ValidationError:
        skipped.append(Problem(entry.profile, entry.key, EMPTY_VALUE, entry.line))
        return
    try:
        check_value(entry.value)
    except ValidationError as error:
        failed.append(Problem(entry.profile, entry.key, error.messages[0], entry.line))
        return
    entries.append(entry)


def check_templates(choice: str) -> str:
    if choice not in TEMPLATE_CHOICES:
        raise InvalidImport(
            f"unknown templates choice '{choice}': use one of {', '.join(TEMPLATE_CHOICES)}")
    return choice


def check_problem_count(skipped: list, failed: list) -> None:
    """A file with more bad entries than any secrets file has (a log, a binary, a wrong
    upload) is refused whole, before its report grows to megabytes."""
    if entry_count(skipped) + entry_count(failed) > MAX_PROBLEMS:
        raise InvalidImport(
            f"more than {MAX_PROBLEMS} entries were skipped or failed: is this the right "
            "file? Fix it, or split it, and import again"
        )
