"""Beam's DaskRunner, computing every sink of the graph instead of only the last one.

Beam 2.77's `DaskRunner.run_pipeline` hands dask the bag of the *last transform applied* and
nothing else: a branch that does not feed it (our template-counts writer, any side-effect
sink) silently never runs (deploy/dask.md). This subclass differs in that one step only: it
computes the bags of all transforms whose output no other transform reads, in one dask graph,
so shared upstream work still runs once; and it closes its dask client when the job ends.
`--runner dask` (pipeline/run.py) selects it.
"""

from __future__ import annotations

from apache_beam.runners.dask.dask_runner import DaskOptions, DaskRunner, DaskRunnerResult
from apache_beam.runners.dask.overrides import dask_overrides


def sink_bags(bags: dict) -> list:
    """The bags of the transforms whose outputs no other transform consumes (main or side
    input), in visiting order, each once."""
    consumed = set()
    for applied in bags:
        for value in applied.inputs:
            consumed.add(getattr(value, "producer", None))
        for side in applied.side_inputs:
            consumed.add(side.pvalue.producer)
    out, seen = [], set()
    for applied, bag in bags.items():
        if applied not in consumed and bag is not None and id(bag) not in seen:
            seen.add(id(bag))
            out.append(bag)
    return out


class _ClosingResult(DaskRunnerResult):
    """Closes its dask client once the job has ended (Beam's never does, and the client then
    logs reconnect tracebacks when the cluster goes away before the driver exits)."""

    def wait_until_finish(self, duration=None) -> str:
        try:
            return super().wait_until_finish(duration)
        finally:
            if self.state in ("DONE", "FAILED", "CANCELLED"):
                self.client.close()


class AllSinksDaskRunner(DaskRunner):
    """DaskRunner that computes every sink (see the module docstring)."""

    def run_pipeline(self, pipeline, options):
        import dask
        import dask.distributed as ddist

        dask_options = options.view_as(DaskOptions).get_all_options(
            drop_default=True, current_only=True)
        bag_kwargs = DaskOptions._extract_bag_kwargs(dask_options)
        client = ddist.Client(**dask_options)
        pipeline.replace_all(dask_overrides())
        visitor = self.to_dask_bag_visitor(bag_kwargs)
        pipeline.visit(visitor)
        graphs = dask.optimize(*sink_bags(visitor.bags))
        return _ClosingResult(client, client.compute(list(graphs)))
