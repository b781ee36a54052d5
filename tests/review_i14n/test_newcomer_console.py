# ruff: noqa: E501  (JavaScript measured in the page, kept on one line each)
"""Issue 14, a newcomer's review of the console on phones, tablets and desktops, by keyboard
and screen reader. Each test fails on what a careful user meets; screenshots of the failing
states go to /work/wt/new14-shots/review-*.png."""

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from secrets_app.access.service_tokens import create_service_token
from secrets_app.services.bulk import import_file
from tests.browser.a11y import VIEWPORTS
from tests.helpers import log_in

pytestmark = pytest.mark.django_db(transaction=True)

SHOTS = Path(os.environ.get("REVIEW_SHOTS", "/work/wt/new14-shots"))
ROOT = Path(__file__).resolve().parents[2]
SIX_PROFILES = ["default", "development", "staging", "production", "dev", "prod"]
# A Mage io_config.yaml in Mage's shape (what the README tells a Mage user to import).
MAGE = b"""version: 0.1.1
default: &default
  POSTGRES_DBNAME: analytics
  POSTGRES_USER: "{{ env_var('POSTGRES_USER') }}"
  POSTGRES_PASSWORD: "{{ mage_secret_var('pg_password') }}"
  POSTGRES_HOST: db.internal
  POSTGRES_PORT: 5432
  SNOWFLAKE_USER: loader
  SNOWFLAKE_PASSWORD: "{{ mage_secret_var('snowflake_password') }}"
  SNOWFLAKE_ACCOUNT: ab12345.eu-west-1
  GOOGLE_SERVICE_ACC_KEY:
    type: service_account
    project_id: etl-prod-4411
  GOOGLE_SERVICE_ACC_KEY_FILEPATH: /home/src/keys/gcp.json
  GOOGLE_LOCATION: EU
  AWS_ACCESS_KEY_ID: AKIAEXAMPLE
  AWS_SECRET_ACCESS_KEY: abc
  AWS_REGION: eu-west-1
  trino:
    host: trino.internal
    port: 443
    password: "{{ env_var('TRINO_PASSWORD') }}"
dev:
  <<: *default
  POSTGRES_HOST: db.dev.internal
prod:
  <<: *default
  POSTGRES_HOST: db.prod.internal
"""


def new_page(browser, live_server, size):
    viewport = VIEWPORTS.get(size) or {"laptop": {"width": 1280, "height": 800}}[size]
    context = browser.new_context(base_url=live_server.url, viewport=viewport)
    context.set_default_timeout(15_000)
    return context, context.new_page()


def shot(page, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"review-{name}.png"))


@pytest.fixture
def mage_world(settings, admin_user):
    """The README's Mage set-up: SECRETS_PROFILES with dev and prod, the file imported."""
    settings.SECRETS_PROFILES = SIX_PROFILES
    return build(admin_user)


@pytest.fixture
def plain_world(admin_user):
    """The four profiles of a fresh `make run`, the same file imported (dev/prod fail)."""
    return build(admin_user)


def build(admin_user):
    import_file(MAGE, user=admin_user, templates="keep")
    create_service_token(admin_user, name="etl-nightly", profiles=["default", "staging"],
                         keys=["POSTGRES_*", "SNOWFLAKE_*"], allowed_networks=["10.0.0.0/8"])
    return admin_user


# The source chips of each Catalog cell that do not fit their cell (drawn over the next
# column or clipped by the table), and headers wider than their column.
CATALOG_OVERFLOW = """() => {
    const out = [];
    for (const table of document.querySelectorAll(".catalog-table")) {
        for (const cell of table.querySelectorAll("th, td")) {
            const box = cell.getBoundingClientRect();
            if (cell.tagName === "TH" && cell.scrollWidth > cell.clientWidth + 1)
                out.push(`header ${cell.textContent.trim()}: ${cell.scrollWidth} > ${cell.clientWidth}`);
            for (const chip of cell.querySelectorAll(".source")) {
                const c = chip.getBoundingClientRect();
                if (c.right > box.right + 0.5)
                    out.push(`${cell.dataset.label} chip "${chip.textContent}" ends at ${Math.round(c.right)} past its cell ${Math.round(box.right)}`);
            }
        }
    }
    return out;
}"""


