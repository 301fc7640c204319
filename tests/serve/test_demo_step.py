from __future__ import annotations

import io

from rich.console import Console

from medmine.demo import DemoContext
from medmine.demo.serve_step import DEMO_ADMIN, serve_step
from medmine.serve.users import UserStore, users_path


def test_demo_admin_gets_a_fresh_random_password_printed_once(tmp_path):
    wh = str(tmp_path / "demo.duckdb")
    passwords = []
    for _ in range(2):
        out = io.StringIO()
        serve_step(DemoContext(wh, tmp_path / "reports", Console(file=out, width=400)))
        text = out.getvalue()
        passwords.append(text.split("password ")[1].split(" ")[0])
        assert "medmine serve -w" in text
    assert passwords[0] != passwords[1] and len(passwords[1]) >= 16
    store = UserStore(users_path(wh))
    assert store.verify_password(DEMO_ADMIN, passwords[0]) is None  # replaced
    assert store.verify_password(DEMO_ADMIN, passwords[1]).role == "admin"
