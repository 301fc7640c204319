"""A Spark standalone cluster on this machine: a master and N workers started with Spark's
own daemon script from the installed ``pyspark`` package (``sbin/spark-daemon.sh``, which
``start-master.sh`` and ``start-worker.sh`` call; pip's pyspark ships only the daemon script).

Used by ``make cluster-test`` to run the pipeline against a real master URL (executors in
separate JVMs, tasks shipped over the network on loopback), not local mode. Everything binds
to 127.0.0.1; logs and pid files go to a temporary folder; leaving the ``with`` block stops
every daemon, also when the block fails.

>>> with StandaloneCluster(workers=2) as cluster:  # doctest: +SKIP
...     session = spark_session(cluster.master_url)
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from medmine.errors import ConfigError

__all__ = ["StandaloneCluster", "spark_home"]

_MASTER = "org.apache.spark.deploy.master.Master"
_WORKER = "org.apache.spark.deploy.worker.Worker"


def spark_home() -> Path:
    """The installed pyspark package folder (it holds ``bin``, ``sbin`` and ``jars``)."""
    try:
        import pyspark
    except ImportError:
        raise ConfigError("pyspark is not installed: pip install 'medmine[spark]'") from None
    return Path(pyspark.__file__).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class StandaloneCluster:
    """Start a standalone master and `workers` workers on loopback; stop them on exit.

    Parameters
    ----------
    workers
        Number of worker daemons (each its own JVM).
    cores, memory
        What each worker offers to executors.
    timeout
        Seconds to wait for every worker to register with the master.
    """

    def __init__(
        self, workers: int = 2, *, cores: int = 1, memory: str = "1g", timeout: float = 120.0
    ) -> None:
        self.workers = workers
        self.cores = cores
        self.memory = memory
        self.timeout = timeout
        self.home = spark_home()
        self.port = _free_port()
        self.ui_port = _free_port()
        self.master_url = f"spark://127.0.0.1:{self.port}"
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._started: list[tuple[str, int]] = []

    def _env(self) -> dict[str, str]:
        assert self._tmp is not None
        base = Path(self._tmp.name)
        env = dict(os.environ)
        env.update(
            {
                "SPARK_HOME": str(self.home),
                "SPARK_LOCAL_IP": "127.0.0.1",
                "SPARK_MASTER_HOST": "127.0.0.1",
                "SPARK_LOG_DIR": str(base / "logs"),
                "SPARK_PID_DIR": str(base / "pids"),
                "SPARK_WORKER_DIR": str(base / "work"),
                "SPARK_IDENT_STRING": f"medmine{self.port}",
            }
        )
        return env

    def _daemon(self, action: str, cls: str, number: int, *args: str) -> None:
        script = self.home / "sbin" / "spark-daemon.sh"
        cmd = ["bash", str(script), action, cls, str(number), *args]
        subprocess.run(cmd, env=self._env(), check=True, capture_output=True, timeout=120)

    def start(self) -> StandaloneCluster:
        """Start the master, then the workers; wait until all workers are alive."""
        self._tmp = tempfile.TemporaryDirectory(prefix="medmine-spark-cluster-")
        try:
            self._daemon(
                "start", _MASTER, 1, "--host", "127.0.0.1", "--port", str(self.port),
                "--webui-port", str(self.ui_port),
            )  # fmt: skip
            self._started.append((_MASTER, 1))
            for i in range(1, self.workers + 1):
                self._daemon(
                    "start", _WORKER, i, "--host", "127.0.0.1", "--cores", str(self.cores),
                    "--memory", self.memory, "--webui-port", str(_free_port()), self.master_url,
                )  # fmt: skip
                self._started.append((_WORKER, i))
            self._wait()
        except BaseException:
            self.stop()
            raise
        return self

    def state(self) -> dict[str, Any]:
        """The master's status (its web UI's JSON: workers, cores, applications)."""
        url = f"http://127.0.0.1:{self.ui_port}/json/"
        with urllib.request.urlopen(url, timeout=5) as r:  # noqa: S310 (loopback, our port)
            return json.loads(r.read())

    def alive_workers(self) -> int:
        """Workers registered and alive."""
        try:
            return int(self.state().get("aliveworkers", 0))
        except OSError:
            return 0

    def _wait(self) -> None:
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if self.alive_workers() >= self.workers:
                return
            time.sleep(1.0)
        raise ConfigError(
            f"only {self.alive_workers()} of {self.workers} Spark workers registered with "
            f"{self.master_url} within {self.timeout:.0f} s; see the logs in {self.log_dir}"
        )

    @property
    def log_dir(self) -> Path | None:
        """Where the daemons write their logs (while the cluster is up)."""
        return Path(self._tmp.name) / "logs" if self._tmp else None

    def stop(self) -> None:
        """Stop every daemon this object started (workers first), then remove its files."""
        for cls, number in reversed(self._started):
            with contextlib.suppress(subprocess.SubprocessError, OSError):
                self._daemon("stop", cls, number)  # a failure: keep stopping the others
        self._started.clear()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> StandaloneCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
