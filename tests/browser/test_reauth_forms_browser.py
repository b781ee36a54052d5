"""R21.1 in a real browser: an edit in a protected profile, from a stale session, asks for the
password in the edit dialog itself ("Your password"), with the keyboard alone: the dialog
opens on its first field, Enter without the password says so and puts the focus on it, a
wrong one says so, the right one saves and closes the dialog. axe-core on the dialog (R21.5);
no sideways scroll, the buttons on screen, at the three sizes (R21.2)."""

import pytest
from playwright.sync_api import expect

from secrets_app.models import Secret
from secrets_app.services.secrets import create_secret
from tests.browser.a11y import (
    VIEWPORTS,
    assert_accessible,
    assert_no_sideways_scroll,
    buttons_off_screen,
)
from tests.helpers import log_in, screenshot

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("size", list(VIEWPORTS))
def test_R21_1_an_edit_in_production_asks_in_its_own_dialog(page, admin_user, settings, size):
    settings.SECRETS_REAUTH_SECONDS = 0  # every change in production asks
    secret = create_secret(admin_user, name="warehouse", key="POSTGRES_PASSWORD",
                           value="FORM-CANARY", profile="production")
    page.set_viewport_size(VIEWPORTS[size])
    log_in(page, "root", "root-password")
    dialog = page.locator("#dialog")
    edit = page.locator("[data-testid=secret-row][data-name='warehouse'] [data-testid=edit]")
    password = dialog.locator("#id_password")

    edit.focus()
    page.keyboard.press("Enter")
    expect(dialog.locator("[data-testid=secret-form]")).to_be_visible()
    expect(dialog.locator("#id_name")).to_be_focused()
    expect(password).to_be_visible()
    expect(password).to_have_attribute("autocomplete", "current-password")
    expect(dialog).to_contain_text("Changes in production ask for your password every time.")

    # Enter in the first field sends the form: asked, the focus on the password field.
    page.keyboard.press("End")
    page.keyboard.type("-eu")
    page.keyboard.press("Enter")
    expect(dialog.locator(".field-error")).to_have_text("Enter your password to go on.")
    expect(password).to_be_focused()
    expect(dialog.locator("#id_name")).to_have_value("warehouse-eu")  # typed values kept
    assert_accessible(page, f"the edit dialog asking for the password ({size})", "#dialog")
    assert_no_sideways_scroll(page, f"the edit dialog ({size})")
    assert not buttons_off_screen(page), size
    screenshot(page, f"r21-reauth-form-{size}")

    page.keyboard.type("not-my-password")
    page.keyboard.press("Enter")
    expect(dialog.locator(".field-error")).to_have_text("That password is not right.")
    expect(password).to_be_focused()
    expect(password).to_have_value("")
    assert "not-my-password" not in page.content()
    assert Secret.objects.get(pk=secret.pk).name == "warehouse"

    page.keyboard.type("root-password")
    page.keyboard.press("Enter")
    expect(dialog).not_to_be_visible()
    expect(page.locator("[data-testid=secret-row][data-name='warehouse-eu']")).to_have_count(1)
    assert Secret.objects.get(pk=secret.pk).name == "warehouse-eu"
    assert "FORM-CANARY" not in page.content()


@pytest.mark.parametrize("size", list(VIEWPORTS))
def test_R21_1_the_settings_forms_ask_in_place_and_fit(page, admin_user, settings, size):
    """Settings → API tokens, Service tokens and Access offer "Your password" to a stale
    session: labelled, described by its help, no axe violation, no sideways scroll."""
    settings.SECRETS_REAUTH_SECONDS = 0
    page.set_viewport_size(VIEWPORTS[size])
    log_in(page, "root", "root-password")
    for path, name in [("/settings/", "tokens"), ("/settings/service-tokens/", "service-tokens"),
                       ("/settings/access/", "access")]:
        page.goto(path)
        password = page.locator("#id_password")
        expect(password).to_be_visible()
        expect(page.get_by_label("Your password")).to_have_count(1)
        assert_accessible(page, f"{path} with the password field ({size})")
        assert_no_sideways_scroll(page, f"{path} ({size})")
        assert not buttons_off_screen(page), (path, size)
        screenshot(page, f"r21-reauth-{name}-{size}")
    # The token form without the password: asked in place, nothing made.
    page.goto("/settings/")
    page.fill("#id_name", "laptop")
    page.locator("[data-testid=create-token]").click()
    expect(page.locator("#tokens .field-error")).to_have_text("Enter your password to go on.")
    expect(page.locator("[data-testid=new-token]")).to_have_count(0)
    page.fill("#id_password", "root-password")
    page.locator("[data-testid=create-token]").click()
    expect(page.locator("[data-testid=new-token-key]")).to_be_visible()
