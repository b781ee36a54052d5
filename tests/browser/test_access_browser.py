"""Settings → Access (R18) and Settings → Service tokens (R19) in a real browser, at a
desktop width and at a phone's (390 px): the tables scroll inside their own box, never the
page."""

import pytest
from playwright.sync_api import expect

from audit_app.models import AuditLog
from secrets_app.access.models import ServiceToken
from secrets_app.access.policy import access_of
from secrets_app.access.service_tokens import create_service_token
from tests.helpers import log_in, screenshot

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}


def native_dialogs(page) -> list[str]:
    """Records every window.confirm/alert the page opens: the console opens its own (R21)."""
    seen = []
    page.on("dialog", lambda dialog: (seen.append(dialog.message), dialog.dismiss()))
    return seen


def confirm_in_console(page, question: str) -> None:
    """The console's confirm dialog asks `question`; press its confirm button."""
    confirm = page.locator("#confirm-dialog")
    expect(confirm).to_be_visible()
    expect(confirm.locator("[data-testid=confirm-question]")).to_have_text(question)
    confirm.locator("[data-testid=confirm-ok]").click()
    expect(confirm).not_to_be_visible()


def page_scrolls_sideways(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth > window.innerWidth")


def test_R18_an_admin_grants_a_role_in_settings_access(page, admin_user, member):
    log_in(page, "root", "root-password")
    page.click("[data-testid=nav-settings]")
    page.click("[data-testid=settings-nav-access]")
    expect(page).to_have_url("/settings/access/")
    expect(page.locator("[data-testid=no-grants]")).to_be_visible()

    form = page.locator("[data-testid=grant-form]")
    form.get_by_label("User").fill("nobody")
    form.get_by_label("Profile").select_option("development")
    form.get_by_role("button", name="Add grant").click()
    expect(page.locator("#id_user_error")).to_contain_text("No user named 'nobody'.")

    form = page.locator("[data-testid=grant-form]")  # swapped in again by htmx
    form.get_by_label("User").fill("bob")
    form.get_by_label("Profile").select_option("development")
    form.get_by_label("Role").select_option("editor")
    form.get_by_role("button", name="Add grant").click()
    row = page.locator("[data-testid=grant-row][data-subject=bob]")
    expect(row).to_contain_text("development")
    expect(row).to_contain_text("editor")
    expect(page.locator("[data-testid=grant-note]")).to_have_text(
        "bob is now editor on development.")
    assert access_of(member).writes("development")
    assert AuditLog.objects.filter(action="GRANT_ADD", username="root").count() == 1

    screenshot(page, "r18-access-1280")
    page.set_viewport_size(PHONE)
    expect(row).to_be_visible()
    screenshot(page, "r18-access-390")
    assert not page_scrolls_sideways(page)
    page.set_viewport_size(DESKTOP)

    native = native_dialogs(page)
    page.get_by_role("button", name="Remove bob's editor role on development").click()
    confirm_in_console(page, "Remove bob's editor role on development? They keep whatever "
                             "their other grants give.")
    expect(page.locator("[data-testid=grant-row]")).to_have_count(0)
    assert native == []
    assert not access_of(member).writes("development")


def test_R19_an_admin_creates_copies_and_revokes_a_service_token(page, admin_user):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    log_in(page, "root", "root-password")
    page.goto("/settings/")
    page.click("[data-testid=settings-nav-service-tokens]")
    expect(page).to_have_url("/settings/service-tokens/")

    form = page.locator("[data-testid=service-token-form]")
    form.get_by_label("Name").fill("etl")
    form.get_by_role("button", name="Create service token").click()
    expect(page.locator("[data-testid=service-token-profiles]")).to_contain_text(
        "Choose at least one profile the token may read, from")

    form = page.locator("[data-testid=service-token-form]")
    form.get_by_label("production").check()
    form.get_by_label("Key patterns").fill("POSTGRES_*\nAWS_*")
    form.get_by_label("Client networks").fill("10.0.0.0/8")
    expect(form.get_by_label("Expires")).to_have_value("90")
    form.get_by_role("button", name="Create service token").click()

    shown = page.locator("[data-testid=new-service-token-key]")
    expect(shown).to_contain_text("kzsvc_")
    key = shown.inner_text()
    copy = page.get_by_role("button", name="Copy key")
    expect(copy).to_be_visible()
    copy.click()
    expect(page.locator("[data-testid=toast]")).to_have_text("Copied.")
    assert page.evaluate("navigator.clipboard.readText()") == key
    row = page.locator("[data-testid=service-token-row][data-name=etl]")
    expect(row).to_contain_text("production")
    expect(row).to_contain_text("POSTGRES_*")
    screenshot(page, "r19-service-tokens-created-1280")

    page.reload()  # shown once: gone from the page as soon as it is loaded again
    expect(page.locator("[data-testid=new-service-token-key]")).to_have_count(0)
    assert key not in page.content()
    screenshot(page, "r19-service-tokens-1280")
    page.set_viewport_size(PHONE)
    expect(row).to_be_visible()
    screenshot(page, "r19-service-tokens-390")
    assert not page_scrolls_sideways(page)
    page.set_viewport_size(DESKTOP)

    token = ServiceToken.objects.get()
    native = native_dialogs(page)
    # Tokens may share a name (rotation): the button and the question name the prefix too.
    row.get_by_role("button", name=f"Revoke etl ({token.prefix}…)", exact=True).click()
    confirm_in_console(
        page, f"Revoke etl ({token.prefix}…)? Programs using it get 401 from now on.")
    expect(row.locator("[data-testid=revoked]")).to_contain_text("revoked")
    assert native == []
    expect(page.locator("[data-testid=service-token-note]")).to_contain_text(
        f"Revoked etl ({token.prefix}…)")
    assert ServiceToken.objects.get().revoked_at is not None
    assert AuditLog.objects.filter(action="SERVICE_TOKEN_REVOKE").count() == 1
    screenshot(page, "r19-service-tokens-revoked-1280")
    page.set_viewport_size(PHONE)
    chips = row.locator("code.chip")
    expect(chips).to_have_count(3)  # POSTGRES_*, AWS_* and 10.0.0.0/8, each on one line
    for index in range(3):
        box = chips.nth(index).bounding_box()
        assert box["height"] < 30, chips.nth(index).inner_text()
    screenshot(page, "r19-service-tokens-revoked-390")


def in_viewport(page, selector: str) -> bool:
    return page.evaluate("""(selector) => {
        const box = document.querySelector(selector).getBoundingClientRect();
        return box.top >= 0 && box.bottom <= window.innerHeight;
    }""", selector)


@pytest.mark.parametrize("javascript", [True, False], ids=["htmx", "no-javascript"])
def test_R19_at_390px_the_new_key_comes_into_view_and_takes_focus(
        browser, live_server, admin_user, javascript):
    context = browser.new_context(base_url=live_server.url, viewport=PHONE,
                                  java_script_enabled=javascript)
    context.set_default_timeout(15_000)
    page = context.new_page()
    for name in ("etl", "backup", "reports"):  # a list below the form: a longer page
        create_service_token(admin_user, name=name, profiles=["production"])
    try:
        log_in(page, "root", "root-password")
        page.goto("/settings/service-tokens/")
        form = page.locator("[data-testid=service-token-form]")
        form.get_by_label("Name").fill("etl")
        form.get_by_label("production").check()
        create = form.get_by_role("button", name="Create service token")
        create.evaluate("button => button.scrollIntoView({block: 'center'})")  # as one fills in
        assert page.evaluate(  # the top of the section, where the key box will be, is above
            "document.querySelector('#service-tokens').getBoundingClientRect().top < 0")
        create.click()
        box = page.locator("[data-testid=new-service-token]")
        expect(box).to_contain_text("kzsvc_")
        expect(box).to_be_focused()
        # Focused, it is announced by its name, never its key: no live region around the key (R21).
        expect(box).to_have_accessible_name(
            "Service token etl created: copy the key now; it is shown once.")
        assert not box.evaluate("e => !!e.closest('[role=status], [role=alert], [aria-live]')")
        assert in_viewport(page, "[data-testid=new-service-token]")
        screenshot(page, f"r19-service-token-created-390-{'htmx' if javascript else 'nojs'}")
    finally:
        context.close()
