"""R21 (issue 14), keyboard and screen readers, in the HTML the server sends: the skip link
first on every page, <main id="content">, one polite live region for reveals, the console's
confirm dialog (alertdialog, labelled and described), row controls named with their secret,
dialogs that say where they open (autofocus), the countdown kept quiet, and no value outside
the reveal partial. The behaviour is driven in tests/browser/test_r21_keyboard_browser.py."""

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from secrets_app.access.grants import add_grant
from secrets_app.access.service_tokens import create_service_token
from secrets_app.access.tokens import create_token
from secrets_app.services.secrets import create_secret, update_secret

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
APP_JS = Path(__file__).resolve().parents[1] / "static" / "js" / "app.js"
FOCUSABLE = {"a", "button", "input", "select", "textarea"}


class Tags(HTMLParser):
    """Every start tag, in order: (tag, attributes)."""

    def __init__(self, html: str):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def find(self, **wanted) -> list[dict]:
        return [attrs for _, attrs in self.tags
                if all(attrs.get(name.replace("_", "-")) == value
                       for name, value in wanted.items())]

    def one(self, **wanted) -> dict:
        found = self.find(**wanted)
        assert len(found) == 1, (wanted, found)
        return found[0]


def get(client, url: str, **headers) -> str:
    response = client.get(url, **headers)
    assert response.status_code == 200, (url, response.status_code)
    return response.content.decode()


@pytest.fixture
def secret(admin_user):
    secret = create_secret(admin_user, name="warehouse", key="POSTGRES_PASSWORD",
                           value="A11Y-CANARY", profile="development")
    update_secret(secret, admin_user, value="A11Y-CANARY-2")
    return secret


@pytest.mark.parametrize("url", ["/secrets/", "/catalog/", "/settings/", "/settings/access/",
                                 "/settings/service-tokens/", "/audit/"])
def test_every_page_starts_with_the_skip_link_to_main(admin_client, secret, url):
    tags = Tags(get(admin_client, url))
    body = next(index for index, (tag, _) in enumerate(tags.tags) if tag == "body")
    first = next((tag, attrs) for tag, attrs in tags.tags[body + 1:] if tag in FOCUSABLE)
    assert first == ("a", {"class": "skip-link", "href": "#content",
                           "data-testid": "skip-link"}), first
    main = [attrs for tag, attrs in tags.tags if tag == "main"]
    assert len(main) == 1 and main[0]["id"] == "content" and main[0]["tabindex"] == "-1"


def test_the_login_page_has_the_skip_link_too(client):
    tags = Tags(get(client, "/accounts/login/"))
    assert tags.one(data_testid="skip-link")["href"] == "#content"
    assert tags.find(id="content")


def test_one_polite_live_region_for_reveals_and_the_confirm_dialog(admin_client, secret):
    tags = Tags(get(admin_client, "/secrets/"))
    announcer = tags.one(id="announcer")
    assert announcer["role"] == "status" and announcer["aria-live"] == "polite"
    assert announcer["aria-atomic"] == "true"
    confirm = tags.one(id="confirm-dialog")
    assert confirm["role"] == "alertdialog" and confirm["aria-modal"] == "true"
    assert tags.one(id=confirm["aria-labelledby"])
    assert tags.one(id=confirm["aria-describedby"])
    assert tags.one(data_testid="confirm-cancel")["value"] == "cancel"
    assert tags.one(data_testid="confirm-ok")["value"] == "confirm"


def test_row_controls_are_named_with_their_secret(admin_client, secret):
    html = get(admin_client, "/secrets/")
    assert '<span class="sr-only">Decrypt warehouse (development)</span>' in html
    tags = Tags(html)
    assert tags.one(data_testid="edit")["aria-label"] == "Edit warehouse (development)"
    assert tags.one(data_testid="versions")["aria-label"] == (
        "Versions of warehouse (development)")
    assert tags.one(data_testid="delete")["aria-label"] == "Delete warehouse (development)"


