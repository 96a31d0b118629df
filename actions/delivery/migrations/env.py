"""Alembic's environment for the referral store. Migrations run only through actions.delivery.migrate,
which hands over a connection it has already locked (see migrate.upgrade); there is no offline mode."""
from __future__ import annotations

from alembic import context

connection = context.config.attributes.get("connection")
if connection is None or context.is_offline_mode():
    raise RuntimeError("run the referral store's migrations with `python -m actions.delivery.migrate`")

# Transactional on SQLite too: migrate.upgrade runs everything inside its own BEGIN IMMEDIATE ... COMMIT.
context.configure(connection=connection, transactional_ddl=True)
with context.begin_transaction():  # a no-op: migrate.upgrade's transaction holds the lock and commits
    context.run_migrations()
