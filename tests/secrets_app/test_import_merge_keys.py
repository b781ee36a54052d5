"""R17.13: YAML merge keys (https://yaml.org/type/merge.html) and keys given twice.

An import stores what `yaml.safe_load` of the same file gives (the reader Mage AI uses for
io_config.yaml): keys written in a mapping override merged ones, an explicit null too; with
`<<: [*a, *b]` the earlier mapping wins; nested merges apply. Each resulting key is reported
exactly once, with its real outcome.
"""

from collections import Counter

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from secrets_app.formats.yaml import parse_yaml
from secrets_app.models import Secret
from secrets_app.services.bulk import import_file

PROFILES = ["default", "development", "staging", "production"]
ISSUE_EXAMPLE = (
    b"default: &d {MYSQL_PASSWORD: shared, SNOWFLAKE_TIMEOUT: null}\n"
    b"development: {<<: *d, MYSQL_PASSWORD: null, SNOWFLAKE_TIMEOUT: 120}\n"
)


def outcome(text: str, profile=None):
    """{(profile, key): value or None for skipped-as-null}; fails on a key reported twice."""
    entries, skipped, failed = parse_yaml(text, profile)
    reported = [(e.profile, e.key) for e in entries] + [(p.profile, p.key) for p in skipped]
    reported += [(p.profile, p.key) for p in failed]
    twice = [pair for pair, count in Counter(reported).items() if count > 1]
    assert not twice, f"reported more than once: {twice}"
    assert all(p.reason == "the value is null" for p in skipped), skipped
    return {
        **{(e.profile, e.key): e.value for e in entries},
        **{(p.profile, p.key): None for p in skipped},
    }, failed


def expected_from_safe_load(text: str):
    document = yaml.safe_load(text)
    return {
        (profile, key): None if value is None else str(value)
        for profile, mapping in document.items()
        for key, value in (mapping or {}).items()
    }


def stored(profile):
    return {s.name: s.value.reveal() for s in Secret.objects.filter(profile=profile)}


@pytest.mark.django_db
class TestTheIssueExample:
    def test_R17_13_explicit_keys_and_nulls_override_merged_ones(self, admin_user):
        summary = import_file(ISSUE_EXAMPLE, user=admin_user)
        assert stored("development") == {"SNOWFLAKE_TIMEOUT": "120"}
        assert stored("default") == {"MYSQL_PASSWORD": "shared"}
        skipped = sorted((p.profile, p.key, p.reason) for p in summary.skipped)
        assert skipped == [
            ("default", "SNOWFLAKE_TIMEOUT", "the value is null"),
            ("development", "MYSQL_PASSWORD", "the value is null"),
        ]
        assert summary.counts() == {
            "created": 2, "updated": 0, "unchanged": 0, "skipped": 2, "failed": 0,
        }

    def test_R17_13_the_dry_run_reports_the_same_outcome(self, admin_user):
        summary = import_file(ISSUE_EXAMPLE, user=admin_user, dry_run=True)
        assert (summary.created, len(summary.skipped)) == (2, 2)
        assert not Secret.objects.exists()

    def test_R17_13_a_dotenv_key_given_twice_has_its_last_lines_outcome(self, admin_user):
        data = b'A_KEY=first\nB_KEY=one\nA_KEY="never closed\nB_KEY=two\nB_KEY=three\n'
        summary = import_file(data, user=admin_user, file_format="dotenv")
        assert stored("default") == {"B_KEY": "three"}  # not "first": its last line failed
        assert [(p.key, p.line) for p in summary.failed] == [("A_KEY", 3)]
        assert (summary.created, summary.skipped) == (1, [])

    def test_R17_13_a_dotenv_key_fixed_on_a_later_line_is_not_reported_failed(
        self, admin_user
    ):
        data = b'A_KEY="never closed\nA_KEY=fixed\n'
        summary = import_file(data, user=admin_user, file_format="dotenv")
        assert stored("default") == {"A_KEY": "fixed"}
        assert summary.failed == [] and summary.created == 1