def test_the_reveal_is_named_announced_and_its_countdown_is_quiet(admin_client, secret,
                                                                  settings):
    settings.SECRETS_REVEAL_SECONDS = 1
    response = admin_client.post(f"/secrets/{secret.pk}/decrypt/", **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    tags = Tags(html)
    copy = tags.one(data_testid="copy")
    assert copy["data-announce"] == "warehouse (development) revealed; hidden again in 1 second."
    assert '<span class="sr-only">Copy warehouse (development)</span>' in html
    assert tags.one(data_testid="countdown")["aria-hidden"] == "true"
    # The value once, in the value element: not in an attribute, a label or an announcement.
    assert html.count("A11Y-CANARY-2") == 1
    assert '<code class="plaintext" data-testid="revealed-value">A11Y-CANARY-2</code>' in html


def test_the_versions_dialog_opens_on_the_first_restore_named_with_the_secret(
        admin_client, admin_user, secret):
    update_secret(secret, admin_user, value="A11Y-CANARY-3")
    tags = Tags(get(admin_client, f"/secrets/{secret.pk}/versions/", **HTMX))
    restores = tags.find(data_testid="restore")
    assert [attrs["aria-label"] for attrs in restores] == [
        "Restore version 2 of warehouse (development)",
        "Restore version 1 of warehouse (development)"]
    assert ["autofocus" in attrs for attrs in restores] == [True, False]
    assert all(attrs["data-confirm-label"] == "Restore" for attrs in restores)
    assert [attrs for _, attrs in tags.tags if "autofocus" in attrs] == [restores[0]]
    for close in tags.find(data_close_dialog=""):
        assert close.get("aria-label", "Close") == "Close"


def test_a_versions_dialog_without_an_older_version_opens_on_close(admin_client, admin_user):
    only = create_secret(admin_user, name="single", key="AWS_REGION", value="eu-west-1",
                         profile="development")
    tags = Tags(get(admin_client, f"/secrets/{only.pk}/versions/", **HTMX))
    assert not tags.find(data_testid="restore")
    focused = [attrs for _, attrs in tags.tags if "autofocus" in attrs]
    assert len(focused) == 1 and "data-close-dialog" in focused[0]


def test_the_delete_dialog_opens_on_keep_it(admin_client, secret):
    tags = Tags(get(admin_client, f"/secrets/{secret.pk}/delete/", **HTMX))
    focused = [attrs for _, attrs in tags.tags if "autofocus" in attrs]
    assert focused == [tags.one(data_testid="keep-it")]
    assert "autofocus" not in tags.one(data_testid="confirm-delete")


@pytest.mark.parametrize("url, field", [("/secrets/new/", "name"),
                                        ("/secrets/import/", "file")])
def test_the_form_dialogs_open_on_their_first_field(admin_client, url, field):
    tags = Tags(get(admin_client, url, **HTMX))
    focused = [attrs for _, attrs in tags.tags if "autofocus" in attrs]
    assert [attrs["name"] for attrs in focused] == [field]


def test_the_edit_dialog_opens_on_the_name_even_after_a_mistake(admin_client, secret):
    tags = Tags(get(admin_client, f"/secrets/{secret.pk}/edit/", **HTMX))
    assert "autofocus" in tags.one(name="name")
    response = admin_client.post(f"/secrets/{secret.pk}/edit/",
                                 {"name": "warehouse", "key": "not snake", "profile":
                                  "development"}, **HTMX)
    assert response.status_code == 200
    tags = Tags(response.content.decode())
    assert tags.one(name="key")["aria-invalid"] == "true"  # app.js focuses this one first


def test_every_hx_confirm_names_its_action(admin_client, admin_user, member, secret):
    create_token(admin_user, "laptop", 30)
    create_service_token(admin_user, name="etl", profiles=["production"])
    add_grant(admin_user, member, "development", "editor")
    for url, label in [("/settings/", "Revoke"), ("/settings/service-tokens/", "Revoke"),
                       ("/settings/access/", "Remove"),
                       (f"/secrets/{secret.pk}/versions/", "Restore")]:
        tags = Tags(get(admin_client, url, **HTMX if "versions" in url else {}))
        asking = [attrs for _, attrs in tags.tags if "hx-confirm" in attrs]
        assert asking, url
        assert all(attrs.get("data-confirm-label") == label for attrs in asking), url


def test_app_js_never_calls_window_confirm_and_writes_the_question_as_text():
    source = APP_JS.read_text()
    assert not re.search(r"\bconfirm\(", source)
    assert '#confirm-question").textContent = question' in source
    # Markup is only ever cleared, never written.
    assert [line.strip() for line in source.splitlines() if "innerHTML =" in line] == [
        'event.target.innerHTML = "";']