@pytest.mark.parametrize("size, profiles", [("tablet", 4), ("laptop", 6), ("desktop", 6)])
def test_catalog_cells_do_not_spill_into_the_next_column(browser, live_server, request, size,
                                                         profiles):
    """1. Catalog at 768 px (and at 1280/1400 px with the README's six Mage profiles): the
    "database · default" chips run into the next column and the last one is cut off by the
    table's rounded box; DEVELOPMENT overlaps STAGING in the header. No .table-wrap around it,
    so the R21 layout test never looks."""
    request.getfixturevalue("plain_world" if profiles == 4 else "mage_world")
    context, page = new_page(browser, live_server, size)
    log_in(page, "root", "root-password")
    page.goto("/catalog/")
    problems = page.evaluate(CATALOG_OVERFLOW)
    shot(page, f"catalog-{size}-{profiles}-profiles")
    context.close()
    assert problems == [], f"Catalog at {size}: {len(problems)} overflows, e.g. {problems[:4]}"


# Cards label each cell with an absolutely positioned ::before; a label that wraps to a
# second line is taller than its cell and is drawn over the next cell's label.
CARD_LABEL_OVERLAP = """() => {
    const out = [];
    for (const cell of document.querySelectorAll(".table.cards td[data-label]")) {
        const before = getComputedStyle(cell, "::before");
        if (before.position !== "absolute" || before.content === "none") continue;
        const top = parseFloat(before.top), height = parseFloat(before.height);
        const cellHeight = cell.getBoundingClientRect().height;
        if (top + height > cellHeight + 1)
            out.push(`${cell.dataset.label}: label ${Math.round(top + height)} px tall in a ${Math.round(cellHeight)} px cell`);
    }
    return [...new Set(out)];
}"""


@pytest.mark.parametrize("path", ["/catalog/", "/settings/service-tokens/"])
def test_phone_card_labels_do_not_overlap_the_next_label(browser, live_server, plain_world,
                                                         path):
    """2. Phone (390 px), cards: "DEVELOPMENT" breaks as "DEVELOPME/NT" and its second line
    sits on "STAGING" (Catalog); "KEY PATTERNS" sits on "NETWORKS" (Service tokens)."""
    context, page = new_page(browser, live_server, "phone")
    log_in(page, "root", "root-password")
    page.goto(path)
    problems = page.evaluate(CARD_LABEL_OVERLAP)
    page.locator("td[data-label]").first.scroll_into_view_if_needed()
    shot(page, "cards-" + path.strip("/").replace("/", "-"))
    context.close()
    assert problems == [], f"{path} at 390 px: {problems}"


def test_audit_dock_link_says_it_is_the_current_page(page, admin_user):
    """3. Every dock link carries aria-current="page" on its page, except Audit: a screen
    reader user on /audit/ is not told where they are (base.html)."""
    log_in(page, "root", "root-password")
    page.goto("/audit/")
    expect(page.locator("[data-testid=nav-audit]")).to_have_attribute("aria-current", "page")


