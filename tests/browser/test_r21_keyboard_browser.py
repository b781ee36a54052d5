"""R21 (issue 14), keyboard alone and screen readers, in a real browser: the skip link; the
reveal (focus on Copy, then back on Decrypt; the live region says revealed and hidden again,
never the value); edit, delete, restore, revoke and remove driven with Tab, Enter and Escape
only (after signing in), with the focus checked after each step and never left on <body>;
restore, revoke and remove confirm in the console's own dialog (a native one fails the
test); Tab stays inside an open dialog; axe-core on every dialog open."""

import re

import pytest
from playwright.sync_api import expect

from secrets_app.access.grants import add_grant
from secrets_app.access.models import ApiToken, ProfileGrant, ServiceToken
from secrets_app.access.service_tokens import create_service_token
from secrets_app.access.tokens import create_token
from secrets_app.models import Secret
from secrets_app.services.secrets import create_secret, update_secret
from tests.browser.a11y import assert_accessible
from tests.helpers import log_in

pytestmark = pytest.mark.django_db(transaction=True)

CANARY = "R21-KEYBOARD-CANARY"


def row(page, name):
    return page.locator(f"[data-testid=secret-row][data-name='{name}']")


def is_focused(locator) -> bool:
    return locator.evaluate("el => el === document.activeElement")


def tab_to(page, locator, limit: int = 80, key: str = "Tab") -> None:
    """Press Tab until `locator` has the focus, as a keyboard user would."""
    for _ in range(limit):
        if locator.count() and is_focused(locator):
            return
        page.keyboard.press(key)
    raise AssertionError(f"{limit} x {key} never reached {locator}")


def focus_on_body(page) -> bool:
    return page.evaluate("!document.activeElement || document.activeElement === document.body")


def wait_for_focus_in(page, selector: str) -> None:
    """The focus settles inside `selector` (htmx settles a swap 20 ms after it)."""
    page.wait_for_function(
        "s => document.activeElement && document.activeElement !== document.body"
        " && !!document.querySelector(s) && document.querySelector(s).contains("
        "document.activeElement)", arg=selector, timeout=5_000)


def focus_inside(page, selector: str) -> bool:
    return page.evaluate(
        "s => !!document.querySelector(s) && document.querySelector(s).contains("
        "document.activeElement)", selector)


@pytest.fixture
def native_dialogs(page):
    """Every window.alert/confirm/prompt the page opens: the console must open none."""
    seen = []
    page.on("dialog", lambda dialog: (seen.append(dialog.message), dialog.dismiss()))
    return seen


def test_R21_the_skip_link_is_the_first_tab_stop_and_moves_focus_to_main(page, admin_user):
    page.goto("/accounts/login/")  # opens on the username (autofocus); the link is before it
    expect(page.locator("#id_username")).to_be_focused()
    page.keyboard.press("Shift+Tab")
    expect(page.locator("[data-testid=skip-link]")).to_be_focused()
    log_in(page, "root", "root-password")
    page.keyboard.press("Tab")
    skip = page.locator("[data-testid=skip-link]")
    expect(skip).to_be_focused()
    expect(skip).to_have_text("Skip to content")
    box = skip.bounding_box()  # visible when focused: on screen, not clipped to 1 px
    assert box["y"] >= 0 and box["width"] > 40 and box["height"] > 20, box
    page.keyboard.press("Enter")
    expect(page.locator("main#content")).to_be_focused()
    page.keyboard.press("Tab")  # the next stop is in main, past the dock
    assert focus_inside(page, "main"), page.evaluate("document.activeElement.outerHTML")


