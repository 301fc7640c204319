"""Start a SparkSession for medmine: local mode by default, or a cluster's master URL.

Spark needs a Java runtime and the ``spark`` extra (``pip install 'medmine[spark]'``); both are
checked first so that a missing one gives one clear sentence instead of a JVM stack trace.
"""

from __future__ import annotations

import os
import shutil
from typing import Any

from medmine.errors import ConfigError

__all__ = ["java_missing_reason", "spark_session"]


def java_missing_reason() -> str | None:
    """Why Spark cannot start here (no pyspark, no Java), or None when it can."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return "pyspark is not installed: pip install 'medmine[spark]'"
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        return "Spark needs a Java runtime (17 or later): install one or set JAVA_HOME"
    return None


def spark_session(
    master: str = "local[2]",
    *,
    app_name: str = "medmine",
    shuffle_partitions: int | None = None,
    driver_memory: str | None = None,
    conf: dict[str, str] | None = None,
) -> Any:
    """Return a SparkSession on `master` (``local[N]`` or ``spark://host:port``).

    Times are read and written in UTC (as medmine's DuckDB warehouse does), the web UI is off,
    and Spark binds to the loopback interface unless ``SPARK_LOCAL_IP`` says otherwise.

    Raises
    ------
    ConfigError
        pyspark or Java is missing.
    """
    reason = java_missing_reason()
    if reason:
        raise ConfigError(f"--engine spark: {reason}")
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ.setdefault("PYSPARK_PYTHON", _python())
    from pyspark.sql import SparkSession

    parts = shuffle_partitions or (4 if master.startswith("local") else 8)
    builder = (
        SparkSession.builder.master(master)
        .appName(app_name)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", str(parts))
        .config("spark.sql.ansi.enabled", "false")
        .config("spark.driver.host", os.environ["SPARK_LOCAL_IP"])
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
    )
    if driver_memory:
        builder = builder.config("spark.driver.memory", driver_memory)
    for key, value in (conf or {}).items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("FATAL")  # code-size fallbacks are logged as errors
    return session


def _python() -> str:
    import sys

    return sys.executable