def test_import_summary_is_announced(page, settings, admin_user):
    """4. Import: the dialog swaps to its summary and the focus lands on Done, but the counts
    (created, failed, ...) are in no live region and describe neither the dialog nor Done:
    a screen reader hears only "Done, button"."""
    settings.SECRETS_PROFILES = SIX_PROFILES
    log_in(page, "root", "root-password")
    page.click("[data-testid=import]")
    dialog = page.locator("#dialog")
    dialog.locator("input[type=file]").set_input_files(
        {"name": "io_config.yaml", "mimeType": "text/yaml", "buffer": MAGE})
    dialog.locator("select[name=templates]").select_option("skip")
    dialog.locator("[data-testid=upload]").click()
    done = dialog.locator("[data-testid=import-done]")
    expect(done).to_be_focused()
    announced = page.evaluate("""() => {
        const summary = document.querySelector("[data-testid=import-summary]");
        if (summary.closest("[aria-live], [role=status], [role=alert]")) return true;
        const ids = [document.activeElement, document.getElementById("dialog")]
            .map(e => e.getAttribute("aria-describedby") || "").join(" ").split(/\\s+/);
        return ids.some(id => id && document.getElementById(id) &&
            (summary.contains(document.getElementById(id)) || document.getElementById(id).contains(summary)));
    }""")
    assert announced, "the import summary's counts are never read out"


def test_phone_dock_has_visible_names(browser, live_server, admin_user):
    """5. Phone: the dock is five unnamed icons (≡, key, sun, page, a letter); the names are
    hidden on phones and a finger gets no tooltip. Which one is the Catalog, which the Audit?"""
    context, page = new_page(browser, live_server, "phone")
    log_in(page, "root", "root-password")
    shot(page, "phone-dock")
    widths = page.evaluate("""() => [...document.querySelectorAll(".dock-label")]
        .map(l => [l.textContent, l.getBoundingClientRect().width])""")
    context.close()
    assert all(width > 10 for _, width in widths), f"dock names not visible: {widths}"


def test_keys_do_not_break_inside_at_1280(browser, live_server, mage_world):
    """6. Laptop (1280 px): keys and names break mid-identifier, "GOOGLE_SERVICE_ACC_KE" /
    "Y", although the value column has room; a key read off the screen is wrong."""
    context, page = new_page(browser, live_server, "laptop")
    log_in(page, "root", "root-password")
    page.goto("/secrets/?search=GOOGLE_SERVICE")
    broken = page.evaluate("""() => [...document.querySelectorAll(".key-cell code")]
        .filter(c => c.getClientRects().length > 1 || c.getBoundingClientRect().height > 1.6 * parseFloat(getComputedStyle(c).lineHeight || 20))
        .map(c => c.textContent)""")
    shot(page, "laptop-keys")
    context.close()
    assert broken == [], f"keys broken across lines at 1280 px: {sorted(set(broken))}"


def test_show_value_toggle_keeps_one_name(page, admin_user):
    """7. The Show value toggle changes its name ("Hide value") and sets aria-pressed: a screen
    reader says "Hide value, toggle button, pressed", which reads as the opposite of the state.
    WAI-ARIA APG: a toggle's label does not change when its state does."""
    log_in(page, "root", "root-password")
    page.click("[data-testid=new-secret]")
    toggle = page.locator("[data-testid=toggle-value]")
    name_before = toggle.evaluate("e => e.textContent.trim()")
    toggle.click()
    expect(toggle).to_have_attribute("aria-pressed", "true")
    assert toggle.evaluate("e => e.textContent.trim()") == name_before


def test_brand_and_user_initial_have_names(page, admin_user):
    """8. Screen reader view of the dock: a link named "K" and a stray text "R" (the user's
    initial; its title is not read)."""
    log_in(page, "root", "root-password")
    snapshot = page.locator("nav.dock").aria_snapshot()
    assert 'link "K"' not in snapshot, snapshot
    assert "text: R" not in snapshot, snapshot


def test_new_api_token_key_is_not_in_a_live_region(page, admin_user):
    """9. Settings: the new token box is role=status, so the key itself is spoken by the
    screen reader, where a revealed value is deliberately never announced (R21)."""
    log_in(page, "root", "root-password")
    page.goto("/settings/")
    page.fill("#id_name", "laptop")
    page.click("[data-testid=create-token]")
    key = page.locator("[data-testid=new-token-key]")
    expect(key).to_be_visible()
    in_live = key.evaluate("e => !!e.closest('[role=status], [role=alert], [aria-live]')")
    assert not in_live, "the new API token's key sits inside a live region"


