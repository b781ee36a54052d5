"""Writing a profile's secrets as YAML or dotenv text that `import_file` reads back unchanged
(R16). The values come from `services.reveal_secrets`, which audits them."""

import re

import yaml
from django.views.decorators.debug import sensitive_variables

FORMATS = ("yaml", "dotenv")
_NEEDS_DOUBLE_QUOTES = re.compile(r"['\n\r]")


@sensitive_variables()
def to_yaml(values_by_profile: dict[str, dict[str, str]]) -> str:
    """{profile: {KEY: value}} in the io_config.yaml shape; every value a quoted-if-needed
    string, so numbers, booleans and nulls come back as the same text."""
    return yaml.safe_dump(
        values_by_profile, allow_unicode=True, default_flow_style=False, sort_keys=True,
        width=10_000,
    )


@sensitive_variables()
def to_dotenv(values: dict[str, str]) -> str:
    """KEY='value' lines (literal); values holding a quote or a line break go in double
    quotes with backslash escapes, which `parse_dotenv` reverses."""
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
            lines.append(f"{key}='{value}'")
    return "\n".join(lines) + ("\n" if lines else "")
