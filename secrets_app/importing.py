"""Importing secrets from a YAML (Mage AI `io_config.yaml` shape) or dotenv file (R6).

One parser and one upsert, used by `manage.py import_secrets`, the API and the console:

    summary = import_file(data, user=request.user, profile=None, dry_run=False)

Parsing is defensive: size, UTF-8, nesting depth and alias expansion are checked before
anything is built, and a file that fails them raises `InvalidImport` ("Invalid YAML
structure: <reason>") with nothing stored. Entries that are bad on their own (unknown profile,
bad key name, unset `env_var`) are reported one by one while the rest imports. The upsert runs
in one transaction with bulk queries, and writes versions and audit rows in bulk.
"""

import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import yaml
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from audit_app import log
from audit_app.models import AuditAction

from .constants import KEY_PATTERN, SecretProfile, category_for_key
from .crypto import DecryptionError
from .models import Secret, SecretVersion
from .services import require_admin_or_operator

Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when the wheel has it

MAX_DEPTH = 20  # io_config.yaml needs 3 or 4 levels (profile, key, a service-account JSON)
MAX_ALIASES = 100
MAX_EXPANDED_NODES = 100_000  # every node counted once per alias that reaches it
PROFILES = tuple(SecretProfile.values)
TEMPLATE = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
ENV_VAR_TEMPLATE = re.compile(r"""^\s*env_var\(\s*(['"])([^'"]+)\1\s*\)\s*$""")
DOTENV_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$", re.DOTALL)
BATCH = 500


