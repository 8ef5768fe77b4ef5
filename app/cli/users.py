"""``python -m app users ...``: named API keys for the review UI (and the API).

``create NAME --role reviewer`` prints the new key once (only its scrypt hash is
stored); ``list``; ``disable NAME`` / ``enable NAME``. The accounts live in the
job store's database (``DATABASE_URL``, or ``STORAGE_DIR/jobs.sqlite3``).
"""

from __future__ import annotations

import argparse
import sys

from app.jobs.review_store import ROLES


def add_parser(sub) -> None:
    """Add the ``users`` command to the CLI's subparsers."""
    users = sub.add_parser("users", help="named API keys with roles (review UI sign-in)",
                           description="Create, list, disable and enable named API keys.")
    cmd = users.add_subparsers(dest="users_command", required=True)
    create = cmd.add_parser("create", help="create a user and print its key (shown once)")
    create.add_argument("name")
    create.add_argument("--role", choices=ROLES, default="reviewer")
    cmd.add_parser("list", help="list users")
    for name in ("disable", "enable"):
        p = cmd.add_parser(name, help=f"{name} a user's key")
        p.add_argument("name")


def users_command(args: argparse.Namespace, settings=None) -> int:
    """Run ``users <create|list|disable|enable>``; returns the exit status (2 on a usage error)."""
    from app.config import Settings
    from app.jobs.review_store import UserStore
    from app.jobs.store import JobStore

    settings = settings or Settings.from_env()
    store = JobStore(settings.jobs_database_url, settings.storage_dir)
    try:
        store.migrate()
        users = UserStore(store)
        if args.users_command == "create":
            try:
                key = users.create(args.name, args.role)
            except ValueError as e:
                print(f"error: {e}", file=sys.stderr)
                return 2
            print(f"created {args.name!r} ({args.role}); its key, shown once:", file=sys.stderr)
            print(key)
            return 0
        if args.users_command == "list":
            for u in users.list():
                print(f"{u['name']}\t{u['role']}\t{'disabled' if u['disabled'] else 'active'}\t{u['created_at']}")
            return 0
        if not users.set_disabled(args.name, args.users_command == "disable"):
            print(f"error: no user named {args.name!r}", file=sys.stderr)
            return 2
        print(f"{args.name}: {args.users_command}d", file=sys.stderr)
        return 0
    finally:
        store.dispose()
