"""Storage on SQLite and PostgreSQL: first start, versions, no lost updates, audit, capacity, users."""
import threading
from datetime import datetime, timedelta, timezone

import pytest

from accounts import AccountError, Accounts
from directory.model import ServiceError
from directory.store import ConflictError, Store


@pytest.fixture
def store(db_url):
    s = Store(db_url)
    assert s.initialise() > 50          # empty database created and loaded with the bundled LSC data
    yield s
    s.engine.dispose()


def test_first_start_is_idempotent(store):
    assert store.initialise() == 0
    assert {s.type for s in store.services()} >= {"emergency_department", "urgent_treatment_centre", "falls_lifting"}


def test_edit_bumps_version_and_directory_version_and_is_audited(store):
    v0 = store.directory_version()
    s = store.get("rph-ed")
    data = s.to_dict() | {"phone_public": "01772 000000"}
    new = store.update("rph-ed", data, expected_version=s.version, user="alice")
    assert new.version == s.version + 1 and new.phone_public == "01772 000000"
    assert store.directory_version() == v0 + 1
    entry = store.audit_log(service_id="rph-ed")[0]
    assert entry["user"] == "alice" and entry["new"] == {"phone_public": "01772 000000"}
    assert entry["old"] == {"phone_public": s.phone_public}


def test_two_concurrent_editors_second_is_refused_nothing_lost(store):
    s = store.get("rph-ed")
    results = {}
    barrier = threading.Barrier(2)

    def edit(name, note):
        barrier.wait()
        try:
            store.update("rph-ed", s.to_dict() | {"notes": note}, expected_version=s.version, user=name)
            results[name] = "saved"
        except ConflictError as exc:
            results[name] = exc.current

    threads = [threading.Thread(target=edit, args=(n, f"note by {n}")) for n in ("alice", "bob")]
    [t.start() for t in threads]
    [t.join() for t in threads]
    saved = [n for n, r in results.items() if r == "saved"]
    refused = [n for n, r in results.items() if r != "saved"]
    assert len(saved) == 1 and len(refused) == 1
    current = store.get("rph-ed")
    assert current.notes == f"note by {saved[0]}" and current.version == s.version + 1
    assert results[refused[0]].notes == current.notes   # the loser is shown the winner's version


def test_invalid_edit_names_fields_and_changes_nothing(store):
    s = store.get("rph-ed")
    with pytest.raises(ServiceError) as exc:
        store.update("rph-ed", s.to_dict() | {"postcode": "nonsense", "opening": {"weekly": {"mon": ["9-5"]}}},
                     expected_version=s.version, user="x")
    assert {"postcode", "opening.weekly.mon[0]"} <= set(exc.value.errors)
    assert store.get("rph-ed").version == s.version


def test_capacity_is_time_stamped_and_audited(store):
    at = datetime(2026, 11, 23, 12, tzinfo=timezone.utc)
    s = store.set_capacity("rph-ed", "red", user="nurse", reset_minutes=120, at=at)
    assert s.capacity.status == "red" and s.capacity.set_by == "nurse"
    assert s.capacity.effective(at + timedelta(minutes=119))[0] == "red"
    assert s.capacity.effective(at + timedelta(minutes=120))[0] == "green"
    assert store.audit_log()[0]["action"] == "capacity"


def test_users_tokens_and_passwords_are_hashed(store):
    accounts = Accounts(store.engine)
    accounts.migrate()
    accounts.create_user("admin", "correct horse battery", "administrator")
    u = accounts.user("admin")
    assert u["password_hash"] != "correct horse battery"
    assert accounts.authenticate("admin", "correct horse battery")["role"] == "administrator"
    assert accounts.authenticate("admin", "wrong password!!") is None
    token = accounts.create_token("admin")
    assert accounts.user_for_token(token)["username"] == "admin"
    assert accounts.user_for_token(token + "x") is None
    with pytest.raises(AccountError) as exc:
        accounts.create_user("x", "short", "emperor")
    assert set(exc.value.errors) == {"password", "role"}


def test_nothing_is_hard_deleted_closing_is_a_status(store):
    s = store.get("rph-ed")
    store.update("rph-ed", s.to_dict() | {"status": "closed"}, expected_version=s.version, user="c")
    assert store.get("rph-ed").status == "closed"
    assert any(x.id == "rph-ed" for x in store.services())


def test_gap_log_groups_by_day_service_and_rule(store):
    store.log_gaps([("cdh-utc", "closing_soon", "closes within 30 minutes of arrival")] * 3, disposition="UTC_4H")
    rows = store.gap_summary()
    assert rows[0]["service_id"] == "cdh-utc" and rows[0]["count"] == 3
