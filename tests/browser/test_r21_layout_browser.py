"""R21, every screen: from a 360 px phone to a 1400 px desktop no console page scrolls
sideways, every action button is on screen, and each dialog fits the viewport and scrolls
inside itself. With realistic data: long names, descriptions and keys, an SSH secret, three
profiles, service tokens with several patterns and networks, rich audit rows."""

import pytest
from django.contrib.auth.models import Group, User
from playwright.sync_api import expect

from audit_app.context import audit_context
from secrets_app.access.grants import add_grant
from secrets_app.access.service_tokens import (
    ServicePrincipal,
    create_service_token,
    revoke_service_token,
)
from secrets_app.access.tokens import create_token, revoke_token
from secrets_app.services.bulk import import_file
from secrets_app.services.credentials import fetch_credentials
from secrets_app.services.reveal import decrypt_secret
from secrets_app.services.secrets import SSHTunnelData, create_secret, update_secret
from tests.browser.a11y import (
    VIEWPORTS,
    assert_accessible,
    assert_no_sideways_scroll,
    buttons_off_screen,
)
from tests.helpers import log_in, screenshot

pytestmark = pytest.mark.django_db(transaction=True)

PROFILES = ["default", "production", "staging"]
LONG_NAME = "analytics-warehouse-primary-read-replica-eu-west-1-reporting-credentials"
LONG_KEY = "SNOWFLAKE_ANALYTICS_WAREHOUSE_SERVICE_ACCOUNT_PRIVATE_KEY_PASSPHRASE"
LONG_DESCRIPTION = ("Read-only login for the nightly reporting jobs; rotated by the platform "
                    "team every ninety days, ask #data-platform before changing it")
# An import whose summary lists many failures (keys that are not UPPER_SNAKE).
FAILING_IMPORT = "default:\n" + "".join(
    f"  bad-key-number-{n}-with-a-rather-long-name: value {n}\n" for n in range(25)
) + "  GOOD_KEY: fine\n"


def build_world(admin: User) -> dict:
    """Everything the pages show, made through the services (so the audit rows are real)."""
    member = User.objects.create_user("bob", "bob@example.com", "bob-password")
    engineers = Group.objects.create(name="data-engineering-platform-oncall")
    with audit_context(user=admin, channel="console", ip_address="10.20.30.40"):
        long_one = create_secret(admin, name=LONG_NAME, key=LONG_KEY, value="x" * 40,
                                 profile="production", description=LONG_DESCRIPTION)
        warehouse = create_secret(admin, name="warehouse", key="POSTGRES_PASSWORD",
                                  value="pg-secret", profile="production",
                                  description="the data warehouse")
        for value in ("pg-secret-2", "pg-secret-3"):  # three versions
            update_secret(warehouse, admin, value=value)
        create_secret(admin, name="bastion-tunnel-to-the-legacy-reporting-database-host",
                      key="POSTGRES_HOST", value="db.internal", category="SSH",
                      profile="staging", ssh=SSHTunnelData(
                          host="bastion.eu-west-1.compute.internal.example.com",
                          username="tunnel", port=2222, password="tunnel-pass"))
        create_secret(admin, name="gcp-loader", key="GOOGLE_SERVICE_ACC_KEY",
                      value='{"type": "service_account"}', profile="default")
        for n in range(55):  # more than a page (50)
            create_secret(admin, name=f"service-{n:02d}-api-credentials",
                          key=f"SERVICE_{n:02d}_API_KEY", value=f"value-{n}",
                          profile=PROFILES[n % 3],
                          description="an ordinary description" if n % 4 == 0 else "")
        decrypt_secret(warehouse, admin)
        decrypt_secret(long_one, admin)
        add_grant(admin, member, "production", "reader")
        add_grant(admin, engineers, "staging", "editor")
        add_grant(admin, engineers, "production", "reader")
        create_token(admin, "laptop scripts")
        create_token(admin, "a-very-long-token-name-for-the-nightly-jupyter-notebooks-runner",
                     expires_in_days=None)
        old, _ = create_token(admin, "old ci")
        revoke_token(old, admin)
        etl, _ = create_service_token(
            admin, name="etl-nightly-warehouse-loader", profiles=["production", "staging"],
            keys=["POSTGRES_*", "SNOWFLAKE_?ASSWORD", "AWS_*", "GOOGLE_SERVICE_ACC_KEY",
                  "SERVICE_0?_API_KEY"],
            allowed_networks=["10.0.0.0/8", "192.168.100.0/24", "2001:db8:abcd:12::/64"])
        create_service_token(admin, name="dashboards", profiles=["default"])
        gone, _ = create_service_token(admin, name="retired-exporter", profiles=PROFILES)
        revoke_service_token(gone, admin)
        import_file(FAILING_IMPORT.encode(), user=admin, profile="default", dry_run=True)
    with audit_context(channel="api", ip_address="10.1.2.3", user=None):
        fetch_credentials(ServicePrincipal(etl), "production")
    return {"admin": admin, "member": member, "warehouse": warehouse, "long": long_one}


