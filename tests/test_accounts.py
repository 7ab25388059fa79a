"""Accounts live outside the directory: their own tables and migrations, and old databases keep their people."""
import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import inspect, text

from accounts import AccountError, Accounts
from directory import store as directory_store
from directory.store import Store


def _legacy_database(url: str) -> Store:
    """A database as the directory made it before accounts moved out: users and api_tokens at revision 0001."""
    store = Store(url)
    cfg = Config(str(directory_store.HERE / "alembic.ini"))
    with store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
        conn.execute(text("INSERT INTO users (id, username, password_hash, role, areas, service_ids, requester_role, "
                          "active, created_at) VALUES (7, 'old-admin', 'pbkdf2:sha256:1000$salt$hash', 'administrator', "
                          "'[]', '[]', 'nhs111', true, '2026-01-01 00:00:00')"))
        conn.execute(text("INSERT INTO api_tokens (id, user_id, name, token_hash, created_at, revoked) "
                          "VALUES (3, 7, 'api', 'abc123', '2026-01-01 00:00:00', false)"))
    return store


@pytest.mark.parametrize("accounts_first", [True, False], ids=["accounts-first", "directory-first"])
def test_upgrading_an_old_database_keeps_its_users_and_tokens(db_url, accounts_first):
    store = _legacy_database(db_url)
    accounts = Accounts(store.engine)
    if accounts_first:
        accounts.migrate()
        store.initialise()
    else:
        store.initialise()
        accounts.migrate()
    tables = set(inspect(store.engine).get_table_names())
    assert {"accounts", "account_tokens"} <= tables and not {"users", "api_tokens"} & tables
    assert accounts.user("old-admin")["role"] == "administrator"
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT user_id FROM account_tokens WHERE token_hash = 'abc123'")).scalar() == 7
    accounts.create_user("new-person", "a long enough password", "viewer")  # ids continue after the copied ones
    assert accounts.user("new-person")["id"] != 7
    store.engine.dispose()


def test_fresh_database_in_either_order(db_url):
    store = Store(db_url)
    store.initialise()
    accounts = Accounts(store.engine)
    accounts.migrate()
    accounts.migrate()  # idempotent
    accounts.create_user("a", "a long enough password", "viewer")
    token = accounts.create_token("a")
    assert accounts.user_for_token(token)["username"] == "a"
    assert store.audit_log(limit=1)[0]["action"] == "create_token"
    store.engine.dispose()


def test_account_input_is_bounded(db_url):
    store = Store(db_url)
    accounts = Accounts(store.engine)
    accounts.migrate()
    store.initialise()
    with pytest.raises(AccountError) as exc:
        accounts.create_user("x" * 81, "p" * 2000, "viewer")
    assert set(exc.value.errors) == {"username", "password"}
    store.engine.dispose()


def test_directory_package_knows_nothing_of_accounts():
    import pathlib
    root = pathlib.Path(directory_store.__file__).parent
    for path in root.glob("*.py"):
        src = path.read_text()
        assert "werkzeug" not in src and "password" not in src and "api_tokens" not in src, path.name
