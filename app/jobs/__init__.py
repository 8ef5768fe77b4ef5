"""Asynchronous jobs: submit documents, poll or get a signed webhook, route to review.

``store`` (SQLAlchemy models, the database is the truth), ``engine`` (``local``
threads or ``celery`` workers behind one interface), ``tasks`` (the thin,
idempotent steps both engines run), ``webhooks`` (Standard Webhooks, SSRF-safe
delivery), ``review`` (document quality score and review routing).
"""
