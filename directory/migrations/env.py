"""Alembic environment: runs against the connection or URL the application hands it."""
from alembic import context
from sqlalchemy import create_engine

from directory.tables import metadata

config = context.config
connection = config.attributes.get("connection")
if connection is None:
    connection = create_engine(config.get_main_option("sqlalchemy.url")).connect()
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