def test_R21_reveal_focuses_copy_announces_and_masks_back_to_decrypt(page, admin_user,
                                                                     settings):
    settings.SECRETS_REVEAL_SECONDS = 2
    create_secret(admin_user, name="warehouse", key="POSTGRES_PASSWORD", value=CANARY,
                  profile="development")
    create_secret(admin_user, name="zz-other", key="AWS_REGION", value="eu-west-1",
                  profile="development")
    log_in(page, "root", "root-password")
    cells = row(page, "warehouse")
    decrypt = cells.locator("[data-testid=decrypt]")
    announcer = page.locator("#announcer")
    expect(decrypt).to_have_accessible_name("Decrypt warehouse (development)")
    expect(announcer).to_have_attribute("aria-live", "polite")

    tab_to(page, decrypt)
    page.keyboard.press("Enter")
    copy = cells.locator("[data-testid=copy]")
    expect(copy).to_be_focused()
    expect(copy).to_have_accessible_name("Copy warehouse (development)")
    expect(cells.locator("[data-testid=revealed-value]")).to_have_text(CANARY)
    expect(announcer).to_contain_text(
        "warehouse (development) revealed; hidden again in 2 seconds.")
    assert CANARY not in announcer.text_content()
    # The countdown is not read out every second.
    expect(cells.locator("[data-testid=countdown]")).to_have_attribute("aria-hidden", "true")
    assert_accessible(page, "the secrets page with a value revealed")

    # Masked again by itself: the focus was on Copy, in the cell: back on Decrypt.
    expect(cells.locator("[data-testid=revealed-value]")).to_have_count(0, timeout=8_000)
    expect(decrypt).to_be_focused()
    expect(announcer).to_contain_text("warehouse (development) hidden again.")
    assert CANARY not in page.content()

    # Revealed again, then the user moves on: the mask does not take the focus back.
    page.keyboard.press("Enter")
    expect(copy).to_be_focused()
    expect(announcer).to_contain_text("warehouse (development) revealed")
    elsewhere = row(page, "zz-other").locator("[data-testid=decrypt]")
    tab_to(page, elsewhere)
    expect(cells.locator("[data-testid=revealed-value]")).to_have_count(0, timeout=8_000)
    expect(announcer).to_contain_text("warehouse (development) hidden again.")
    expect(elsewhere).to_be_focused()


def test_R21_a_protected_reveal_through_the_password_dialog_ends_on_copy(page, admin_user,
                                                                         settings):
    settings.SECRETS_REAUTH_SECONDS = 0  # every reveal in production asks
    create_secret(admin_user, name="warehouse", key="POSTGRES_PASSWORD", value=CANARY,
                  profile="production")
    log_in(page, "root", "root-password")
    decrypt = row(page, "warehouse").locator("[data-testid=decrypt]")
    tab_to(page, decrypt)
    page.keyboard.press("Enter")
    password = page.locator("#dialog [data-testid=reauth-password]")
    expect(password).to_be_focused()
    assert_accessible(page, "the password dialog", "#dialog")
    page.keyboard.type("root-password")
    page.keyboard.press("Enter")
    expect(page.locator("#dialog")).not_to_be_visible()
    copy = row(page, "warehouse").locator("[data-testid=copy]")
    expect(copy).to_be_focused()
    expect(page.locator("#announcer")).to_contain_text(
        "warehouse (production) revealed; hidden again in 30 seconds.")


def test_R21_edit_opens_on_the_name_saves_with_enter_and_escape_gives_focus_back(
        page, admin_user):
    create_secret(admin_user, name="warehouse", key="POSTGRES_PASSWORD", value=CANARY,
                  profile="development")
    log_in(page, "root", "root-password")
    dialog = page.locator("#dialog")
    edit = row(page, "warehouse").locator("[data-testid=edit]")
    expect(edit).to_have_accessible_name("Edit warehouse (development)")

    tab_to(page, edit)
    page.keyboard.press("Enter")
    name = dialog.locator("input[name=name]")
    expect(name).to_be_focused()
    expect(dialog.locator(".dialog-head [data-close-dialog]")).to_have_accessible_name("Close")
    page.keyboard.press("Escape")
    expect(dialog).not_to_be_visible()
    expect(edit).to_be_focused()

    page.keyboard.press("Enter")
    expect(name).to_be_focused()
    page.keyboard.press("End")
    page.keyboard.type("-eu")
    page.keyboard.press("Enter")
    expect(dialog).not_to_be_visible()
    expect(row(page, "warehouse-eu")).to_have_count(1)
    assert Secret.objects.filter(name="warehouse-eu").exists()
    # The rows were drawn again: the focus is on the new row's Edit, not on <body>.
    expect(row(page, "warehouse-eu").locator("[data-testid=edit]")).to_be_focused()


