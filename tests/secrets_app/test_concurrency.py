"""R3.1 under concurrency, on the real PostgreSQL: racing creates of one name in one profile
end with exactly one secret and clean validation errors for the rest."""

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from audit_app.log import verify_chain
from secrets_app.models import Secret
from secrets_app.services.secrets import create_secret
from secrets_app.validation import DUPLICATE_NAME

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def test_R3_1_racing_creates_leave_one_secret(admin_user):
    threads_count = 20
    barrier = threading.Barrier(threads_count)
    outcomes = []

    def attempt(number):
        try:
            barrier.wait()
            create_secret(admin_user, name="raced", key="K", value=f"v{number}")
            outcomes.append("created")
        except ValidationError as error:
            outcomes.append(error.message_dict)
        except Exception as error:  # anything else is the bug this test looks for
            outcomes.append(repr(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert outcomes.count("created") == 1, outcomes
    assert outcomes.count({"name": [DUPLICATE_NAME]}) == threads_count - 1, outcomes
    assert Secret.objects.filter(name="raced").count() == 1
    report = verify_chain()
    assert report.ok and report.checked == 1, report.message


def test_imports_and_console_edits_at_once_never_deadlock(admin_user):
    """Imports lock the audit chain, then secret rows; so does every service. Overlapping
    imports and edits queue, end consistent, and the chain stays intact."""
    from secrets_app.services.bulk import ImportConflict, import_file
    from secrets_app.services.secrets import update_secret

    names = [f"SHARED_{n}" for n in range(40)]
    for name in names:
        create_secret(admin_user, name=name, key=name, value="start")
    errors = []
    barrier = threading.Barrier(6)

    def importer(round_number):
        data = "default:\n" + "".join(f"  {name}: import-{round_number}\n" for name in names)
        try:
            barrier.wait()
            import_file(data.encode(), user=admin_user)
        except ImportConflict:
            pass  # a clean "run it again" is acceptable; a deadlock or a 500 is not
        except Exception as error:
            errors.append(repr(error))
        finally:
            connection.close()

    def editor(round_number):
        try:
            barrier.wait()
            for name in reversed(names[::5]):
                update_secret(Secret.objects.get(name=name), admin_user,
                              value=f"edit-{round_number}")
        except Exception as error:
            errors.append(repr(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=importer, args=(n,)) for n in range(3)]
    threads += [threading.Thread(target=editor, args=(n,)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    for secret in Secret.objects.filter(name__in=names):
        assert secret.versions.first().value.reveal() == secret.value.reveal()
    report = verify_chain()
    assert report.ok, report.message


def test_concurrent_imports_of_overlapping_files_end_consistent(admin_user):
    """Four imports at once, each setting the same 30 keys (and 10 of its own): every key
    ends with one of the imported values, versions match, the chain holds."""
    from secrets_app.services.bulk import ImportConflict, import_file

    shared = [f"SHARED_{n}" for n in range(30)]
    errors = []
    barrier = threading.Barrier(4)

    def importer(number):
        own = "".join(f"  OWN_{number}_{n}: own-{number}\n" for n in range(10))
        data = "default:\n" + "".join(f"  {key}: from-{number}\n" for key in shared) + own
        try:
            barrier.wait()
            for _ in range(3):
                try:
                    import_file(data.encode(), user=admin_user)
                    break
                except ImportConflict:
                    continue  # "run it again" is the documented answer to a race
        except Exception as error:
            errors.append(repr(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=importer, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert Secret.objects.filter(name__startswith="SHARED_").count() == 30
    assert Secret.objects.filter(name__startswith="OWN_").count() == 40
    for secret in Secret.objects.filter(name__startswith="SHARED_"):
        assert secret.value.reveal() in {f"from-{n}" for n in range(4)}
        assert secret.versions.first().value.token == secret.value.token
    report = verify_chain()
    assert report.ok, report.message
