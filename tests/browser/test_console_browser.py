"""The console in a real browser (R2 to R4, R6.5, R9, R12, R14, R15)."""

import re

import pytest
from playwright.sync_api import expect

from secrets_app.models import Secret
from secrets_app.services.secrets import create_secret
from tests.helpers import log_in, screenshot

pytestmark = pytest.mark.django_db(transaction=True)


def row(page, name):
    return page.locator(f"[data-testid=secret-row][data-name='{name}']")


def test_admin_creates_edits_filters_decrypts_and_deletes(page, admin_user):
    create_secret(admin_user, name="other-service", key="AWS_REGION", value="eu-west-1")
    page.clock.install()
    log_in(page, "root", "root-password")

    # Create through the dialog.
    page.click("[data-testid=new-secret]")
    dialog = page.locator("#dialog")
    expect(dialog).to_be_visible()
    ssh_section = dialog.locator("[data-testid=ssh-section]")
    expect(ssh_section).to_be_hidden()
    dialog.locator("select[name=category]").select_option("SSH")
    expect(ssh_section).to_be_visible()  # R7.4
    dialog.locator("select[name=category]").select_option("")
    expect(ssh_section).to_be_hidden()
    dialog.locator("input[name=name]").fill("warehouse")
    dialog.locator("input[name=key]").fill("POSTGRES_PASSWORD")
    dialog.locator("input[name=value]").fill("BROWSER-CANARY")
    dialog.locator("select[name=profile]").select_option("production")
    screenshot(page, "02-create-dialog")
    dialog.locator("[data-testid=save]").click()
    expect(dialog).not_to_be_visible()
    expect(row(page, "warehouse")).to_be_visible()
    expect(row(page, "warehouse")).to_contain_text("Database")
    expect(page.locator("body")).not_to_contain_text("BROWSER-CANARY")
    screenshot(page, "03-secrets")

    # Edit: an empty value keeps the stored one.
    row(page, "warehouse").locator("[data-testid=edit]").click()
    expect(dialog.locator("input[name=name]")).to_have_value("warehouse")
    dialog.locator("textarea[name=description]").fill("the data warehouse")
    dialog.locator("[data-testid=save]").click()
    expect(row(page, "warehouse")).to_contain_text("the data warehouse")
    assert Secret.objects.get(name="warehouse").value.reveal() == "BROWSER-CANARY"

    # Filter: search, category, profile; the URL keeps them.
    page.fill("[data-testid=search]", "ware")
    expect(row(page, "other-service")).to_have_count(0)
    expect(row(page, "warehouse")).to_be_visible()
    page.select_option("[data-testid=category-filter]", "Database")
    page.select_option("[data-testid=profile-filter]", "production")
    expect(page).to_have_url(re.compile(r"search=ware.*category=Database.*profile=production"))
    page.reload()
    expect(page.locator("[data-testid=search]")).to_have_value("ware")
    expect(row(page, "warehouse")).to_be_visible()
    page.select_option("[data-testid=profile-filter]", "staging")
    expect(row(page, "warehouse")).to_have_count(0)
    page.go_back()
    expect(row(page, "warehouse")).to_be_visible()

    # Decrypt: the value and a countdown, gone from the DOM after 30 s.
    row(page, "warehouse").locator("[data-testid=decrypt]").click()
    revealed = row(page, "warehouse").locator("[data-testid=revealed-value]")
    expect(revealed).to_have_text("BROWSER-CANARY")
    expect(row(page, "warehouse").locator("[data-testid=countdown]")).to_have_text("30s")
    page.clock.run_for(5_000)
    expect(row(page, "warehouse").locator("[data-testid=countdown]")).to_have_text("25s")
    screenshot(page, "04-revealed")
    page.clock.run_for(26_000)
    expect(page.locator("[data-testid=revealed-value]")).to_have_count(0)
    assert "BROWSER-CANARY" not in page.content()
    expect(row(page, "warehouse").locator("[data-testid=masked-value]")).to_have_text("********")

    # Delete after a confirmation naming the secret and its profile.
    row(page, "warehouse").locator("[data-testid=delete]").click()
    expect(dialog.locator("[data-testid=delete-name]")).to_have_text("warehouse")
    expect(dialog.locator("[data-testid=delete-profile]")).to_have_text("production")
    screenshot(page, "05-delete-confirm")
    dialog.locator("[data-testid=confirm-delete]").click()
    expect(row(page, "warehouse")).to_have_count(0)
    assert not Secret.objects.filter(name="warehouse").exists()