class InvalidImport(ValueError):
    """The file as a whole cannot be imported; nothing was stored."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(f"Invalid YAML structure: {reason}")


class ImportConflict(RuntimeError):
    """Another change to the same secrets committed during the import; nothing was stored."""


@dataclass
class Entry:
    profile: str
    key: str
    value: str = field(repr=False)
    line: int | None = None


@dataclass
class Problem:
    """A skipped or failed entry, with the reason a person can act on."""

    profile: str
    key: str
    reason: str
    line: int | None = None

    def __str__(self) -> str:
        where = f" (line {self.line})" if self.line else ""
        return f"{self.profile}/{self.key}{where}: {self.reason}"


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
            "skipped": len(self.skipped),
            "failed": len(self.failed),
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


def import_file(
    data,
    *,
    user,
    profile: str | None = None,
    dry_run: bool = False,
    file_format: str = "auto",
    filename: str = "",
    progress: Progress | None = None,
) -> ImportSummary:
    """Parse `data` (bytes, str or a binary stream) and upsert its entries.

    `profile` limits a sectioned YAML file to one profile, and is where a flat file or a
    dotenv file goes (default `default`). `file_format` is "yaml", "dotenv" or "auto".
    """
    require_admin_or_operator(user)
    if profile is not None and profile not in PROFILES:
        raise InvalidImport(f"unknown profile '{profile}': use one of {', '.join(PROFILES)}")
    text = read_text(data)
    if file_format == "auto":
        file_format = detect_format(filename, text)
    if file_format == "dotenv":
        entries, skipped, failed = parse_dotenv(text, profile or SecretProfile.DEFAULT)
    elif file_format == "yaml":
        entries, skipped, failed = parse_yaml(text, profile)
    else:
        raise InvalidImport(f"unknown format '{file_format}': use yaml or dotenv")
    summary = ImportSummary(skipped=skipped, failed=failed, dry_run=dry_run)
    _upsert(entries, summary, user=user, dry_run=dry_run, progress=progress)
    return summary


def read_text(data) -> str:
    limit = settings.SECRETS_IMPORT_MAX_BYTES
    if hasattr(data, "read"):
        data = data.read(limit + 1)
    if isinstance(data, str):
        data = data.encode("utf-8")
    if len(data) > limit:
        raise InvalidImport(
            f"the file is larger than {limit // 1_000_000 or limit} "
            f"{'MB' if limit >= 1_000_000 else 'bytes'}; split it into smaller files"
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InvalidImport(
            f"the file is not UTF-8 text (invalid byte at position {error.start}); "
            "save it as UTF-8"
        ) from None


def detect_format(filename: str, text: str) -> str:
    """dotenv for `.env`-style names or `KEY=value` lines, else YAML."""
    base = os.path.basename(filename or "").lower()
    if base.endswith((".yaml", ".yml")):
        return "yaml"
    if base == ".env" or base.startswith(".env.") or base.endswith(".env"):
        return "dotenv"
    for line in text.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            name = stripped.split("=", 1)[0]
            return "dotenv" if DOTENV_LINE.match(stripped) and ":" not in name else "yaml"
    return "yaml"


# --- YAML -------------------------------------------------------------------------------


def _check_events(text: str) -> None:
    """Depth and alias limits, checked on the event stream before any tree is built."""
    depth = aliases = 0
    try:
        for event in yaml.parse(text, Loader=Loader):
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    raise InvalidImport(
                        f"nesting is deeper than {MAX_DEPTH} levels "
                        f"(line {event.start_mark.line + 1})"
                    )
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
            elif isinstance(event, yaml.AliasEvent):
                aliases += 1
                if aliases > MAX_ALIASES:
                    raise InvalidImport(
                        f"more than {MAX_ALIASES} aliases (*references); expand them by hand"
                    )
    except yaml.YAMLError as error:
        raise InvalidImport(f"not valid YAML: {_describe(error)}") from None


def _describe(error: yaml.YAMLError) -> str:
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None) or str(error)
    return f"{problem} (line {mark.line + 1}, column {mark.column + 1})" if mark else problem


def _check_expansion(root: yaml.Node) -> None:
    """Refuse alias bombs: count nodes as if every alias were expanded, without expanding."""
    sizes: dict[int, int] = {}
    stack = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if id(node) in sizes:
            continue
        children = _children(node)
        if children_done or not children:
            total = 1 + sum(sizes[id(child)] for child in children)
            if total > MAX_EXPANDED_NODES:
                raise InvalidImport(
                    f"aliases expand to more than {MAX_EXPANDED_NODES} values "
                    "(a 'billion laughs' file?)"
                )
            sizes[id(node)] = total
        else:
            stack.append((node, True))
            stack.extend((child, False) for child in children if id(child) not in sizes)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def parse_yaml(text: str, profile: str | None):
    """Entries, skipped and failed problems from an io_config.yaml-shaped document."""
    _check_events(text)
    loader = Loader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            raise InvalidImport("the file is empty")
        if not isinstance(root, yaml.MappingNode):
            kind = "a list" if isinstance(root, yaml.SequenceNode) else "a single value"
            raise InvalidImport(
                f"the top level must be a mapping of profiles to KEY: value entries, not {kind}"
            )
        _check_expansion(root)
        return _entries_from(root, profile, loader)
    except yaml.YAMLError as error:
        raise InvalidImport(f"not valid YAML: {_describe(error)}") from None
    finally:
        loader.dispose()


def _is_null(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null"


def _entries_from(root: yaml.MappingNode, only_profile: str | None, loader):
    pairs = [(key, value) for key, value in root.value if not _is_version(key)]
    sectioned = any(
        isinstance(key, yaml.ScalarNode) and key.value in PROFILES
        and (isinstance(value, yaml.MappingNode) or _is_null(value))
        for key, value in pairs
    )
    if not sectioned:  # a flat file: one profile
        return _section(only_profile or SecretProfile.DEFAULT, pairs, loader)

    entries, skipped, failed = [], [], []
    for key, value in pairs:
        name = _scalar_text(key)
        if only_profile and name != only_profile:
            continue
        if isinstance(value, yaml.MappingNode):
            if name in PROFILES:
                section = _section(name, value.value, loader)
                entries += section[0]
                skipped += section[1]
                failed += section[2]
            else:
                reason = f"unknown profile '{name}': use one of {', '.join(PROFILES)}"
                failed += [
                    Problem(name, _scalar_text(entry_key), reason, _line(entry_key))
                    for entry_key, _ in value.value
                ]
        elif not (_is_null(value) and name in PROFILES):
            failed.append(Problem(
                "(top level)", name,
                "this entry is outside any profile section; put it under default:, "
                "development:, staging: or production:", _line(key),
            ))
    return entries, skipped, failed


def _is_version(key: yaml.Node) -> bool:
    return isinstance(key, yaml.ScalarNode) and key.value == "version"


def _scalar_text(node: yaml.Node) -> str:
    return node.value if isinstance(node, yaml.ScalarNode) else "(not a name)"


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


@sensitive_variables()
def _section(profile: str, pairs, loader):
    entries, skipped, failed = [], [], []
    for key_node, value_node in pairs:
        key, line = _scalar_text(key_node), _line(key_node)
        if not KEY_PATTERN.match(key):
            failed.append(Problem(
                profile, key,
                "bad key name: use UPPER_SNAKE (a capital letter, then capitals, digits or "
                "underscores)", line,
            ))
            continue
        if _is_null(value_node):
            skipped.append(Problem(profile, key, "the value is null", line))
            continue
        try:
            value = _value_text(value_node, loader)
            _check_size(value)
        except ValueError as error:
            failed.append(Problem(profile, key, str(error), line))
            continue
        entries.append(Entry(profile, key, value, line))
    return entries, skipped, failed


@sensitive_variables()
def _value_text(node: yaml.Node, loader) -> str:
    """Scalars as written (5432, 3.10 keep their text); booleans as true/false; a nested
    mapping or list as JSON text. `{{ env_var('X') }}` templates are resolved."""
    if isinstance(node, yaml.ScalarNode):
        if node.tag == "tag:yaml.org,2002:bool":
            return "true" if loader.construct_object(node) else "false"
        return _resolve_templates(node.value)
    nested = _resolve_nested(loader.construct_object(node, deep=True))
    return json.dumps(nested, ensure_ascii=False, default=str)


def _resolve_nested(value):
    if isinstance(value, str):
        return _resolve_templates(value)
    if isinstance(value, dict):
        return {key: _resolve_nested(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_resolve_nested(item) for item in value]
    return value


@sensitive_variables()
def _resolve_templates(text: str) -> str:
    def substitute(match: re.Match) -> str:
        env = ENV_VAR_TEMPLATE.match(match.group(1))
        if env is None:
            raise ValueError(
                f"unsupported template {{{{{match.group(1)}}}}}: only "
                "{{ env_var('NAME') }} is resolved"
            )
        name = env.group(2)
        if name not in os.environ:
            raise ValueError(f"environment variable {name} is not set (used by env_var)")
        return os.environ[name]

    return TEMPLATE.sub(substitute, text) if "{{" in text else text


def _check_size(value: str) -> None:
    limit = settings.SECRETS_MAX_VALUE_BYTES
    size = len(value.encode("utf-8"))
    if size > limit:
        raise ValueError(f"the value is too long: at most {limit} bytes (this one has {size})")


# --- dotenv -----------------------------------------------------------------------------

_DOUBLE_QUOTED_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\", "$": "$"}


@sensitive_variables()
def parse_dotenv(text: str, profile: str):
    """`KEY=value` lines: unquoted (an inline ` #` starts a comment), 'single-quoted'
    (literal) or "double-quoted" (escapes \\n \\r \\t \\" \\\\ \\$; may span lines)."""
    entries, failed = [], []
    # Only \n (or \r\n) ends a line: str.splitlines would also split on \x85, \u2028...
    lines = re.split(r"\r?\n", text)
    number = 0
    while number < len(lines):
        raw = lines[number]
        number += 1
        start = number
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        match = DOTENV_LINE.match(raw)
        if not match:
            # The line's text is not echoed: it might be a value.
            failed.append(Problem(profile, f"(line {start})", "not a KEY=value line", start))
            continue
        key, rest = match.group(1), match.group(2)
        try:
            if rest.startswith('"'):
                # A double-quoted value may continue on the following lines.
                while not _closing_quote(rest):
                    if number >= len(lines):
                        raise ValueError("the double-quoted value is never closed")
                    rest += "\n" + lines[number]
                    number += 1
                value = _double_quoted(rest)
            elif rest.startswith("'"):
                end = rest.find("'", 1)
                if end == -1:
                    raise ValueError("the single-quoted value is never closed")
                value = rest[1:end]
            else:
                value = re.split(r"\s+#", rest, maxsplit=1)[0].strip()
            if not KEY_PATTERN.match(key):
                raise ValueError(
                    "bad key name: use UPPER_SNAKE (a capital letter, then capitals, digits or "
                    "underscores)"
                )
            _check_size(value)
        except ValueError as error:
            failed.append(Problem(profile, key, str(error), start))
            continue
        entries.append(Entry(profile, key, value, start))
    return entries, [], failed


def _closing_quote(rest: str) -> bool:
    escaped = False
    for char in rest[1:]:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == '"':
            return True
    return False


@sensitive_variables()
def _double_quoted(rest: str) -> str:
    out, index = [], 1
    while index < len(rest):
        char = rest[index]
        if char == "\\" and index + 1 < len(rest):
            following = rest[index + 1]
            out.append(_DOUBLE_QUOTED_ESCAPES.get(following, "\\" + following))
            index += 2
            continue
        if char == '"':
            return "".join(out)
        out.append(char)
        index += 1
    raise ValueError("the double-quoted value is never closed")


# --- upsert -----------------------------------------------------------------------------


@sensitive_variables()
def _upsert(entries, summary: ImportSummary, *, user, dry_run: bool, progress) -> None:
    # A key given twice in one profile: the last one wins, as in YAML itself.
    latest = {(entry.key, entry.profile): entry for entry in entries}
    total = len(latest)
    try:
        with transaction.atomic():
            # One writer at a time: concurrent imports serialize instead of colliding.
            log.lock_chain()
            existing = _existing_secrets(latest)
            to_create, to_update = [], []
            for done, (identity, entry) in enumerate(latest.items(), start=1):
                secret = existing.get(identity)
                if secret is None:
                    to_create.append(entry)
                elif _same_value(secret, entry.value):
                    summary.unchanged += 1
                else:
                    secret.value = entry.value
                    to_update.append(secret)
                if progress and (done % BATCH == 0 or done == total):
                    progress(done, total)
            summary.created, summary.updated = len(to_create), len(to_update)
            if dry_run or not (to_create or to_update):
                return
            _write(to_create, to_update, summary, user)
    except IntegrityError:
        raise ImportConflict(
            "Another change to these secrets was saved while the import ran; nothing was "
            "imported. Run the import again."
        ) from None


def _existing_secrets(latest: dict) -> dict:
    existing = {}
    by_profile: dict[str, list[str]] = {}
    for key, profile in latest:
        by_profile.setdefault(profile, []).append(key)
    for profile, names in by_profile.items():
        for start in range(0, len(names), BATCH):
            rows = Secret.objects.filter(profile=profile, name__in=names[start:start + BATCH])
            for secret in rows.only("id", "name", "profile", "value"):
                existing[(secret.name, secret.profile)] = secret
    return existing


@sensitive_variables()
def _same_value(secret: Secret, value: str) -> bool:
    try:
        return secret.value.reveal() == value
    except DecryptionError:
        return False  # unreadable under the current keys: the import replaces it


def _write(to_create: list[Entry], to_update: list[Secret], summary, user) -> None:
    now = timezone.now()
    created = [
        Secret(
            name=entry.key, key=entry.key, value=entry.value,
            category=category_for_key(entry.key), profile=entry.profile,
            created_at=now, updated_at=now, created_by=user, updated_by=user,
        )
        for entry in to_create
    ]
    Secret.objects.bulk_create(created, batch_size=BATCH)
    for secret in to_update:
        secret.updated_at, secret.updated_by = now, user
    Secret.objects.bulk_update(
        to_update, ["value", "updated_at", "updated_by"], batch_size=BATCH
    )

    latest_version = {}
    ids = [secret.pk for secret in to_update]
    for start in range(0, len(ids), BATCH):
        rows = (
            SecretVersion.objects.filter(secret_id__in=ids[start:start + BATCH])
            .values("secret_id").annotate(latest=Max("number"))
        )
        latest_version.update({row["secret_id"]: row["latest"] for row in rows})
    versions = [
        SecretVersion(secret=secret, number=1, value=secret.value, created_by=user,
                      created_at=now)
        for secret in created
    ] + [
        SecretVersion(secret=secret, number=latest_version.get(secret.pk, 0) + 1,
                      value=secret.value, created_by=user, created_at=now)
        for secret in to_update
    ]
    SecretVersion.objects.bulk_create(versions, batch_size=BATCH)

    audit = [
        log.Entry(AuditAction.CREATE, secret_id=secret.pk, secret_name=secret.name,
                  secret_profile=secret.profile, detail={"via": "import"}, user=user)
        for secret in created
    ] + [
        log.Entry(AuditAction.UPDATE, secret_id=secret.pk, secret_name=secret.name,
                  secret_profile=secret.profile, detail={"via": "import", "changed": ["value"]},
                  user=user)
        for secret in to_update
    ]
    audit.append(log.Entry(AuditAction.IMPORT, detail=summary.counts(), user=user))
    log.record_many(audit)