# The three sizes, a small phone and the laptop the 1280-1440 px rule is about.
SIZES = {**VIEWPORTS, "small-phone": {"width": 360, "height": 740},
         "laptop": {"width": 1280, "height": 800}}
WIDE = {"desktop", "laptop"}
AXE_ON = {"phone", "desktop"}  # axe takes a second a page: at the phone and the desktop
PAGES = ["/secrets/", "/secrets/?page=2", "/catalog/", "/settings/", "/settings/access/",
         "/settings/service-tokens/", "/audit/"]
NOT_FOUND = "/secrets/00000000-0000-0000-0000-000000000000/edit/"


@pytest.fixture
def world(settings, admin_user):
    settings.SECRETS_PROFILES = PROFILES
    return build_world(admin_user)


def new_page(browser, live_server, size):
    context = browser.new_context(base_url=live_server.url, viewport=SIZES[size])
    context.set_default_timeout(15_000)
    return context, context.new_page()


def check_layout(page, where: str) -> None:
    assert_no_sideways_scroll(page, where)
    assert buttons_off_screen(page) == [], f"{where}: buttons off screen"
    # Tables are whole (cards or a table that fits): nothing hides in a scrolling box.
    hidden = page.evaluate("""() => [...document.querySelectorAll(".table-wrap")]
        .filter(e => e.scrollWidth > e.clientWidth)
        .map(e => [e.querySelector("table").dataset.testid, e.scrollWidth, e.clientWidth])""")
    assert hidden == [], f"{where}: {hidden}"


def visit(page, path: str, status: int = 200) -> None:
    response = page.goto(path)
    assert response.status == status, (path, response.status)


def check_secrets_table_whole(page, where: str) -> None:
    """Every column header and every row's controls inside the table's box, which does not
    scroll sideways."""
    wrap = page.locator(".table-wrap").first
    sizes = wrap.evaluate("e => [e.scrollWidth, e.clientWidth]")
    assert sizes[0] <= sizes[1], f"{where}: the secrets table scrolls sideways {sizes}"
    box = wrap.bounding_box()
    headers = page.locator("[data-testid=secrets-table] thead th")
    expect(headers).to_have_count(7)
    for index in range(7):
        header = headers.nth(index).bounding_box()
        assert header["width"] > 20 and header["x"] + header["width"] <= box["x"] + box["width"] + 1
    rows = page.locator("[data-testid=secret-row]")
    assert rows.count() == 50
    for index in range(rows.count()):
        # Decrypt, or Copy where the value is shown.
        value_button = rows.nth(index).locator("[data-testid=decrypt], [data-testid=copy]")
        expect(value_button).to_be_visible()
        for control in ("edit", "versions", "delete"):
            expect(rows.nth(index).locator(f"[data-testid={control}]")).to_be_visible()


