"""Alembic environment for the job store (run by :meth:`app.jobs.store.JobStore.migrate`).

The engine comes from ``config.attributes["engine"]``; nothing is read from an
``alembic.ini``. On PostgreSQL a transaction-level advisory lock serialises
concurrent migrations (the API and several workers may start at once).
"""

from alembic import context
from sqlalchemy import text

from app.jobs.store import Base
import app.jobs.review_store  # noqa: F401  (the review UI's tables, same metadata)

_LOCK_ID = 0x646F6378  # "docx"


def run_migrations_online() -> None:
    engine = context.config.attributes["engine"]
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=Base.metadata,
                          render_as_batch=connection.dialect.name == "sqlite")
        with context.begin_transaction():
            if connection.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _LOCK_ID})
            context.run_migrations()


run_migrations_online()
