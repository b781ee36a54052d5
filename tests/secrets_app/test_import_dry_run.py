"""R17.2: an import's dry run compares the file's values with the stored ones, so its
"unchanged" answers whether a guessed value is right. Each dry run is audited (one IMPORT row:
who, profile, counts, dry_run) and counts as one decrypt against the R10.3 budget; the
operator at the command line without --as holds the keys: audited, no budget."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError

from audit_app.context import audit_context
from audit_app.models import AuditLog, Channel
from secrets_app.models import Secret
from secrets_app.services.bulk import IMPORT_TARGET, import_file
from secrets_app.services.reveal import RateLimited, decrypt_secret
from secrets_app.services.secrets import create_secret

pytestmark = pytest.mark.django_db

URL = "/api/v1/secrets/import/"
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def stored(admin_user):
    return create_secret(admin_user, name="API_TOKEN", key="API_TOKEN", value="right")


def guess(value: str) -> bytes:
    return f"default:\n  API_TOKEN: {value}\n".encode()


def dry_run_rows():
    return AuditLog.objects.filter(action="IMPORT", detail__dry_run=True).order_by("sequence")


def refusals():
    return AuditLog.objects.filter(action="DECRYPT", allowed=False, secret_name=IMPORT_TARGET)


class TestService:
    def test_R17_2_a_dry_run_writes_one_audit_row(self, admin_user, stored):
        summary = import_file(guess("right") + b"  NEW_KEY: n\n  EMPTY:\n", user=admin_user,
                              dry_run=True)
        assert (summary.created, summary.unchanged) == (1, 1)
        (row,) = dry_run_rows()
        assert (row.user_id, row.username, row.allowed) == (admin_user.pk, "root", True)
        assert row.detail == {"created": 1, "updated": 0, "unchanged": 1, "skipped": 1,
                              "failed": 0, "dry_run": True, "profile": "all"}
        assert "right" not in str(row.detail)

    def test_R17_2_a_real_import_that_changes_nothing_is_audited_too(self, admin_user, stored):
        """Its "unchanged" answers a guess as well: one IMPORT row, even with nothing stored."""
        summary = import_file(guess("right"), user=admin_user)
        assert (summary.created, summary.updated, summary.unchanged) == (0, 0, 1)
        (row,) = AuditLog.objects.filter(action="IMPORT")
        assert row.detail == {"created": 0, "updated": 0, "unchanged": 1, "skipped": 0,
                              "failed": 0, "dry_run": False, "profile": "all"}
        import_file(guess("changed"), user=admin_user, profile="default")
        row = AuditLog.objects.filter(action="IMPORT").latest("sequence")
        assert (row.detail["updated"], row.detail["dry_run"], row.secret_profile) == (
            1, False, "default")

    def test_R17_2_the_row_names_the_profile_asked_for(self, admin_user, stored):
        import_file(b"API_TOKEN: x\n", user=admin_user, dry_run=True, profile="staging")
        (row,) = dry_run_rows()
        assert row.detail["profile"] == "staging" and row.secret_profile == "staging"

    def test_R17_2_a_dry_run_spends_the_decrypt_budget(self, admin_user, stored, settings):
        settings.SECRETS_DECRYPT_RATE = "3/m"
        decrypt_secret(stored, admin_user)
        import_file(guess("wrong-1"), user=admin_user, dry_run=True)
        import_file(guess("wrong-2"), user=admin_user, dry_run=True)
        with pytest.raises(RateLimited) as refused:
            import_file(guess("right"), user=admin_user, dry_run=True)
        assert refused.value.retry_after >= 1
        with pytest.raises(RateLimited):
            decrypt_secret(stored, admin_user)  # one budget for both
        assert dry_run_rows().count() == 2
        (refusal,) = refusals()
        assert refusal.detail == {"reason": "rate limited"} and refusal.user_id == admin_user.pk

    def test_R17_2_a_real_import_writes_its_usual_rows(self, admin_user, stored):
        before = AuditLog.objects.count()
        for value in ("two", "three", "three"):
            import_file(guess(value) + b"  OTHER_KEY: o\n", user=admin_user)
        rows = list(AuditLog.objects.filter(sequence__gt=before).order_by("sequence"))
        assert [(r.action, r.secret_name) for r in rows] == [
            ("CREATE", "OTHER_KEY"), ("UPDATE", "API_TOKEN"), ("IMPORT", ""),
            ("UPDATE", "API_TOKEN"), ("IMPORT", ""), ("IMPORT", ""),
        ]
        assert rows[2].detail == {"created": 1, "updated": 1, "unchanged": 0, "skipped": 0,
                                  "failed": 0, "dry_run": False, "profile": "all"}
        assert rows[5].detail["unchanged"] == 2

    def test_R17_2_a_real_import_spends_the_decrypt_budget_too(self, admin_user, stored,
                                                              settings):
        """Import-and-restore would otherwise confirm guesses past the R10.3 limit."""
        settings.SECRETS_DECRYPT_RATE = "2/m"
        decrypt_secret(stored, admin_user)
        import_file(guess("wrong"), user=admin_user)
        with pytest.raises(RateLimited):
            import_file(guess("right"), user=admin_user)
        assert Secret.objects.get(pk=stored.pk).versions.count() == 2  # the refused one wrote
        (refusal,) = refusals()                                        # nothing but its row
        assert refusal.detail == {"reason": "rate limited"}

    def test_R17_2_the_operator_at_the_command_line_is_not_charged(self, stored, settings):
        settings.SECRETS_DECRYPT_RATE = "1/m"
        with audit_context(channel=Channel.CLI):
            for value in ("a", "b", "c"):
                import_file(guess(value), user=None)
        assert not refusals().exists()


class TestApi:
    def test_R17_2_guessing_through_dry_runs_hits_the_limit(
        self, admin_api, stored, settings
    ):
        settings.SECRETS_DECRYPT_RATE = "3/m"
        answers = []
        for attempt in ("a", "b", "c", "right"):
            response = admin_api.generic("POST", f"{URL}?dry_run=true", guess(attempt),
                                         content_type="application/yaml")
            answers.append(response)
        assert [r.status_code for r in answers] == [200, 200, 200, 429]
        assert answers[0].json()["updated"] == 1 and answers[0].json()["dry_run"] is True
        assert int(answers[3]["Retry-After"]) >= 1
        assert answers[3].json() == {"detail": "Rate limit exceeded. Try again later."}
        assert dry_run_rows().count() == 3 and refusals().count() == 1
        assert Secret.objects.get().value.reveal() == "right"

    def test_R17_2_a_non_admin_dry_run_is_refused(self, member_api, stored):
        response = member_api.generic("POST", f"{URL}?dry_run=1", guess("right"),
                                      content_type="application/yaml")
        assert response.status_code == 403
        assert not dry_run_rows().exists()


class TestConsole:
    def post(self, client, value):
        upload = SimpleUploadedFile("io_config.yaml", guess(value))
        return client.post("/secrets/import/", {"file": upload, "dry_run": "on"}, **HTMX)

    def test_R17_2_the_dialog_dry_run_is_audited_then_limited(
        self, admin_client, stored, settings
    ):
        settings.SECRETS_DECRYPT_RATE = "1/m"
        first = self.post(admin_client, "wrong")
        assert first.status_code == 200
        assert 'data-testid="import-summary"' in first.content.decode()
        second = self.post(admin_client, "right")
        assert second.status_code == 200
        html = second.content.decode()
        assert 'data-testid="import-error"' in html and "Rate limit reached" in html
        assert "counts as a decrypt" in html and 'data-testid="import-summary"' not in html
        assert dry_run_rows().count() == 1 and refusals().count() == 1


class TestCommand:
    def run(self, path, *args):
        out, err = io.StringIO(), io.StringIO()
        call_command("import_secrets", str(path), "--dry-run", *args, stdout=out, stderr=err)
        return out.getvalue()

    def test_R17_2_the_operator_is_audited_without_a_budget(self, stored, settings, tmp_path):
        settings.SECRETS_DECRYPT_RATE = "1/m"
        path = tmp_path / "guess.yaml"
        for value in ("a", "b", "right"):
            path.write_bytes(guess(value))
            assert "Dry run of" in self.run(path)
        rows = list(dry_run_rows())
        assert len(rows) == 3
        assert {(r.channel, r.user_id) for r in rows} == {("cli", None)}
        assert rows[2].detail["unchanged"] == 1 and not refusals().exists()

    def test_R17_2_as_a_user_the_budget_applies(self, stored, settings, tmp_path, admin_user):
        settings.SECRETS_DECRYPT_RATE = "1/m"
        path = tmp_path / "guess.yaml"
        path.write_bytes(guess("a"))
        self.run(path, "--as", "root")
        with pytest.raises(CommandError, match=r"Rate limit reached: an import .* Try again in"):
            self.run(path, "--as", "root")
        (refusal,) = refusals()
        assert (refusal.channel, refusal.user_id) == ("cli", admin_user.pk)