@pytest.mark.parametrize("size", list(SIZES))
def test_R21_no_page_scrolls_sideways_and_every_button_is_on_screen(browser, live_server,
                                                                   world, size):
    context, page = new_page(browser, live_server, size)
    visit(page, "/accounts/login/")
    check_layout(page, f"login at {size}")
    log_in(page, "root", "root-password")
    for path in PAGES:
        visit(page, path)
        check_layout(page, f"{path} at {size}")
        if size in AXE_ON:
            assert_accessible(page, f"{path} at {size}")
    visit(page, NOT_FOUND, 404)
    check_layout(page, f"404 at {size}")

    visit(page, "/secrets/")
    if size in WIDE:
        check_secrets_table_whole(page, f"/secrets/ at {size}")
        # A value shown in the table wraps in its cell: the columns and actions stay whole.
        first = page.locator("[data-testid=secret-row]").first
        first.locator("[data-testid=decrypt]").click()
        expect(first.locator("[data-testid=revealed-value]")).to_be_visible()
        check_secrets_table_whole(page, f"/secrets/ with a value shown at {size}")
        check_layout(page, f"/secrets/ with a value shown at {size}")
    else:
        # Cards: each row's controls on screen without any scrolling box around them.
        first = page.locator("[data-testid=secret-row]").first
        box = first.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= SIZES[size]["width"]
        for control in ("decrypt", "edit", "versions", "delete"):
            expect(first.locator(f"[data-testid={control}]")).to_be_in_viewport()
    if size == "phone":
        screenshot(page, "r21-phone-secrets")
        visit(page, "/audit/")
        screenshot(page, "r21-phone-audit")

    # The dock: a bar across the top on phones (the page keeps its width), a column else.
    dock = page.locator("nav.dock").bounding_box()
    main = page.locator("main").bounding_box()
    if SIZES[size]["width"] <= 600:
        assert dock["height"] <= 64 and dock["width"] == SIZES[size]["width"]
        assert main["x"] == 0
        page.evaluate("window.scrollTo(0, 2000)")  # it stays at the top: always at hand
        page.wait_for_function("window.scrollY > 0")
        assert page.locator("nav.dock").bounding_box()["y"] == 0
    else:
        assert dock["width"] == 72 and main["x"] == 72
    visit(page, "/settings/service-tokens/")
    expect(page.locator("[data-testid=nav-settings]")).to_have_attribute("aria-current", "page")
    expect(page.locator("[data-testid=nav-settings]")).to_be_in_viewport()

    # A member refused a page: the 403 fits too.
    context.clear_cookies()
    log_in(page, "bob", "bob-password")
    visit(page, "/audit/", 403)
    check_layout(page, f"403 at {size}")
    if size in AXE_ON:
        assert_accessible(page, f"403 at {size}")
    context.close()


DIALOG_BOX = """(selector) => {
    const box = document.querySelector(selector).getBoundingClientRect();
    return {left: box.left, right: box.right, top: box.top, bottom: box.bottom,
            width: innerWidth, height: innerHeight};
}"""


def check_dialog(page, where: str, axe: bool, selector: str = "#dialog") -> None:
    """The open dialog inside the viewport, its footer buttons reachable by scrolling inside
    it, the page still not scrolling sideways; then it closes."""
    dialog = page.locator(selector)
    expect(dialog).to_be_visible()
    box = page.evaluate(DIALOG_BOX, selector)
    assert box["left"] >= 0 and box["right"] <= box["width"], f"{where}: {box}"
    assert box["top"] >= 0 and box["bottom"] <= box["height"], f"{where}: {box}"
    buttons = dialog.locator(".dialog-foot button")
    assert buttons.count() >= 1, where
    for index in range(buttons.count()):
        buttons.nth(index).scroll_into_view_if_needed()
        expect(buttons.nth(index)).to_be_in_viewport(ratio=1)
    check_layout(page, where)
    if axe:
        assert_accessible(page, where, selector)
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()


