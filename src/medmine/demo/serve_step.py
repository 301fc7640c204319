"""Demo step: an admin account for `medmine serve`, with a password printed once.

The password is random (never a default), shown only here, and stored as an argon2 hash in
``<warehouse>.users.sqlite``; each demo run replaces the demo admin and revokes its sessions.
"""

from __future__ import annotations

import secrets
from typing import Any

#: Login name of the demo administrator.
DEMO_ADMIN = "admin"


def serve_step(ctx: Any) -> None:
    """Create (or replace) the demo admin and print how to start the server."""
    from medmine.serve.users import UserStore, users_path

    if ctx.warehouse == ":memory:":
        return
    password = secrets.token_urlsafe(15)
    store = UserStore(users_path(ctx.warehouse))
    try:
        if store.get(DEMO_ADMIN):
            store.remove(DEMO_ADMIN)
        store.add(DEMO_ADMIN, "admin", password)
    finally:
        store.close()
    ctx.console.print(
        f"medmine serve: user [b]{DEMO_ADMIN}[/b], password [b]{password}[/b] "
        "(shown once; `medmine users add` for more accounts)"
    )
    ctx.console.print(
        f"start it with: medmine serve -w {ctx.warehouse} --reports {ctx.reports_dir} "
        "--trust-unsigned   (the demo's models are signed with a key of the demo run only; "
        "set MEDMINE_MODEL_KEY for both to drop --trust-unsigned)",
        soft_wrap=True,
    )