MERGE_SHAPES = {
    "later explicit key wins over merge": (
        "default: &d\n  A_KEY: a\n  B_KEY: b\n"
        "development:\n  <<: *d\n  B_KEY: dev\n"
    ),
    "merge written after the explicit key still loses": (
        "default: &d {A_KEY: a, B_KEY: b}\ndevelopment: {B_KEY: dev, <<: *d}\n"
    ),
    "explicit null overrides a merged value": (
        "default: &d {A_KEY: a}\ndevelopment: {<<: *d, A_KEY: ~}\n"
    ),
    "explicit value overrides a merged null": (
        "default: &d {A_KEY: null}\ndevelopment: {<<: *d, A_KEY: 7}\n"
    ),
    "the earlier mapping of a merge list wins": (
        "default: &a {A_KEY: from-a}\nstaging: &b {A_KEY: from-b, B_KEY: b}\n"
        "production: {<<: [*a, *b]}\n"
    ),
    "the earlier mapping of a block merge list wins": (
        "default: &a\n  A_KEY: from-a\nstaging: &b\n  A_KEY: from-b\n  B_KEY: b\n"
        "production:\n  <<:\n    - *b\n    - *a\n"
    ),
    "nested merges": (
        "default: &a {A_KEY: a, B_KEY: a, C_KEY: a}\n"
        "development: &b {<<: *a, B_KEY: b}\n"
        "staging: &c {<<: *b, C_KEY: c}\n"
        "production: {<<: [*c, {A_KEY: inline, D_KEY: d}], D_KEY: ~}\n"
    ),
    "an anchored inline mapping that itself merges": (
        "default: &a {A_KEY: a}\n"
        "development: {<<: [&m {<<: *a, B_KEY: m}], C_KEY: c}\n"
        "staging: {<<: *m}\n"
    ),
    "a key written twice: the last one, as PyYAML": (
        "default:\n  A_KEY: first\n  A_KEY: second\n  B_KEY: null\n  B_KEY: b\n"
    ),
    "a key written twice, the last one null": "default: {A_KEY: first, A_KEY: null}\n",
    "top-level merge of whole sections: explicit sections replace, not deep-merge": (
        "<<: {default: {A_KEY: merged, B_KEY: merged}, staging: {C_KEY: s}}\n"
        "default: {B_KEY: explicit}\n"
    ),
    "a section given twice: the last one": (
        "default: {A_KEY: one}\ndefault: {B_KEY: two}\n"
    ),
}


@pytest.mark.parametrize("text", MERGE_SHAPES.values(), ids=MERGE_SHAPES.keys())
def test_R17_13_merge_shapes_match_safe_load(text):
    found, failed = outcome(text)
    assert failed == []
    assert found == expected_from_safe_load(text)


def test_R17_13_a_flat_file_with_a_top_level_merge():
    text = "<<: {A_KEY: merged, B_KEY: merged}\nB_KEY: explicit\nC_KEY: ~\n"
    found, failed = outcome(text, "staging")
    assert failed == []
    assert found == {("staging", "A_KEY"): "merged", ("staging", "B_KEY"): "explicit",
                     ("staging", "C_KEY"): None}


def test_R17_13_an_unknown_profile_lists_each_merged_key_once():
    text = "default: &d {A_KEY: a, B_KEY: b}\nqa: {<<: *d, A_KEY: qa}\n"
    _, failed = outcome(text)
    # The unconfigured section is reported once, for its two keys (A_KEY merged and written).
    assert [(p.profile, p.key, p.entries) for p in failed] == [("qa", "", 2)]


# --- generated merge shapes -------------------------------------------------------------

KEYS = ["A_KEY", "B_KEY", "C_KEY", "D_KEY"]
VALUES = ["null", "~", "v1", "v2", "120", "'quoted'", '"x: y"']


@st.composite
def documents(draw):
    """Up to four sections, each anchored, each able to merge the earlier ones (one alias,
    a list, or an inline mapping that may merge again), written in block or flow style."""
    count = draw(st.integers(1, 4))
    lines = []
    for index, profile in enumerate(PROFILES[:count]):
        items = [
            f"{key}: {draw(st.sampled_from(VALUES))}"
            for key in draw(st.lists(st.sampled_from(KEYS), max_size=5))
        ]
        if index and draw(st.booleans()):
            anchors = [f"*p{j}" for j in range(index)]
            kind = draw(st.sampled_from(["one", "list", "inline"]))
            if kind == "one":
                merge = draw(st.sampled_from(anchors))
            elif kind == "list":
                chosen = draw(st.lists(st.sampled_from(anchors), min_size=1, max_size=3,
                                       unique=True))
                merge = f"[{', '.join(chosen)}]"
            else:
                inner_key, inner_value = draw(st.sampled_from(KEYS)), draw(
                    st.sampled_from(VALUES))
                merge = f"[{{<<: {draw(st.sampled_from(anchors))}, {inner_key}: {inner_value}}}]"
            items.insert(draw(st.integers(0, len(items))), f"<<: {merge}")
        if draw(st.booleans()):  # flow
            lines.append(f"{profile}: &p{index} {{{', '.join(items)}}}")
        elif items:
            lines.append(f"{profile}: &p{index}")
            lines.extend(f"  {item}" for item in items)
        else:
            lines.append(f"{profile}: &p{index} {{}}")
    return "\n".join(lines) + "\n"


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents())
def test_R17_13_generated_merge_shapes_match_safe_load(text):
    found, failed = outcome(text)
    assert failed == []
    assert found == expected_from_safe_load(text)
