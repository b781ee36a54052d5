"""Writing a profile's secrets as YAML or dotenv text that `import_file` reads back unchanged
(R16). The values come from `services.reveal_secrets`, which audits them."""

import re

import yaml
from django.views.decorators.debug import sensitive_variables

from secrets_app.formats.yaml import LITERAL_TAG

FORMATS = ("yaml", "dotenv")
_NEEDS_DOUBLE_QUOTES = re.compile(r"['\n\r]")
# Characters YAML reads as line breaks or may drop (NEL, line/paragraph separators, BOM,
# controls): only the double-quoted style escapes them all.
_YAML_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\ufeff]")


class _ExportDumper(yaml.SafeDumper):
    pass


def _represent_text(dumper, value: str):
    style = '"' if _YAML_UNSAFE.search(value) else None
    # "{{" would read back as a template: the !literal tag tells the importer to keep it.
    tag = LITERAL_TAG if "{{" in value else "tag:yaml.org,2002:str"
    return dumper.represent_scalar(tag, value, style=style)


_ExportDumper.add_representer(str, _represent_text)


@sensitive_variables()
def to_yaml(values_by_profile: dict[str, dict[str, str]]) -> str:
    """{profile: {KEY: value}} in the io_config.yaml shape; every value a quoted-if-needed
    string, so numbers, booleans and nulls come back as the same text."""
    return yaml.dump(
        values_by_profile, Dumper=_ExportDumper, allow_unicode=True,
        default_flow_style=False, sort_keys=True, width=10_000,
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
