"""R21.1 in a real browser: a reveal in a protected profile asks for the password in the
console's dialog, driven with the keyboard alone (focus on the password field, Escape closes
and gives focus back, Enter confirms); a wrong password says so, the right one reveals."""

import pytest
from playwright.sync_api import expect

from audit_app.models import AuditLog
from secrets_app.services.secrets import create_secret
from tests.helpers import log_in, screenshot

pytestmark = pytest.mark.django_db(transaction=True)


def row(page, name):
    return page.locator(f"[data-testid=secret-row][data-name='{name}']")


def test_R21_1_a_protected_reveal_asks_for_the_password_with_the_keyboard(page, admin_user,
                                                                         settings):
    settings.SECRETS_REAUTH_SECONDS = 0  # every reveal in production asks
    create_secret(admin_user, name="warehouse", key="POSTGRES_PASSWORD",
                  value="REAUTH-CANARY", profile="production")
    log_in(page, "root", "root-password")
    dialog = page.locator("#dialog")
    decrypt = row(page, "warehouse").locator("[data-testid=decrypt]")
    password = dialog.locator("[data-testid=reauth-password]")

    # The dialog opens on the password field; Escape closes it and gives focus back.
    decrypt.focus()
    page.keyboard.press("Enter")
    expect(dialog).to_be_visible()
    expect(dialog.locator("#dialog-title")).to_have_text("Enter your password again")
    expect(password).to_be_focused()
    screenshot(page, "r21-reauth-dialog")
    page.keyboard.press("Escape")
    expect(dialog).not_to_be_visible()
    expect(decrypt).to_be_focused()
    expect(row(page, "warehouse").locator("[data-testid=revealed-value]")).to_have_count(0)

    # A wrong password: the message, nothing revealed, the field ready for another try.
    page.keyboard.press("Enter")
    expect(password).to_be_focused()
    page.keyboard.type("not-my-password")
    page.keyboard.press("Enter")
    expect(dialog.locator("[data-testid=reauth-error]")).to_have_text(
        "That password is not right.")
    expect(password).to_be_focused()
    expect(password).to_have_value("")
    assert "REAUTH-CANARY" not in page.content()
    assert "not-my-password" not in page.content()
    screenshot(page, "r21-reauth-wrong")
    assert AuditLog.objects.filter(action="LOGIN_FAILED", username="root",
                                   secret_name="warehouse").count() == 1

    # The right password: the dialog closes and the value is in the row.
    page.keyboard.type("root-password")
    page.keyboard.press("Enter")
    expect(row(page, "warehouse").locator("[data-testid=revealed-value]")).to_have_text(
        "REAUTH-CANARY")
    expect(dialog).not_to_be_visible()
    screenshot(page, "r21-reauth-revealed")


def test_R21_1_an_unprotected_reveal_is_not_asked(page, admin_user, settings):
    settings.SECRETS_REAUTH_SECONDS = 0
    create_secret(admin_user, name="local-db", key="POSTGRES_PASSWORD",
                  value="DEV-CANARY", profile="development")
    log_in(page, "root", "root-password")
    row(page, "local-db").locator("[data-testid=decrypt]").click()
    expect(row(page, "local-db").locator("[data-testid=revealed-value]")).to_have_text(
        "DEV-CANARY")
    expect(page.locator("#dialog")).not_to_be_visible()
