"""Collection rules for the doctest run over the packages (pyproject: --doctest-modules)."""

import importlib.util

# pipeline/dask_runner.py imports dask, which only the [dask] extra installs (the slow tier's
# cluster tests install it); without it the module is not collected for doctests.
collect_ignore = [] if importlib.util.find_spec("dask") else ["pipeline/dask_runner.py"]
