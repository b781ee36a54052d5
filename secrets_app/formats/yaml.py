"""The hardened reader of YAML secret files (Mage AI `io_config.yaml` shape, R6)."""

import json
import os
import re

import yaml
from django.core.exceptions import ValidationError
from django.views.decorators.debug import sensitive_variables

from secrets_app.child_env import withheld
from secrets_app.constants import (
    CONNECTOR_NAME,
    DEFAULT_PROFILE,
    KEY_PATTERN,
    PROFILE_NAME_PATTERN,
    ValueFormat,
    category_for_connector,
    profiles,
    unknown_profile_message,
)
from secrets_app.formats.entries import (
    FileEntry,
    InvalidImport,
    Problem,
    admit,
    check_templates,
)
from secrets_app.validation import (
    check_value,
    key_message,
    key_problems,
)

Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when the wheel has it
MAX_DEPTH = 20  # io_config.yaml needs 3 or 4 levels (profile, key, a service-account JSON)
MAX_ALIASES = 100
MAX_ALIAS_EXPANSION = 100_000  # values that aliases add when expanded
TEMPLATE = re.compile(r"\{\{([^{}]*)\}\}")  # no nesting: linear time on any input
LITERAL_TAG = "!literal"  # exported values holding "{{": taken as written, never resolved
ENV_VAR_TEMPLATE = re.compile(r"""^\s*env_var\(\s*(['"])([^'"]+)\1\s*\)\s*$""")



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


# The first line of every YAML export. An export is data: a template in it was stored as text
# (kept from a file, typed by someone), so reading it back never resolves it, whoever imports
# it and however (an upload's kept env_var must not turn into the operator's value on a
# backup round trip). No braces: Mage renders the whole file as a template first.
EXPORT_MARKER = "# Exported by Kozmo Secrets: its templates are data, kept as written."


def is_export(text: str) -> bool:
    return text.lstrip("\ufeff").startswith(EXPORT_MARKER)


@sensitive_variables()
def parse_yaml(text: str, profile: str | None, *, resolve_env_vars: bool = True,
               templates: str = "fail"):
    """Entries, skipped and failed problems from an io_config.yaml-shaped document.
    `templates` (fail, skip, keep) says what becomes of a template this import cannot
    resolve (R22); in a Kozmo export every template is kept as written (EXPORT_MARKER)."""
    check_templates(templates)
    if is_export(text):
        resolve_env_vars, templates = False, "keep"
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
        return _entries_from(root, profile, _Reader(loader, resolve_env_vars, templates))
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
    configured = profiles()  # SECRETS_PROFILES (R22)
    sectioned = any(
        (isinstance(key, yaml.ScalarNode) and key.value in configured
         and (isinstance(value, yaml.MappingNode) or _is_null(value)))
        or _unconfigured_section(key, value, reader)
        for key, value in pairs
    )
    if not sectioned:  # a flat file: one profile
        return _section(only_profile or DEFAULT_PROFILE, pairs, reader)

    entries, skipped, failed = [], [], []
    for key, value in pairs:
        name = _scalar_text(key)
        if only_profile and name != only_profile:
            if not isinstance(value, yaml.MappingNode) and not _is_null(value):
                # Outside any section: not another profile's, so said, not dropped.
                skipped.append(Problem("(top level)", name, (
                    f"outside the {only_profile}: section, and only {only_profile} was asked "
                    "for"), _line(key)))
            continue
        if isinstance(value, yaml.MappingNode):
            if name in configured:
                section = _section(name, _pairs(reader, value), reader)
                entries += section[0]
                skipped += section[1]
                failed += section[2]
            else:
                # One problem for the whole section: a Mage file's dev: would otherwise
                # repeat the same sentence once per key. A lone entry keeps its key.
                keys = [entry_key for entry_key, _ in _pairs(reader, value)]
                if len(keys) == 1:
                    failed.append(Problem(name, _scalar_text(keys[0]),
                                          unknown_profile_message(name), _line(keys[0])))
                elif keys:
                    failed.append(Problem(name, "", unknown_profile_message(name, len(keys)),
                                          _line(key), entries=len(keys)))
        elif not (_is_null(value) and name in configured):
            failed.append(Problem(
                "(top level)", name,
                "this entry is outside any profile section; put it under "
                f"{', '.join(f'{profile}:' for profile in configured)}", _line(key),
            ))
    return entries, skipped, failed


