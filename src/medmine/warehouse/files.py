"""Files that may hold PHI are created readable and writable by their owner only (0600).

Two tools: `private_umask` (a context, or `hold_private_umask` for as long as a warehouse is
open) makes every file the process creates meanwhile private, including those another library
creates for us (DuckDB's database file, its ``.wal`` and spill files, Parquet written by
``COPY``, skops archives); `private_open` and `private_dir` create one file or folder
explicitly private. The umask never changes a file that exists already (an existing
warehouse keeps the mode its owner gave it); `private_open` narrows the file it rewrites.

The umask is process-wide. While it is held, every file the process creates is private; that
is the point (medmine cannot tell which of them will hold PHI), and it is restored when the
last holder releases it.

>>> import tempfile, os, stat
>>> d = tempfile.mkdtemp()
>>> with private_open(os.path.join(d, "x.csv"), "w") as f:
...     _ = f.write("id,value")
>>> oct(stat.S_IMODE(os.stat(os.path.join(d, "x.csv")).st_mode))
'0o600'
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

#: Mode of every file medmine creates that may hold PHI.
PRIVATE_FILE_MODE = 0o600
#: Mode of every folder medmine creates for such files.
PRIVATE_DIR_MODE = 0o700
_MASK = 0o077

_lock = threading.Lock()
_holders = 0
_saved: int | None = None


def hold_private_umask() -> Callable[[], None]:
    """Restrict the process umask to owner-only until the returned release function is called.

    Holders nest: the original umask comes back when the last one releases. Calling the
    release function twice is harmless.
    """
    global _holders, _saved
    with _lock:
        if _holders == 0:
            _saved = os.umask(_MASK)
            os.umask(_saved | _MASK)
        _holders += 1
    released = False

    def release() -> None:
        nonlocal released
        global _holders, _saved
        with _lock:
            if released:
                return
            released = True
            _holders -= 1
            if _holders == 0 and _saved is not None:
                os.umask(_saved)
                _saved = None

    return release


@contextlib.contextmanager
def private_umask() -> Iterator[None]:
    """Within the block, files and folders the process creates are private to their owner."""
    release = hold_private_umask()
    try:
        yield
    finally:
        release()


def private_dir(path: str | Path) -> Path:
    """Create folder `path` (and parents) as 0700 if it does not exist; returns it."""
    p = Path(path)
    with private_umask():
        p.mkdir(parents=True, exist_ok=True)
    return p


def private_open(path: str | Path, mode: str = "wb", **kwargs: Any) -> IO[Any]:
    """Open `path` for writing, truncating it, created (or narrowed to) mode 0600.

    A file that already exists is narrowed to 0600 too: it is about to receive new content
    that may hold PHI, and the old mode was chosen for the old content.
    """
    if not any(c in mode for c in "wax"):
        raise ValueError(f"private_open writes files; got mode {mode!r}")
    flags = os.O_WRONLY | os.O_CREAT
    flags |= os.O_APPEND if "a" in mode else (os.O_EXCL if "x" in mode else os.O_TRUNC)
    fd = os.open(path, flags, PRIVATE_FILE_MODE)
    try:
        os.fchmod(fd, PRIVATE_FILE_MODE)
    except OSError:
        os.close(fd)
        raise
    return os.fdopen(fd, mode.replace("x", "w"), **kwargs)
