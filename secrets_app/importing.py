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
from django.core.exceptions import ValidationError
from django.db import IntegrityError, OperationalError, transaction
from django.db.models import Max
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from audit_app import log
from audit_app.context import current as current_context
from audit_app.models import AuditAction, Channel

from .constants import SecretProfile, category_for_key
from .counting import secrets_changed
from .crypto import DecryptionError
from .models import Secret, SecretVersion
from .services import admit_reveal, require_admin_or_operator
from .validation import (
    EMPTY_VALUE,
    check_value,
    describe_name,
    key_message,
    key_problems,
    require_value,
    skeleton_digest,
)

Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when the wheel has it

MAX_DEPTH = 20  # io_config.yaml needs 3 or 4 levels (profile, key, a service-account JSON)
MAX_ALIASES = 100
MAX_ALIAS_EXPANSION = 100_000  # values that aliases add when expanded
PROFILES = tuple(SecretProfile.values)
TEMPLATE = re.compile(r"\{\{([^{}]*)\}\}")  # no nesting: linear time on any input
LITERAL_TAG = "!literal"  # exported values holding "{{": taken as written, never resolved
ENV_VAR_TEMPLATE = re.compile(r"""^\s*env_var\(\s*(['"])([^'"]+)\1\s*\)\s*$""")
DOTENV_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$", re.DOTALL)
BATCH = 500
IMPORT_TARGET = "import"  # the secret_name of a refused import's audit row
IMPORT_RATE_LIMITED = (
    "Rate limit reached: an import compares the file's values with the stored ones, so it "
    "counts as a decrypt (SECRETS_DECRYPT_RATE). Try again in {seconds} s."
)


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
) -> ImportSummary:
    """Parse `data` (bytes, str or a binary stream) and upsert its entries.

    `profile` limits a sectioned YAML file to one profile, and is where a flat file or a
    dotenv file goes (default `default`). `file_format` is "yaml", "dotenv" or "auto".
    `env_var` templates are resolved only on the command line unless `resolve_env_vars`
    says otherwise: an uploaded file must not read the server's environment (its keys).
    """
    require_admin_or_operator(user)
    if resolve_env_vars is None:
        resolve_env_vars = current_context().channel == Channel.CLI
    if profile is not None and profile not in PROFILES:
        raise InvalidImport(f"unknown profile '{profile}': use one of {', '.join(PROFILES)}")
    text = read_text(data)
    if file_format == "auto":
        file_format = detect_format(filename, text)
    if file_format == "dotenv":
        entries, skipped, failed = _last_line_wins(
            *parse_dotenv(text, profile or SecretProfile.DEFAULT)
        )
    elif file_format == "yaml":
        entries, skipped, failed = parse_yaml(text, profile, resolve_env_vars=resolve_env_vars)
    else:
        raise InvalidImport(f"unknown format '{file_format}': use yaml or dotenv")
    summary = ImportSummary(skipped=skipped, failed=failed, dry_run=dry_run)
    # Its "unchanged" answers whether a value is right, so every import costs one decrypt
    # (R17.2). With the cache down a real import still runs (R17.19): only a dry run, which
    # stores nothing and exists only to compare, needs the limit to be counted.
    admit_reveal(user, {"secret_name": IMPORT_TARGET, "secret_profile": profile or ""},
                 uncounted_ok=not dry_run)
    _upsert(entries, summary, user=user, dry_run=dry_run, progress=progress, profile=profile)
    return summary


