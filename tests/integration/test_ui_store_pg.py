"""The review UI's tables (Alembic 0002) on real PostgreSQL: migrate, accounts, corrections, audit, cascade.

Needs PostgreSQL at ``JOBS_TEST_PG_URL`` (default ``postgresql://postgres@127.0.0.1:5432``; ./run.sh test starts it);
each run uses its own database ``docextract_ui_<random>``, dropped afterwards."""

from __future__ import annotations

import os
import uuid
from urllib.parse import urlsplit

import pytest

from app.jobs.review_store import ReviewStore, UserStore
from app.jobs.store import JobStore

PG_URL = os.environ.get("JOBS_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432")


@pytest.fixture
def store(tmp_path):
    try:
        import pg8000.native

        parts = urlsplit(PG_URL)
        admin = pg8000.native.Connection(parts.username or "postgres", host=parts.hostname or "127.0.0.1",
                                         port=parts.port or 5432, password=parts.password, database="postgres",
                                         timeout=5)
    except Exception as e:
        pytest.skip(f"PostgreSQL not reachable at {PG_URL} ({type(e).__name__}); ./run.sh test starts it")
    name = f"docextract_ui_{uuid.uuid4().hex[:10]}"
    admin.run(f"CREATE DATABASE {name}")
    base = PG_URL.replace("postgresql://", "postgresql+pg8000://", 1).rstrip("/")
    store = JobStore(f"{base}/{name}", tmp_path)
    try:
        store.migrate()
        yield store
    finally:
        store.dispose()
        admin.run(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.close()


def test_accounts_reviews_and_audit_on_postgresql(store):
    users = UserStore(store)
    key = users.create("rita", "reviewer")
    assert users.verify("rita", key)["role"] == "reviewer"
    assert users.verify("rita", "nope") is None and users.by_key(key)["name"] == "rita"
    with pytest.raises(ValueError):
        users.create("rita", "admin")

    job, _ = store.create(request={"document_type": "receipt"}, files=[], source_url=None, callback_url=None,
                          idempotency_key=None)
    reviews = ReviewStore(store)
    original = {"fields": {"date": {"value": "01/02/2020"}}}
    reviews.change(job["id"], 0, "rita", fields={"date": {"value": "02/02/2020", "normalized": "2020-02-02"}},
                   original=original)
    row = reviews.change(job["id"], 0, "rita", status="approved", original=original)
    assert row["status"] == "approved" and row["corrected"]["fields"]["date"]["value"] == "02/02/2020"
    audit = reviews.audit(job["id"], 0)
    assert [(a["action"], a["before"], a["after"]) for a in audit] == [
        ("edit", "01/02/2020", "02/02/2020"), ("approve", "manual_review", "approved")]
    store.delete(job["id"])
    assert reviews.get(job["id"], 0) is None and reviews.audit(job["id"]) == []  # deleted with the job