def test_console_md_describes_the_phone_layout():
    """10. Docs: console.md says "The dock on the left" and shows only the desktop; the phone
    view (top bar, cards) is in the README alone, docs/console-phone-audit.png is referenced
    nowhere, and docs/console.png is stale (2026-11-29 rows, a "Secrets" tooltip over the
    search box)."""
    text = (ROOT / "docs" / "console.md").read_text()
    assert "console-phone" in text and "phone" in text.lower()
    referenced = (ROOT / "README.md").read_text() + text
    assert "console-phone-audit.png" in referenced


def import_in_console(page, templates):
    page.click("[data-testid=import]")
    dialog = page.locator("#dialog")
    dialog.locator("input[type=file]").set_input_files(
        {"name": "io_config.yaml", "mimeType": "text/yaml", "buffer": MAGE})
    dialog.locator("select[name=templates]").select_option(templates)
    dialog.locator("[data-testid=upload]").click()
    expect(dialog.locator("[data-testid=import-summary]")).to_be_visible()
    return dialog.locator("[data-testid=import-summary] .problems li").all_text_contents()


def test_import_of_a_mage_file_names_each_unknown_profile_once(browser, live_server,
                                                               admin_user):
    """11. A fresh `make run` (four profiles) and a Mage file with dev/prod: the summary lists
    the same 150-character "unknown profile 'dev': add it to SECRETS_PROFILES ..." once per
    key (36 lines for my file), and never says where SECRETS_PROFILES lives (.env, restart)."""
    context, page = new_page(browser, live_server, "phone")
    log_in(page, "root", "root-password")
    lines = import_in_console(page, "keep")
    page.locator("[data-testid=import-summary]").scroll_into_view_if_needed()
    shot(page, "phone-import-unknown-profiles")
    context.close()
    dev = [line for line in lines if "unknown profile 'dev'" in line]
    assert len(dev) <= 1, f"{len(dev)} lines repeat the unknown profile 'dev': {dev[:2]}"


def test_console_import_does_not_claim_env_var_is_resolved(page, settings, admin_user):
    """12. Console import, templates "fail": a mage_secret_var entry says "unsupported template:
    only {{ env_var('NAME') }} is resolved", while the env_var entries of the same upload say
    an upload never resolves them. Which is it?"""
    settings.SECRETS_PROFILES = SIX_PROFILES
    log_in(page, "root", "root-password")
    lines = import_in_console(page, "fail")
    mage = [line for line in lines if "POSTGRES_PASSWORD" in line and line.startswith("default/")]
    assert mage and "env_var('NAME') }} is resolved" not in mage[0], mage


def test_restore_confirmation_names_the_profile(page, settings, admin_user):
    """13. After a Mage import POSTGRES_HOST exists in default, dev and prod. Restore asks
    "Make version 1 the current value of POSTGRES_HOST?" (no profile), while every button and
    the delete dialog name it; the toasts ("Saved POSTGRES_HOST.") do not either."""
    from secrets_app.models import Secret
    from secrets_app.services.secrets import update_secret

    settings.SECRETS_PROFILES = SIX_PROFILES
    import_file(MAGE, user=admin_user, templates="keep")
    update_secret(Secret.objects.get(key="POSTGRES_HOST", profile="dev"), admin_user,
                  value="db2.dev.internal")
    log_in(page, "root", "root-password")
    page.goto("/secrets/?search=POSTGRES_HOST&profile=dev")
    page.locator("[data-testid=versions]").first.click()
    page.locator("#dialog [data-testid=restore]").first.click()
    question = page.locator("[data-testid=confirm-question]")
    expect(question).to_be_visible()
    assert "dev" in question.text_content(), question.text_content()
