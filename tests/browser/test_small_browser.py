"""R21 in a real browser: the masked value field's show toggle, driven by mouse and by the
keyboard alone, and the multi-line switch (a private key keeps its line breaks)."""

import pytest
from playwright.sync_api import expect

from secrets_app.models import Secret
from tests.helpers import log_in, screenshot

pytestmark = pytest.mark.django_db(transaction=True)


def open_new_secret(page):
    log_in(page, "root", "root-password")
    page.click("[data-testid=new-secret]")
    dialog = page.locator("#dialog")
    expect(dialog).to_be_visible()
    return dialog


def test_the_toggle_shows_and_hides_the_typed_value(page, admin_user):
    dialog = open_new_secret(page)
    value = dialog.locator("#id_value")
    toggle = dialog.get_by_role("button", name="Show value")
    value.fill("TOGGLE-CANARY")
    expect(value).to_have_attribute("type", "password")
    expect(toggle).to_have_attribute("aria-pressed", "false")

    toggle.click()
    expect(value).to_have_attribute("type", "text")
    expect(value).to_have_value("TOGGLE-CANARY")
    # A toggle button (WAI-ARIA APG): the same name, the state in aria-pressed.
    expect(toggle).to_have_accessible_name("Show value")
    expect(toggle).to_have_attribute("aria-pressed", "true")
    screenshot(page, "21-value-shown")

    toggle.click()
    expect(value).to_have_attribute("type", "password")
    expect(dialog.get_by_role("button", name="Show value")).to_have_attribute(
        "aria-pressed", "false")
    expect(value).to_have_value("TOGGLE-CANARY")


def test_the_toggle_works_with_the_keyboard_alone(page, admin_user):
    dialog = open_new_secret(page)
    dialog.locator("#id_key").focus()
    page.keyboard.press("Tab")
    expect(dialog.locator("#id_value")).to_be_focused()
    page.keyboard.type("KEYBOARD-CANARY")
    page.keyboard.press("Tab")
    toggle = dialog.locator("[data-testid=toggle-value]")
    expect(toggle).to_be_focused()
    expect(toggle).to_have_accessible_name("Show value")

    page.keyboard.press("Enter")
    expect(dialog.locator("#id_value")).to_have_attribute("type", "text")
    expect(toggle).to_have_accessible_name("Show value")  # a toggle keeps its name
    expect(toggle).to_have_attribute("aria-pressed", "true")
    expect(toggle).to_be_focused()  # focus stays: the same key hides it again

    page.keyboard.press("Space")
    expect(dialog.locator("#id_value")).to_have_attribute("type", "password")
    expect(toggle).to_have_accessible_name("Show value")
    expect(toggle).to_have_attribute("aria-pressed", "false")
    expect(dialog.locator("#id_value")).to_have_value("KEYBOARD-CANARY")


def test_a_multi_line_value_is_hidden_behind_dots_and_kept_whole(page, admin_user):
    dialog = open_new_secret(page)
    dialog.locator("input[name=name]").fill("deploy key")
    dialog.locator("input[name=key]").fill("SSH_PRIVATE_KEY")
    dialog.locator("#id_value").fill("partial")
    dialog.get_by_label("Multi-line value").check()
    value = dialog.locator("textarea#id_value")
    expect(value).to_be_hidden()
    expect(dialog.locator("[data-secret-field]").first.locator("[data-secret-mask]")) \
        .to_contain_text("•••")

    dialog.get_by_role("button", name="Show value").click()
    expect(value).to_be_visible()
    expect(value).to_have_value("partial")
    pem = "-----BEGIN KEY-----\nAAAA\n-----END KEY-----"
    value.fill(pem)
    toggle = dialog.get_by_role("button", name="Show value", pressed=True)
    toggle.click()
    expect(value).to_be_hidden()
    screenshot(page, "22-multiline-hidden")
    dialog.locator("[data-testid=save]").click()
    expect(dialog).not_to_be_visible()
    assert Secret.objects.get(name="deploy key").value.reveal() == pem
