"""Writing a profile's secrets as YAML or dotenv text that `import_file` reads back unchanged
(R16). The values come from `services.reveal_secrets`, which audits them."""

import json
import re

import yaml
from django.views.decorators.debug import sensitive_variables

from secrets_app.constants import CONNECTOR_NAME, KEY_PATTERN, ValueFormat
from secrets_app.formats.yaml import EXPORT_MARKER, LITERAL_TAG

FORMATS = ("yaml", "dotenv")
_NEEDS_DOUBLE_QUOTES = re.compile(r"['\n\r]")
# Characters YAML reads as line breaks or may drop (NEL, line/paragraph separators, BOM,
# controls): only the double-quoted style escapes them all.
_YAML_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\ufeff]")


class _ExportDumper(yaml.SafeDumper):
    pass


class _AsWritten(str):
    """Text written as it was imported: a template kept with `--templates keep`, and every
    string inside a mapping or list. No !literal tag, so Mage resolves the template and
    `yaml.safe_load` reads the file; importing it again needs `--templates keep`."""


def _represent_text(dumper, value: str):
    style = '"' if _YAML_UNSAFE.search(value) else None
    # "{{" would read back as a template: the !literal tag tells the importer to keep it.
    tag = LITERAL_TAG if "{{" in value else "tag:yaml.org,2002:str"
    return dumper.represent_scalar(tag, value, style=style)


def _represent_as_written(dumper, value: str):
    style = '"' if _YAML_UNSAFE.search(value) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", str(value), style=style)


_ExportDumper.add_representer(str, _represent_text)
_ExportDumper.add_representer(_AsWritten, _represent_as_written)


def exportable_name(name: str, value_format: str) -> bool:
    """Can `import_file` read this name back as the same secret? An UPPER_SNAKE key, or a
    connector block's lowercase name (`trino`) holding a mapping."""
    return bool(KEY_PATTERN.match(name)) or (
        value_format == ValueFormat.JSON and CONNECTOR_NAME.fullmatch(name) is not None)


@sensitive_variables()
def shaped(value: str, value_format: str):
    """What the YAML export writes for a stored value: a mapping or list for one imported
    that way (R22), a kept template as written, else the text. JSON text that no longer
    parses (edited since) is written as text."""
    if value_format == ValueFormat.TEMPLATE:
        return _AsWritten(value)
    if value_format == ValueFormat.JSON:
        try:
            nested = json.loads(value)
        except ValueError:
            return value
        if isinstance(nested, dict | list):
            return _as_written(nested)
    return value


def _as_written(value):
    if isinstance(value, str):
        return _AsWritten(value)
    if isinstance(value, dict):
        return {_AsWritten(key): _as_written(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_as_written(item) for item in value]
    return value


@sensitive_variables()
def to_yaml(values_by_profile: dict[str, dict]) -> str:
    """{profile: {KEY: value}} in the io_config.yaml shape; every text value a
    quoted-if-needed string, so numbers, booleans and nulls come back as the same text; a
    value from `shaped` as its mapping or list. Profiles and names are sorted; a mapping's
    own keys keep their order, so it reads back as the same JSON text (unchanged)."""
    ordered = {
        profile: {name: values[name] for name in sorted(values)}
        for profile, values in sorted(values_by_profile.items())
    }
    return EXPORT_MARKER + "\n" + yaml.dump(
        ordered, Dumper=_ExportDumper, allow_unicode=True,
        default_flow_style=False, sort_keys=False, width=10_000,
    )


@sensitive_variables()
def to_dotenv(values: dict[str, str]) -> str:
    """KEY='value' lines; values holding a quote or a line break go in double quotes. Both
    use backslash escapes, which `parse_dotenv` (python-dotenv's reading) reverses: in single
    quotes `\\\\` is one backslash, as python-dotenv's own `set_key` writes it."""
    lines = []
    for key in sorted(values):
        value = values[key]
        if _NEEDS_DOUBLE_QUOTES.search(value):
            escaped = (
                value.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$")
                .replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
            )
            lines.append(f'{key}="{escaped}"')
        else:
            escaped = value.replace("\\", "\\\\")
            lines.append(f"{key}='{escaped}'")
    return "\n".join(lines) + ("\n" if lines else "")