def test_R21_delete_opens_on_keep_it_and_the_focus_moves_to_the_next_row(page, admin_user):
    for name in ("alpha", "bravo"):
        create_secret(admin_user, name=name, key="POSTGRES_PASSWORD", value=CANARY,
                      profile="development")
    log_in(page, "root", "root-password")
    dialog = page.locator("#dialog")
    delete = row(page, "alpha").locator("[data-testid=delete]")
    expect(delete).to_have_accessible_name("Delete alpha (development)")
    tab_to(page, delete)
    page.keyboard.press("Enter")
    keep = dialog.locator("[data-testid=keep-it]")
    expect(keep).to_be_focused()  # the least destructive choice
    page.keyboard.press("Enter")  # Enter there keeps it
    expect(dialog).not_to_be_visible()
    expect(delete).to_be_focused()

    page.keyboard.press("Enter")
    expect(keep).to_be_focused()
    page.keyboard.press("Tab")
    expect(dialog.locator("[data-testid=confirm-delete]")).to_be_focused()
    page.keyboard.press("Enter")
    expect(row(page, "alpha")).to_have_count(0)
    assert not Secret.objects.filter(name="alpha").exists()
    # The row is gone: the next row's first control.
    expect(row(page, "bravo").locator("[data-testid=decrypt]")).to_be_focused()

    # The last row gone: the search box.
    tab_to(page, row(page, "bravo").locator("[data-testid=delete]"))
    page.keyboard.press("Enter")
    expect(keep).to_be_focused()
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(page.locator("[data-testid=empty-state]")).to_be_visible()
    expect(page.locator("[data-testid=search]")).to_be_focused()


def test_R21_restore_confirms_in_the_console_dialog(page, admin_user, native_dialogs):
    secret = create_secret(admin_user, name="warehouse", key="POSTGRES_PASSWORD",
                           value="first-value", profile="development")
    update_secret(secret, admin_user, value="second-value")
    log_in(page, "root", "root-password")
    dialog = page.locator("#dialog")
    confirm = page.locator("#confirm-dialog")
    versions = row(page, "warehouse").locator("[data-testid=versions]")
    expect(versions).to_have_accessible_name("Versions of warehouse (development)")

    tab_to(page, versions)
    page.keyboard.press("Enter")
    restore = dialog.locator("[data-testid=restore]")
    expect(restore).to_be_focused()  # the dialog opens on the first Restore
    expect(restore).to_have_accessible_name("Restore version 1 of warehouse (development)")
    page.keyboard.press("Enter")
    expect(confirm).to_be_visible()
    expect(confirm).to_have_attribute("role", "alertdialog")
    expect(confirm.locator("[data-testid=confirm-question]")).to_have_text(
        "Make version 1 the current value of warehouse (development)?")
    expect(confirm).to_have_accessible_name("Are you sure?")
    expect(confirm).to_have_accessible_description(
        "Make version 1 the current value of warehouse (development)?")
    expect(confirm.locator("[data-testid=confirm-cancel]")).to_be_focused()
    assert_accessible(page, "the confirm dialog", "#confirm-dialog")

    # Escape: nothing restored, the versions dialog still open, the focus on Restore.
    page.keyboard.press("Escape")
    expect(confirm).not_to_be_visible()
    expect(dialog).to_be_visible()
    expect(restore).to_be_focused()
    assert secret.versions.count() == 2

    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    ok = confirm.locator("[data-testid=confirm-ok]")
    expect(ok).to_be_focused()
    expect(ok).to_have_text("Restore")
    page.keyboard.press("Enter")
    expect(dialog).not_to_be_visible()
    expect(page.locator("[data-testid=toast]")).to_have_text(
        "Restored version 1 of warehouse (development).")
    secret.refresh_from_db()
    assert secret.versions.count() == 3
    assert secret.value.reveal() == "first-value"
    expect(versions).to_be_focused()  # back where it started, in the re-drawn row
    assert native_dialogs == []


