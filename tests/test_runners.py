"""Runner flags the CLI maps or checks before Beam starts (pipeline/run.py)."""

from __future__ import annotations

import pytest

from pipeline.run import DASK_RUNNER, runner_aliases


@pytest.mark.parametrize("given", ["dask", "DaskRunner",
                                   "apache_beam.runners.dask.dask_runner.DaskRunner"])
def test_dask_names_select_our_dask_runner(given):
    assert runner_aliases(["--runner", given]) == [f"--runner={DASK_RUNNER}"]
    assert runner_aliases([f"--runner={given}", "--dask_address", "tcp://h:1"]) == [
        f"--runner={DASK_RUNNER}", "--dask_client_address=tcp://h:1"]


def test_other_runners_pass_unchanged():
    assert runner_aliases(["--runner=FlinkRunner", "--flink_master", "h:8081"]) == [
        "--runner=FlinkRunner", "--flink_master", "h:8081"]


def test_dask_flags_pass_the_unknown_flag_check():
    pytest.importorskip("distributed", reason="the dask extra")
    import pipeline.dask_runner  # noqa: F401 - what run() imports for --runner dask
    from pipeline.options import build_parser, check_passthrough

    check_passthrough(runner_aliases(["--runner", "dask", "--dask_address", "tcp://h:1"]),
                      build_parser())
