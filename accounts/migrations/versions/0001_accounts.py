"""accounts and API tokens, moved out of the directory schema

Revision ID: a0001
Revises:
"""
from alembic import op
import sqlalchemy as sa

revision = "a0001"
down_revision = None
branch_labels = None
depends_on = None

_COLS = ("id", "username", "password_hash", "role", "areas", "service_ids", "requester_role", "active", "created_at")
_TOKEN_COLS = ("id", "user_id", "name", "token_hash", "created_at", "revoked")


def upgrade():
    bind = op.get_bind()
    have = set(sa.inspect(bind).get_table_names())
    if "accounts" in have:  # the directory's migration 0002 already renamed its old users table to this
        return
    op.create_table(
        "accounts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("username", sa.String(length=80), nullable=False),
        sa.Column("password_hash", sa.String(length=256), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("areas", sa.JSON(), nullable=False),
        sa.Column("service_ids", sa.JSON(), nullable=False),
        sa.Column("requester_role", sa.String(length=20), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("username"),
    )
    op.create_table(
        "account_tokens",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("token_hash", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["accounts.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    # a database from before the move keeps its people: copy the directory's old users and tokens
    if "users" in have:
        cols = ", ".join(_COLS)
        op.execute(f"INSERT INTO accounts ({cols}) SELECT {cols} FROM users")
        if "api_tokens" in have:
            tcols = ", ".join(_TOKEN_COLS)
            op.execute(f"INSERT INTO account_tokens ({tcols}) SELECT {tcols} FROM api_tokens")
        if bind.dialect.name == "postgresql":
            for table in ("accounts", "account_tokens"):
                op.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                           f"COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)")


def downgrade():
    op.drop_table("account_tokens")
    op.drop_table("accounts")