def test_R21_a_protected_restore_asks_the_password_after_the_console_confirm(
        page, admin_user, settings, native_dialogs):
    settings.SECRETS_REAUTH_SECONDS = 0
    secret = create_secret(admin_user, name="warehouse", key="POSTGRES_PASSWORD",
                           value="first-value", profile="production")
    update_secret(secret, admin_user, value="second-value")
    log_in(page, "root", "root-password")
    tab_to(page, row(page, "warehouse").locator("[data-testid=versions]"))
    page.keyboard.press("Enter")
    expect(page.locator("#dialog [data-testid=restore]")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#confirm-dialog [data-testid=confirm-cancel]")).to_be_focused()
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    password = page.locator("#dialog [data-testid=reauth-password]")
    expect(password).to_be_focused()
    page.keyboard.type("root-password")
    page.keyboard.press("Enter")
    expect(page.locator("#dialog")).not_to_be_visible()
    secret.refresh_from_db()
    assert secret.value.reveal() == "first-value"
    expect(row(page, "warehouse").locator("[data-testid=versions]")).to_be_focused()
    assert native_dialogs == []


def confirm_with_keyboard(page, trigger, question: str, label: str, still_there) -> None:
    """Enter on `trigger`: the console's dialog asks `question`; Escape cancels (the focus
    back on the trigger, `still_there()` true); Enter, Tab, Enter confirms."""
    confirm = page.locator("#confirm-dialog")
    tab_to(page, trigger)
    page.keyboard.press("Enter")
    expect(confirm).to_be_visible()
    expect(confirm.locator("[data-testid=confirm-question]")).to_have_text(question)
    expect(confirm.locator("[data-testid=confirm-cancel]")).to_be_focused()
    page.keyboard.press("Escape")
    expect(confirm).not_to_be_visible()
    expect(trigger).to_be_focused()
    assert still_there()
    page.keyboard.press("Enter")
    expect(confirm.locator("[data-testid=confirm-cancel]")).to_be_focused()
    page.keyboard.press("Tab")
    ok = confirm.locator("[data-testid=confirm-ok]")
    expect(ok).to_be_focused()
    expect(ok).to_have_text(label)
    page.keyboard.press("Enter")
    expect(confirm).not_to_be_visible()


def test_R21_revoking_an_api_token_confirms_in_the_console(page, admin_user, native_dialogs):
    old, _ = create_token(admin_user, "laptop", 30)
    create_token(admin_user, "desktop", 30)
    log_in(page, "root", "root-password")
    page.goto("/settings/")
    trigger = page.get_by_role("button", name=f"Revoke laptop ({old.prefix}…)")
    confirm_with_keyboard(
        page, trigger, f"Revoke laptop ({old.prefix}…)? Programs using it will get 401.",
        "Revoke", lambda: ApiToken.objects.get(pk=old.pk).is_usable)
    expect(trigger).to_have_count(0)
    old.refresh_from_db()
    assert old.revoked_at is not None
    # Its row has no Revoke left: the focus goes to another row's.
    expect(page.locator("[data-testid=revoke]")).to_be_focused()
    assert native_dialogs == []


def test_R21_revoking_a_service_token_confirms_in_the_console(page, admin_user,
                                                              native_dialogs):
    token, _ = create_service_token(admin_user, name="etl", profiles=["production"])
    log_in(page, "root", "root-password")
    page.goto("/settings/service-tokens/")
    trigger = page.get_by_role("button", name=f"Revoke etl ({token.prefix}…)", exact=True)
    confirm_with_keyboard(
        page, trigger, f"Revoke etl ({token.prefix}…)? Programs using it get 401 from now on.",
        "Revoke", lambda: ServiceToken.objects.get(pk=token.pk).revoked_at is None)
    expect(page.locator("[data-testid=revoked]")).to_have_count(1)
    token.refresh_from_db()
    assert token.revoked_at is not None
    wait_for_focus_in(page, "main")  # no Revoke left on the page: <main>, never <body>
    assert native_dialogs == []


def test_R21_removing_a_grant_confirms_in_the_console(page, admin_user, member,
                                                      native_dialogs):
    add_grant(admin_user, member, "development", "editor")
    add_grant(admin_user, member, "staging", "reader")
    log_in(page, "root", "root-password")
    page.goto("/settings/access/")
    trigger = page.get_by_role("button", name="Remove bob's editor role on development")
    confirm_with_keyboard(
        page, trigger,
        "Remove bob's editor role on development? They keep whatever their other grants give.",
        "Remove", lambda: ProfileGrant.objects.filter(profile="development").exists())
    expect(page.locator("[data-testid=grant-row]")).to_have_count(1)
    assert not ProfileGrant.objects.filter(profile="development").exists()
    # The next grant's Remove.
    expect(page.get_by_role("button", name="Remove bob's reader role on staging")).to_be_focused()
    assert native_dialogs == []


def test_R21_tab_and_shift_tab_stay_inside_an_open_dialog(page, admin_user):
    log_in(page, "root", "root-password")
    tab_to(page, page.locator("[data-testid=new-secret]"))
    page.keyboard.press("Enter")
    expect(page.locator("#dialog input[name=name]")).to_be_focused()
    stops = set()
    for _ in range(40):  # more than the dialog's controls: wraps around at least once
        page.keyboard.press("Tab")
        assert focus_inside(page, "#dialog"), page.evaluate("document.activeElement.outerHTML")
        stops.add(page.evaluate(
            "document.activeElement.name || document.activeElement.textContent"))
    for _ in range(25):
        page.keyboard.press("Shift+Tab")
        assert focus_inside(page, "#dialog"), page.evaluate("document.activeElement.outerHTML")
    assert {"name", "key", "Create", "Cancel"} <= stops, stops
    page.keyboard.press("Escape")
    expect(page.locator("#dialog")).not_to_be_visible()


def test_R21_the_confirm_dialog_traps_tab_above_the_versions_dialog(page, admin_user):
    secret = create_secret(admin_user, name="warehouse", key="POSTGRES_PASSWORD",
                           value="first-value", profile="development")
    update_secret(secret, admin_user, value="second-value")
    log_in(page, "root", "root-password")
    tab_to(page, row(page, "warehouse").locator("[data-testid=versions]"))
    page.keyboard.press("Enter")
    expect(page.locator("#dialog [data-testid=restore]")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#confirm-dialog [data-testid=confirm-cancel]")).to_be_focused()
    for key in ["Tab"] * 5 + ["Shift+Tab"] * 5:
        page.keyboard.press(key)
        assert focus_inside(page, "#confirm-dialog"), page.evaluate(
            "document.activeElement.outerHTML")


def test_R21_axe_finds_nothing_serious_in_any_open_dialog(page, admin_user, settings,
                                                         tmp_path):
    secret = create_secret(admin_user, name="warehouse", key="POSTGRES_PASSWORD",
                           value="first-value", profile="production")
    update_secret(secret, admin_user, value="second-value")
    log_in(page, "root", "root-password")
    dialog = page.locator("#dialog")

    def opened(testid: str, where: str, ready: str) -> None:
        scope = page if testid in ("new-secret", "import") else row(page, "warehouse")
        scope.locator(f"[data-testid={testid}]").click()
        expect(dialog.locator(ready)).to_be_visible()
        assert_accessible(page, where, "#dialog")

    opened("new-secret", "the new secret dialog", "input[name=name]")
    page.keyboard.press("Escape")
    opened("edit", "the edit dialog", "input[name=name]")
    page.keyboard.press("Escape")
    opened("import", "the import dialog", "input[type=file]")
    path = tmp_path / "io_config.yaml"
    path.write_text("version: 0.1.1\ndefault:\n  API_TOKEN: abc\nqa:\n  X_KEY: y\n")
    dialog.locator("input[type=file]").set_input_files(str(path))
    dialog.locator("[data-testid=upload]").click()
    expect(dialog.locator("[data-testid=import-summary]")).to_be_visible()
    expect(dialog.locator("[data-testid=import-done]")).to_be_focused()
    # The counts are read out with Done, which has the focus.
    expect(dialog.locator("[data-testid=import-done]")).to_have_accessible_description(
        re.compile(r"^Import finished\. 1 created 0 updated 0 unchanged 0 skipped 1 failed$"))
    assert_accessible(page, "the import summary", "#dialog")
    page.keyboard.press("Escape")
    opened("versions", "the versions dialog", "[data-testid=restore]")
    dialog.locator("[data-testid=restore]").click()
    expect(page.locator("#confirm-dialog")).to_be_visible()
    assert_accessible(page, "the confirm dialog", "#confirm-dialog")
    page.keyboard.press("Escape")
    page.keyboard.press("Escape")
    opened("delete", "the delete dialog", "[data-testid=confirm-delete]")
    settings.SECRETS_REAUTH_SECONDS = 0
    dialog.locator("[data-testid=confirm-delete]").click()
    expect(dialog.locator("[data-testid=reauth-password]")).to_be_focused()
    assert_accessible(page, "the password dialog (delete)", "#dialog")
    page.keyboard.press("Escape")
    expect(dialog).not_to_be_visible()
    assert not focus_on_body(page)


def test_R21_the_next_page_link_keeps_the_focus_when_the_rows_are_drawn_again(
        page, admin_user, monkeypatch):
    monkeypatch.setattr("secrets_app.console.views.PAGE_SIZE", 2)  # the live server's too
    for index in range(5):
        create_secret(admin_user, name=f"secret-{index}", key="AWS_REGION", value="eu",
                      profile="development")
    log_in(page, "root", "root-password")
    next_page = page.locator("[data-testid=next-page]")
    tab_to(page, next_page)
    page.keyboard.press("Enter")
    expect(page.locator(".pager")).to_contain_text("Page 2 of 3")
    expect(next_page).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator(".pager")).to_contain_text("Page 3 of 3")
    wait_for_focus_in(page, "main")  # no Next on the last page: somewhere in main, not <body>
