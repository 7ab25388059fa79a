"""accounts leave the directory: users and api_tokens become the accounts package's tables

Revision ID: 0002
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    have = set(sa.inspect(op.get_bind()).get_table_names())
    if "users" not in have:
        return
    if "accounts" in have:  # the accounts migration ran first and copied every row: the old tables go
        op.drop_table("api_tokens")
        op.drop_table("users")
    else:  # hand the rows over as they are; the accounts migration then finds its tables in place
        op.rename_table("users", "accounts")
        op.rename_table("api_tokens", "account_tokens")


def downgrade():
    raise NotImplementedError("accounts live in the accounts package now; restore from a backup to go back")
