"""Fingerprints change with what a stage reads, and never reveal a key."""

from __future__ import annotations

import os

from medmine.run.fingerprint import digest, file_entries, key_fingerprint


def test_file_entries_change_on_touch_content_and_new_files(tmp_path):
    d = tmp_path / "src"
    d.mkdir()
    (d / "a.csv").write_text("x,y\n1,2\n")
    first = digest(file_entries([d]))
    assert digest(file_entries([d])) == first
    st = (d / "a.csv").stat()
    os.utime(d / "a.csv", ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    touched = digest(file_entries([d]))
    assert touched != first
    (d / "a.csv").write_text("x,y\n1,3\n")
    os.utime(d / "a.csv", ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    assert digest(file_entries([d])) != touched  # same size and mtime, new content
    (d / "b.csv").write_text("")
    assert len(file_entries([d])) == 2


def test_key_fingerprint_tells_keys_apart_without_holding_them():
    tag = key_fingerprint(b"secret-key")
    assert tag == key_fingerprint(b"secret-key") != key_fingerprint(b"other-key")
    assert "secret" not in tag and len(tag) == 16