def _unconfigured_section(key: yaml.Node, value: yaml.Node, reader) -> bool:
    """A profile-shaped name (`qa:`) holding credential keys: a section of a profile that is
    not configured, so a file of `dev:` and `prod:` alone says which setting admits them
    rather than calling each section a bad key. A connector block (`trino:`) holds lowercase
    settings, so it is not taken for one."""
    return (
        isinstance(key, yaml.ScalarNode) and bool(PROFILE_NAME_PATTERN.match(key.value))
        and isinstance(value, yaml.MappingNode)
        and any(isinstance(inner, yaml.ScalarNode) and KEY_PATTERN.match(inner.value)
                for inner, _ in _pairs(reader, value))
    )


def _is_version(key: yaml.Node) -> bool:
    return isinstance(key, yaml.ScalarNode) and key.value == "version"


def _scalar_text(node: yaml.Node) -> str:
    return node.value if isinstance(node, yaml.ScalarNode) else "(not a name)"


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _is_connector_block(key: str, value_node: yaml.Node) -> bool:
    """`trino:`, `spark:`, ...: a lowercase identifier holding a mapping, not a profile's
    name (a profile nested in a profile is a mistake, reported as a bad key name)."""
    return (isinstance(value_node, yaml.MappingNode) and CONNECTOR_NAME.fullmatch(key)
            is not None and key not in profiles())


@sensitive_variables()
def _section(profile: str, pairs, reader):
    entries, skipped, failed = [], [], []
    for key_node, value_node in pairs:
        key, line = _scalar_text(key_node), _line(key_node)
        connector = _is_connector_block(key, value_node)
        if not connector and key_problems(key):
            nested = isinstance(value_node, yaml.MappingNode)
            failed.append(Problem(profile, key, key_message(key, nested=nested), line))
            continue
        if connector and key_problems(key.upper()):  # too long for a key
            failed.append(Problem(profile, key, key_message(key.upper()), line))
            continue
        if _is_null(value_node):
            skipped.append(Problem(profile, key, "the value is null", line))
            continue
        try:
            try:
                value, value_format = reader.value_text(value_node)
            except Unresolved:
                if reader.templates != "keep":
                    raise
                value, value_format = reader.as_written(value_node)  # never Unresolved
        except Unresolved as error:
            reason = str(error)
            if reader.templates == "skip" and profile != DEFAULT_PROFILE:
                # R5.5: a profile without the key reads `default`'s, which may be a
                # placeholder a production job must not get.
                reason += f"; {profile} then reads {DEFAULT_PROFILE}'s {key}, if it has one"
            (skipped if reader.templates == "skip" else failed).append(
                Problem(profile, key, reason, line))
            continue
        except ValueError as error:  # reasons written for people, never quoting the value
            failed.append(Problem(profile, key, str(error), line))
            continue
        except Exception:  # a tag or nested value no constructor accepts
            failed.append(Problem(
                profile, key, "the value cannot be read: an unknown tag or a malformed "
                "nested value", line,
            ))
            continue
        entry = FileEntry(profile, key, value, line, value_format)
        if connector:  # stored under its own name, with an UPPER key (validation.py)
            entry.secret_key, entry.category = key.upper(), category_for_connector(key)
        admit(entry, entries, skipped, failed)
    return entries, skipped, failed


class Unresolved(ValueError):
    """A template this import cannot resolve: what `templates` (fail, skip, keep) decides."""