@pytest.mark.parametrize("size", ["small-phone", "phone", "tablet", "desktop"])
def test_R21_every_dialog_fits_the_viewport_and_scrolls_inside(browser, live_server, world,
                                                             size):
    context, page = new_page(browser, live_server, size)
    log_in(page, "root", "root-password")
    axe = size in AXE_ON
    dialog = page.locator("#dialog")

    page.click("[data-testid=new-secret]")
    check_dialog(page, f"new secret at {size}", axe)
    page.click("[data-testid=new-secret]")
    dialog.locator("select[name=category]").select_option("SSH")
    expect(dialog.locator("[data-testid=ssh-section]")).to_be_visible()
    if SIZES[size]["height"] < 900:  # the tall one: it scrolls inside, not the page
        assert dialog.evaluate("e => e.scrollHeight > e.clientHeight")
    check_dialog(page, f"new SSH secret at {size}", axe)

    page.click("[data-testid=import]")
    check_dialog(page, f"import at {size}", axe)
    page.click("[data-testid=import]")
    dialog.locator("input[type=file]").set_input_files(
        {"name": "io_config.yaml", "mimeType": "text/yaml", "buffer": FAILING_IMPORT.encode()})
    dialog.locator("[data-testid=upload]").click()
    expect(dialog.locator("[data-testid=count-failed]")).to_contain_text("25 failed")
    check_dialog(page, f"import summary at {size}", axe)

    visit(page, "/secrets/?search=warehouse")
    row = page.locator("[data-testid=secret-row][data-name=warehouse]")
    row.locator("[data-testid=versions]").click()
    expect(dialog.locator("[data-testid=version-row]")).to_have_count(3)
    for index in range(3):  # every version's line inside the dialog's width
        version = dialog.locator("[data-testid=version-row]").nth(index).bounding_box()
        assert version["x"] + version["width"] <= SIZES[size]["width"]
    # Restore asks in the console's own confirmation, stacked above: it fits too.
    dialog.locator("[data-testid=restore]").first.click()
    check_dialog(page, f"restore's confirmation at {size}", axe, "#confirm-dialog")
    check_dialog(page, f"versions at {size}", axe)
    row.locator("[data-testid=edit]").click()
    expect(dialog.locator("[data-testid=secret-form]")).to_be_visible()
    check_dialog(page, f"edit at {size}", axe)
    row.locator("[data-testid=delete]").click()
    expect(dialog.locator("[data-testid=delete-form]")).to_be_visible()
    check_dialog(page, f"delete at {size}", axe)
    context.close()


# What each Catalog cell holds (the source chip, the key), measured against the cell: a
# "database · default" chip must not run into the next column nor be cut by the table's box.
# Header cells are measured too, but only where they are seen (not in cards).
CATALOG_SPILLS = """() => {
    const out = [];
    for (const table of document.querySelectorAll(".catalog-table")) {
        const hidden = getComputedStyle(table.tHead).position === "absolute";
        const tableBox = table.getBoundingClientRect();
        for (const cell of table.querySelectorAll(hidden ? "td" : "th, td")) {
            const box = cell.getBoundingClientRect();
            if (cell.scrollWidth > cell.clientWidth + 1)
                out.push(`${cell.textContent.trim()}: ${cell.scrollWidth} > ${cell.clientWidth}`);
            for (const child of cell.children) {
                const c = child.getBoundingClientRect();
                const out_of_cell = c.left < box.left - 0.5 || c.right > box.right + 0.5;
                if (out_of_cell || c.right > tableBox.right)
                    out.push(`${cell.dataset.label || "key"} "${child.textContent}" ` +
                        `${Math.round(c.left)}-${Math.round(c.right)} outside ` +
                        `${Math.round(box.left)}-${Math.round(box.right)}`);
            }
        }
    }
    return out;
}"""


@pytest.mark.parametrize("size", ["small-phone", "tablet", "laptop", "desktop"])
def test_R21_catalog_cells_hold_their_content_with_six_profiles(browser, live_server, settings,
                                                                admin_user, size):
    """The README's Mage set-up has six profiles: the Catalog's columns (or cards) still hold
    "database · default" and the long keys, and the page does not scroll sideways."""
    settings.SECRETS_PROFILES = ["default", "development", "staging", "production", "dev",
                                 "prod"]
    import_file(b"default:\n  POSTGRES_HOST: db\n  GOOGLE_SERVICE_ACC_KEY_FILEPATH: /k.json\n"
                b"  AWS_SECRET_ACCESS_KEY: abc\ndev:\n  POSTGRES_HOST: db.dev\n",
                user=admin_user)
    context, page = new_page(browser, live_server, size)
    log_in(page, "root", "root-password")
    visit(page, "/catalog/")
    inherited = page.locator("[data-testid=source]", has_text="database · default")
    expect(inherited.first).to_be_visible()  # the chip the check is about is there
    check_layout(page, f"/catalog/ at {size}")
    spills = page.evaluate(CATALOG_SPILLS)
    assert spills == [], f"/catalog/ at {size}: {spills[:5]}"
    cards = page.evaluate(
        "getComputedStyle(document.querySelector('.catalog-table thead')).position")
    # A table where it fits (a 1280 px laptop and wider), cards below.
    assert (cards != "absolute") == (size in WIDE), (size, cards)
    context.close()
