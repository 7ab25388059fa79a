"""Alembic environment of the accounts: its own version table, beside the directory's in the same database."""
from alembic import context
from sqlalchemy import create_engine

from accounts.tables import metadata

VERSION_TABLE = "alembic_version_accounts"

config = context.config
connection = config.attributes.get("connection")
if connection is None:
    connection = create_engine(config.get_main_option("sqlalchemy.url")).connect()
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True,
                  version_table=VERSION_TABLE, include_name=lambda name, type_, parent: type_ != "table" or name in metadata.tables)
with context.begin_transaction():
    context.run_migrations()