class _Reader:
    """Turns value nodes into stored text and its ValueFormat: scalars as written (5432 and
    3.10 keep their text), booleans as true/false, nested mappings and lists as JSON text.
    `{{ env_var('X') }}` templates are resolved only when allowed; `!literal` values never
    are; a template left unresolved raises Unresolved, or is kept as written (`as_written`)."""

    def __init__(self, loader, resolve_env_vars: bool, templates: str = "fail"):
        self.loader = loader
        self.resolve_env_vars = resolve_env_vars
        self.templates = templates
        self.resolving = True

    @sensitive_variables()
    def value_text(self, node: yaml.Node) -> tuple[str, str]:
        if isinstance(node, yaml.ScalarNode):
            _check_size(node.value)
            if node.tag == LITERAL_TAG:
                return node.value, ValueFormat.TEXT
            if node.tag == "tag:yaml.org,2002:bool":
                return ("true" if self.loader.construct_object(node) else "false",
                        ValueFormat.TEXT)
            text = self._templates(node.value)
            kept = not self.resolving and "{{" in text
            return text, ValueFormat.TEMPLATE if kept else ValueFormat.TEXT
        nested = self._nested(self.loader.construct_object(node, deep=True))
        text = json.dumps(nested, ensure_ascii=False, default=str)
        _check_size(text)
        return text, ValueFormat.JSON

    @sensitive_variables()
    def as_written(self, node: yaml.Node) -> tuple[str, str]:
        """The value with every template kept as written, none resolved (`keep`)."""
        self.resolving = False
        try:
            return self.value_text(node)
        finally:
            self.resolving = True

    def _nested(self, value):
        if isinstance(value, str):
            return self._templates(value)
        if isinstance(value, dict):
            nested = {str(key): self._nested(item) for key, item in value.items()}
            if len(nested) < len(value):
                # 1 and "1" (or true and "True") are one key as text: one would be lost.
                raise ValueError("two keys inside this mapping are the same as text (e.g. 1 "
                                 "and '1'): quote them so they differ")
            return nested
        if isinstance(value, list):
            return [self._nested(item) for item in value]
        if value is not None and not isinstance(value, bool | int | float):
            # A set, bytes or a date would be stored as Python's printout of it.
            raise ValueError(f"a value inside this mapping is a {type(value).__name__}, "
                             "which JSON cannot hold: write it as text")
        return value

    @sensitive_variables()
    def _templates(self, text: str) -> str:
        if "{{" not in text or not self.resolving:
            return text

        def substitute(match: re.Match) -> str:
            env = ENV_VAR_TEMPLATE.match(match.group(1))
            if env is None:
                # True for the way in: an upload (or an --as user who may not read
                # `default`) resolves no template at all, not even env_var.
                raise Unresolved(
                    "unsupported template: only {{ env_var('NAME') }} is resolved (the "
                    "templates choice keep stores it as written, skip leaves it out)"
                    if self.resolve_env_vars else
                    "unsupported template: this import resolves none (only the manage.py "
                    "import_secrets command resolves {{ env_var('NAME') }}, for the operator "
                    "or an --as user who may read `default`); the templates choice keep "
                    "stores it as written, skip leaves it out"
                )
            if not self.resolve_env_vars:
                raise Unresolved(
                    "env_var templates are resolved only by the manage.py import_secrets "
                    "command, for the operator or an --as user who may read `default`: an "
                    "upload cannot read the server's environment"
                )
            name = env.group(2)
            if withheld(name):
                raise Unresolved(
                    f"environment variable {name} is the server's own configuration (or its "
                    "sign-in, or set only by .env): env_var cannot read it"
                )
            if name not in os.environ:
                raise Unresolved(f"environment variable {name} is not set (used by env_var)")
            return os.environ[name]

        return TEMPLATE.sub(substitute, text)


def _check_size(value: str) -> None:
    """The size rule early, before templates and nesting do any work on a huge value."""
    try:
        check_value(value)
    except ValidationError as error:
        raise ValueError(error.messages[0]) from None