def test_admin_imports_a_yaml_file_and_reads_the_summary(page, admin_user, tmp_path):
    path = tmp_path / "io_config.yaml"
    path.write_text("version: 0.1.1\ndefault:\n  API_TOKEN: abc\n  POSTGRES_PORT: 5432\n"
                    "  MYSQL_PASSWORD:\nqa:\n  X_KEY: y\n")
    log_in(page, "root", "root-password")
    page.click("[data-testid=import]")
    page.set_input_files("#dialog input[type=file]", str(path))
    page.click("[data-testid=upload]")
    summary = page.locator("[data-testid=import-summary]")
    expect(summary.locator("[data-testid=count-created]")).to_contain_text("2 created")
    expect(summary.locator("[data-testid=count-skipped]")).to_contain_text("1 skipped")
    expect(summary.locator("[data-testid=count-failed]")).to_contain_text("1 failed")
    expect(summary).to_contain_text("unknown profile 'qa'")
    screenshot(page, "06-import-summary")
    page.click("#dialog [data-close-dialog] >> nth=-1")
    expect(row(page, "API_TOKEN")).to_be_visible()  # the table refreshed


def test_non_admins_see_no_admin_controls_and_a_forged_decrypt_is_refused(page, admin_user,
                                                                         member):
    secret = create_secret(admin_user, name="warehouse", key="POSTGRES_PASSWORD",
                           value="FORGED-CANARY")
    log_in(page, "bob", "bob-password")
    expect(row(page, "warehouse")).to_be_visible()
    for control in ("new-secret", "import", "edit", "delete", "decrypt", "versions",
                    "nav-audit"):
        expect(page.locator(f"[data-testid={control}]")).to_have_count(0)
    csrf = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    response = page.request.post(f"/secrets/{secret.pk}/decrypt/",
                                 headers={"X-CSRFToken": csrf, "HX-Request": "true"})
    assert response.status == 403
    assert "FORGED-CANARY" not in response.text()
    screenshot(page, "07-secrets-non-admin")


def test_the_secrets_dock_item_is_active_with_its_tooltip(page, member):
    log_in(page, "bob", "bob-password")
    item = page.locator("[data-testid=nav-secrets]")
    expect(item).to_have_class(re.compile(r"\bactive\b"))
    expect(item).to_have_attribute("title", "Secrets")
    expect(item).to_have_attribute("href", "/secrets/")
    labels = page.locator(".dock .dock-label").all_inner_texts()
    assert labels[:3] == ["Catalog", "Secrets", "Settings"]
    item.hover()
    expect(item.locator(".dock-label")).to_be_visible()
    page.click("[data-testid=nav-catalog]")
    expect(page.locator("[data-testid=nav-secrets]")).not_to_have_class(re.compile("active"))


def test_every_page_renders_for_an_admin(page, admin_user):
    for name, key, profile in [
        ("POSTGRES_HOST", "POSTGRES_HOST", "production"),
        ("Warehouse password", "POSTGRES_PASSWORD", "production"),
        ("AWS_ACCESS_KEY_ID", "AWS_ACCESS_KEY_ID", "default"),
        ("AWS_SECRET_ACCESS_KEY", "AWS_SECRET_ACCESS_KEY", "default"),
        ("Snowflake loader", "SNOWFLAKE_PASSWORD", "staging"),
        ("OpenAI API key", "OPENAI_API_KEY", "default"),
        ("GCP service account", "GOOGLE_SERVICE_ACC_KEY", "development"),
    ]:
        create_secret(admin_user, name=name, key=key, value=f"{key.lower()}-example",
                      profile=profile)
    page.clock.install()
    page.goto("/accounts/login/")
    screenshot(page, "01-login")
    log_in(page, "root", "root-password")
    row(page, "OpenAI API key").locator("[data-testid=decrypt]").click()
    expect(page.locator("[data-testid=revealed-value]")).to_be_visible()
    page.clock.run_for(7_000)
    page.set_viewport_size({"width": 1440, "height": 720})
    page.locator("[data-testid=nav-secrets]").hover()
    page.wait_for_timeout(400)  # the tooltip's fade-in
    screenshot(page, "00-console")  # the README's picture
    page.set_viewport_size({"width": 1280, "height": 800})
    for path, name, heading in [("/catalog/", "08-catalog", "Catalog"),
                                ("/settings/", "09-settings", "Settings"),
                                ("/audit/", "10-audit", "Audit log")]:
        page.goto(path)
        expect(page.locator("h1")).to_have_text(heading)
        screenshot(page, name)
    page.goto("/settings/")
    page.fill("input[name=name]", "laptop")
    page.click("[data-testid=create-token]")
    expect(page.locator("[data-testid=new-token-key]")).to_have_text(re.compile("^kzs_"))
    # R21: announced by its name as it takes the focus, the key in no live region.
    expect(page.locator("[data-testid=new-token]")).to_be_focused()
    expect(page.locator("[data-testid=new-token]")).to_have_accessible_name(
        "Token laptop created: copy the key now; it is shown once.")
    page.goto("/audit/")
    page.click("[data-testid=verify-chain]")
    expect(page.locator("[data-testid=verify-result]")).to_contain_text("intact")
