"""Decompressed input is capped per file (issue 11, item 6): a gzip bomb is a clear error."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import zlib
from pathlib import Path

import pytest

from medmine.errors import ConfigError, SourceError
from medmine.ingest.limits import (
    DEFAULT_MAX_DECOMPRESSED,
    capped,
    max_decompressed,
    open_capped,
    parse_size,
)


def _bomb(path: Path, size: int, *, newline: bool = False) -> Path:
    """A small gzip file that expands to `size` bytes of one JSON-looking line."""
    comp = zlib.compressobj(9, zlib.DEFLATED, 31)  # gzip container
    block = b" " * (1 << 20)
    parts = [comp.compress(b'{"resourceType":"Bundle","entry":[')]
    for _ in range(size // len(block)):
        parts.append(comp.compress(block))
    parts.append(comp.compress(b"]}\n" if newline else b"]}"))
    parts.append(comp.flush())
    path.write_bytes(b"".join(parts))
    return path


def test_gzip_bomb_stops_at_the_cap_with_a_clear_error(tmp_path: Path) -> None:
    bomb = _bomb(tmp_path / "bundle.json.gz", 64 << 20)
    assert bomb.stat().st_size < 200_000  # ~64 MiB from a file this small
    # Before: readers decompressed it whole (``stream.read()``); a 2 MB bomb exhausted memory.
    with open_capped(bomb, 8 << 20) as f, pytest.raises(SourceError) as e:
        f.read()
    err = e.value
    assert err.path == str(bomb) and "8M" in err.reason and "MEDMINE_MAX_DECOMPRESSED" in str(err)


def test_line_iteration_over_a_bomb_without_newlines_is_bounded(tmp_path: Path) -> None:
    bomb = _bomb(tmp_path / "Patient.ndjson.gz", 32 << 20)
    with open_capped(bomb, 4 << 20) as f, pytest.raises(SourceError, match="exceeds the cap"):
        for _ in f:  # one endless "line"
            pass


@pytest.mark.parametrize(
    ("suffix", "compress"),
    [(".gz", gzip.compress), (".bz2", bz2.compress), (".xz", lzma.compress)],
)
def test_files_under_the_cap_read_whole(tmp_path: Path, suffix: str, compress) -> None:
    data = b'{"resourceType":"Patient","id":"p1"}\n' * 1000
    p = tmp_path / f"Patient.ndjson{suffix}"
    p.write_bytes(compress(data))
    with open_capped(p, len(data)) as f:
        assert f.read() == data
    with open_capped(p, len(data)) as f:
        assert sum(1 for _ in f) == 1000
    with open_capped(p, len(data) - 1) as f, pytest.raises(SourceError):
        f.read()


def test_plain_files_are_not_capped(tmp_path: Path) -> None:
    p = tmp_path / "a.ndjson"
    p.write_bytes(b"x" * 5000)
    with open_capped(p, 10) as f:
        assert len(f.read()) == 5000


def test_wrapping_an_open_stream_keeps_the_caller_s_file(tmp_path: Path) -> None:
    data = gzip.compress(b"y" * 100)
    raw = io.BytesIO(data)
    with capped(gzip.GzipFile(fileobj=raw), "in-memory.json.gz", 100) as f:
        assert f.read() == b"y" * 100
    with pytest.raises(ConfigError):
        capped(io.BytesIO(), "x", 0)


def test_cap_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("MEDMINE_MAX_DECOMPRESSED", raising=False)
    assert max_decompressed() == DEFAULT_MAX_DECOMPRESSED == 1 << 30
    monkeypatch.setenv("MEDMINE_MAX_DECOMPRESSED", "1K")
    assert max_decompressed() == 1024
    p = tmp_path / "a.json.gz"
    p.write_bytes(gzip.compress(b"z" * 2000))
    with open_capped(p) as f, pytest.raises(SourceError, match="1K"):
        f.read()
    monkeypatch.setenv("MEDMINE_MAX_DECOMPRESSED", "lots")
    with pytest.raises(ConfigError, match="MEDMINE_MAX_DECOMPRESSED") as e:
        max_decompressed()
    assert "lots" in str(e.value)  # a setting, not a secret or a data value


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1000", 1000), ("512M", 512 << 20), ("8g", 8 << 30), ("2GiB", 2 << 30), ("1 T", 1 << 40)],
)
def test_parse_size(text: str, expected: int) -> None:
    assert parse_size(text) == expected


@pytest.mark.parametrize("text", ["", "0", "-5", "1.5G", "ten"])
def test_parse_size_refuses_nonsense(text: str) -> None:
    with pytest.raises(ConfigError):
        parse_size(text)


def test_fhir_loader_quarantines_a_gzip_bomb_instead_of_running_out_of_memory(
    tmp_path, monkeypatch
):
    import gzip

    from medmine.ingest import fhir
    from medmine.warehouse import Warehouse

    monkeypatch.setenv("MEDMINE_MAX_DECOMPRESSED", "1M")
    bomb = tmp_path / "Patient.ndjson.gz"
    with gzip.open(bomb, "wb") as f:
        f.write(b"{" + b" " * (8 * 1024 * 1024) + b"}\n")  # 8 MB of blanks, ~8 kB on disk
    with Warehouse(tmp_path / "w.duckdb") as wh:
        report = fhir.load([bomb], wh)
        msg = wh.con.execute("SELECT message FROM mm_quarantine").fetchone()[0]
    assert report.totals.quarantined == 1 and report.totals.loaded == 0
    assert "cap" in msg
