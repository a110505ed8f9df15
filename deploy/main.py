"""Dataflow Flex Template entry point (FLEX_TEMPLATE_PYTHON_PY_FILE in deploy/Dockerfile).

The launcher runs this file with the template's parameters as `--name=value` flags plus
Dataflow's own options; pipeline.run.run() takes the job flags and hands the rest to Beam,
exactly as `newsnorm run` does. Only the default runner differs: Dataflow instead of the
offline FnApiRunner.
"""

from __future__ import annotations

import logging
import sys
from typing import Sequence

from pipeline.run import run

DATAFLOW_RUNNER = "DataflowRunner"


def with_default_runner(argv: Sequence[str], runner: str = DATAFLOW_RUNNER) -> list[str]:
    """Add --runner unless the caller chose one.

    >>> with_default_runner(["--input=gs://b/d"])
    ['--input=gs://b/d', '--runner=DataflowRunner']
    >>> with_default_runner(["--runner", "FnApiRunner"])
    ['--runner', 'FnApiRunner']
    """
    argv = list(argv)
    if any(a == "--runner" or a.startswith("--runner=") for a in argv):
        return argv
    return argv + [f"--runner={runner}"]


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, force=True)
    sys.exit(run(with_default_runner(sys.argv[1:])))