@sensitive_variables()
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
    """Refuse alias bombs and self-referencing aliases: count nodes as if every alias were
    expanded, without expanding anything."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()  # expanded, not yet sized: the current path from the root
    stack = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if id(node) in sizes:
            continue
        children = _children(node)
        if children_done or not children:
            open_nodes.discard(id(node))
            total = 1 + sum(sizes[id(child)] for child in children)
            # What aliases add on top of the nodes actually written: a big honest file
            # is fine, a small file that expands to millions is not.
            if total - len(sizes) > MAX_ALIAS_EXPANSION:
                raise InvalidImport(
                    f"aliases expand to more than {MAX_ALIAS_EXPANSION} extra values "
                    "(a 'billion laughs' file?)"
                )
            sizes[id(node)] = total
        elif id(node) in open_nodes:
            raise InvalidImport(
                f"an alias refers to a value that contains it (line {_line(node)})"
            )
        else:
            open_nodes.add(id(node))
            stack.append((node, True))
            stack.extend((child, False) for child in children if id(child) not in sizes)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


@sensitive_variables()
def parse_yaml(text: str, profile: str | None, *, resolve_env_vars: bool = True):
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
        return _entries_from(root, profile, _Reader(loader, resolve_env_vars))
    except yaml.YAMLError as error:
        raise InvalidImport(f"not valid YAML: {_describe(error)}") from None
    finally:
        loader.dispose()


def _is_null(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null"


def _pairs(reader, node: yaml.MappingNode):
    """A mapping's (key, value) nodes as `yaml.safe_load` builds the mapping: one pair per key.

    PyYAML's flatten_mapping expands `<<` merge keys (nested merges too) into a list ordered
    so that the last pair of a key is the one that counts: merged pairs first, `<<: [*a, *b]`
    as b's pairs then a's (the earlier mapping wins), then the keys written in the mapping
    (they override merged ones, an explicit null too). PyYAML's dict keeps that last pair;
    so does this, so a key is reported once, with the value that is really stored. A key
    written twice is taken the same way (the last one), as Mage AI reads this file with PyYAML.
    """
    try:
        reader.loader.flatten_mapping(node)
    except yaml.YAMLError as error:
        raise InvalidImport(f"not valid YAML: {_describe(error)}") from None
    last: dict = {}
    for key, value in node.value:
        # Keys are compared as the text reported for them; a non-scalar key is its own.
        identity = key.value if isinstance(key, yaml.ScalarNode) else id(key)
        last.pop(identity, None)  # reported where it was written last
        last[identity] = (key, value)
    return list(last.values())


def _entries_from(root: yaml.MappingNode, only_profile: str | None, reader):
    pairs = [(key, value) for key, value in _pairs(reader, root) if not _is_version(key)]
    sectioned = any(
        isinstance(key, yaml.ScalarNode) and key.value in PROFILES
        and (isinstance(value, yaml.MappingNode) or _is_null(value))
        for key, value in pairs
    )
    if not sectioned:  # a flat file: one profile
        return _section(only_profile or SecretProfile.DEFAULT, pairs, reader)

    entries, skipped, failed = [], [], []
    for key, value in pairs:
        name = _scalar_text(key)
        if only_profile and name != only_profile:
            continue
        if isinstance(value, yaml.MappingNode):
            if name in PROFILES:
                section = _section(name, _pairs(reader, value), reader)
                entries += section[0]
                skipped += section[1]
                failed += section[2]
            else:
                reason = f"unknown profile '{name}': use one of {', '.join(PROFILES)}"
                failed += [
                    Problem(name, _scalar_text(entry_key), reason, _line(entry_key))
                    for entry_key, _ in _pairs(reader, value)
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
def _section(profile: str, pairs, reader):
    entries, skipped, failed = [], [], []
    for key_node, value_node in pairs:
        key, line = _scalar_text(key_node), _line(key_node)
        if key_problems(key):
            nested = isinstance(value_node, yaml.MappingNode)
            failed.append(Problem(profile, key, key_message(key, nested=nested), line))
            continue
        if _is_null(value_node):
            skipped.append(Problem(profile, key, "the value is null", line))
            continue
        try:
            value = reader.value_text(value_node)
        except ValueError as error:  # reasons written for people, never quoting the value
            failed.append(Problem(profile, key, str(error), line))
            continue
        except Exception:  # a tag or nested value no constructor accepts
            failed.append(Problem(
                profile, key, "the value cannot be read: an unknown tag or a malformed "
                "nested value", line,
            ))
            continue
        _admit(Entry(profile, key, value, line), entries, skipped, failed)
    return entries, skipped, failed


@sensitive_variables()
def _admit(entry: Entry, entries: list, skipped: list, failed: list) -> None:
    """The value rules of create (validation.py), on the value as it will be stored: an empty
    one is skipped, an oversized one fails its entry."""
    try:
        require_value(entry.value, category=category_for_key(entry.key))
    except ValidationError:
        skipped.append(Problem(entry.profile, entry.key, EMPTY_VALUE, entry.line))
        return
    try:
        check_value(entry.value)
    except ValidationError as error:
        failed.append(Problem(entry.profile, entry.key, error.messages[0], entry.line))
        return
    entries.append(entry)


class _Reader:
    """Turns value nodes into stored text: scalars as written (5432 and 3.10 keep their
    text), booleans as true/false, nested mappings and lists as JSON text. `{{ env_var('X') }}`
    templates are resolved only when allowed; `!literal` values never are."""

    def __init__(self, loader, resolve_env_vars: bool):
        self.loader = loader
        self.resolve_env_vars = resolve_env_vars

    @sensitive_variables()
    def value_text(self, node: yaml.Node) -> str:
        if isinstance(node, yaml.ScalarNode):
            _check_size(node.value)
            if node.tag == LITERAL_TAG:
                return node.value
            if node.tag == "tag:yaml.org,2002:bool":
                return "true" if self.loader.construct_object(node) else "false"
            return self._templates(node.value)
        nested = self._nested(self.loader.construct_object(node, deep=True))
        text = json.dumps(nested, ensure_ascii=False, default=str)
        _check_size(text)
        return text

    def _nested(self, value):
        if isinstance(value, str):
            return self._templates(value)
        if isinstance(value, dict):
            return {str(key): self._nested(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self._nested(item) for item in value]
        return value

    @sensitive_variables()
    def _templates(self, text: str) -> str:
        if "{{" not in text:
            return text

        def substitute(match: re.Match) -> str:
            env = ENV_VAR_TEMPLATE.match(match.group(1))
            if env is None:
                raise ValueError(
                    "unsupported template: only {{ env_var('NAME') }} is resolved"
                )
            if not self.resolve_env_vars:
                raise ValueError(
                    "env_var templates are resolved only by `manage.py import_secrets`: an "
                    "upload cannot read the server's environment"
                )
            name = env.group(2)
            if name not in os.environ:
                raise ValueError(f"environment variable {name} is not set (used by env_var)")
            return os.environ[name]

        return TEMPLATE.sub(substitute, text)


def _check_size(value: str) -> None:
    """The size rule early, before templates and nesting do any work on a huge value."""
    try:
        check_value(value)
    except ValidationError as error:
        raise ValueError(error.messages[0]) from None


# --- dotenv -----------------------------------------------------------------------------

_DOUBLE_QUOTED_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\", "$": "$"}


@sensitive_variables()
def parse_dotenv(text: str, profile: str):
    """`KEY=value` lines: unquoted (an inline ` #` starts a comment), 'single-quoted'
    (literal) or "double-quoted" (escapes \\n \\r \\t \\" \\\\ \\$; may span lines).
    One pass over the text, whatever it holds."""
    entries, skipped, failed = [], [], []
    position, line_number = 0, 0
    while position < len(text):
        end = _line_end(text, position)
        line = text[position:end].rstrip("\r")
        line_number += 1
        start_line = line_number
        next_position = end + 1
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            position = next_position
            continue
        match = DOTENV_LINE.match(line)
        if not match:
            # The line's text is not echoed: it might be a value.
            failed.append(Problem(profile, f"(line {start_line})", "not a KEY=value line",
                                  start_line))
            position = next_position
            continue
        key = match.group(1)
        value_start = position + match.start(2)
        try:
            if text.startswith('"', value_start):
                value, closing = _double_quoted(text, value_start)
                line_number += text.count("\n", value_start, closing)
                next_position = _line_end(text, closing) + 1
            else:
                value = _single_line_value(match.group(2))
            if key_problems(key):
                raise ValueError(key_message(key))
        except ValueError as error:
            failed.append(Problem(profile, key, str(error), start_line))
        else:
            _admit(Entry(profile, key, value, start_line), entries, skipped, failed)
        position = next_position
    return entries, skipped, failed


@sensitive_variables()
def _last_line_wins(entries: list[Entry], skipped: list[Problem], failed: list[Problem]):
    """A key given on several lines has the outcome of its last line only, as a shell or
    python-dotenv would read the file: stored, or reported, once (an earlier good value is
    not stored when the last line fails)."""
    last: dict[tuple[str, str], tuple[str, Entry | Problem]] = {}
    outcomes = [("entry", e) for e in entries] + [("skipped", p) for p in skipped] + [
        ("failed", p) for p in failed
    ]
    for kind, outcome in sorted(outcomes, key=lambda pair: pair[1].line or 0):
        last[(outcome.profile, outcome.key)] = (kind, outcome)
    kept = sorted(last.values(), key=lambda pair: pair[1].line or 0)
    return tuple([outcome for kind, outcome in kept if kind == wanted]
                 for wanted in ("entry", "skipped", "failed"))


def _line_end(text: str, position: int) -> int:
    end = text.find("\n", position)
    return len(text) if end == -1 else end


@sensitive_variables()
def _single_line_value(rest: str) -> str:
    if rest.startswith("'"):
        end = rest.find("'", 1)
        if end == -1:
            raise ValueError("the single-quoted value is never closed")
        return rest[1:end]
    comment = re.search(r"\s#", rest)
    return (rest[:comment.start()] if comment else rest).strip()


@sensitive_variables()
def _double_quoted(text: str, opening: int) -> tuple[str, int]:
    """The value of the double-quoted string opening at `opening`, and where it closes."""
    out, index = [], opening + 1
    while index < len(text):
        char = text[index]
        if char == "\\" and index + 1 < len(text):
            following = text[index + 1]
            out.append(_DOUBLE_QUOTED_ESCAPES.get(following, "\\" + following))
            index += 2
            continue
        if char == '"':
            return "".join(out), index
        out.append(char)
        index += 1
    raise ValueError("the double-quoted value is never closed")


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
                elif _same_value(secret, entry.value):
                    summary.unchanged += 1
                else:
                    secret.value = entry.value
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
        by_profile.setdefault(profile, []).append(skeleton_digest(name))
    for profile, digests in by_profile.items():
        for start in range(0, len(digests), BATCH):
            rows = Secret.objects.filter(profile=profile,
                                         name_skeleton__in=digests[start:start + BATCH])
            for name, digest in rows.values_list("name", "name_skeleton"):
                taken[(profile, digest)] = name
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
            for secret in rows.only("id", "name", "profile", "value"):
                existing[(secret.name, secret.profile)] = secret
    return existing


@sensitive_variables()
def _same_value(secret: Secret, value: str) -> bool:
    try:
        return secret.value.reveal() == value
    except DecryptionError:
        return False  # unreadable under the current keys: the import replaces it


def _write(to_create: list[Entry], to_update: list[Secret], summary, user,
           profile: str | None) -> None:
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
    audit.append(log.Entry(
        AuditAction.IMPORT, user=user, secret_profile=profile or "",
        detail={**summary.counts(), "dry_run": False, "profile": profile or "all"},
    ))
    log.record_many(audit)
    secrets_changed()
