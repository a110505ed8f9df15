"""pipeline/outputs.py: SplitOutputs routes like `with_outputs`, on the default runner."""

from __future__ import annotations

import apache_beam as beam
import pytest
from apache_beam.testing.util import assert_that, equal_to

from pipeline.outputs import Outputs, SplitOutputs, _Pairs


class _Route(beam.DoFn):
    def setup(self):
        self.ready = True

    def process(self, x):
        assert self.ready  # setup reached the wrapped DoFn
        if x % 3 == 0:
            yield beam.pvalue.TaggedOutput("fizz", x)
        elif x % 5 == 0:
            yield beam.pvalue.TaggedOutput("buzz", x)
        else:
            yield x
        if x == 7:
            yield beam.pvalue.TaggedOutput("fizz", 700)  # several outputs from one element


def test_split_outputs_matches_with_outputs():
    with beam.Pipeline("FnApiRunner") as p:
        nums = p | beam.Create(range(1, 16))
        ours = nums | "ours" >> SplitOutputs(_Route(), "fizz", "buzz", main="rest")
        theirs = nums | "beam" >> beam.ParDo(_Route()).with_outputs("fizz", "buzz", main="rest")
        for tag in ("rest", "fizz", "buzz"):
            expected = {"rest": [1, 2, 4, 7, 8, 11, 13, 14], "fizz": [3, 6, 9, 12, 15, 700],
                        "buzz": [5, 10]}[tag]
            assert_that(ours[tag], equal_to(expected), label=f"ours {tag}")
            assert_that(theirs[tag], equal_to(expected), label=f"beam {tag}")
        assert_that(ours.rest, equal_to([1, 2, 4, 7, 8, 11, 13, 14]), label="attribute")


def test_outputs_attribute_errors_are_attribute_errors():
    with pytest.raises(AttributeError):
        Outputs({"a": 1}).b


def test_graph_for_distributed_runners_uses_what_every_runner_runs(tmp_path):
    """The `--shuffle beam` graph in its DaskRunner shape (batch_records off): no ParDo with
    more than one output, and no DoFn of ours or BatchElements emitting from finish_bundle.
    Beam 2.77's DaskRunner gets both wrong (deploy/dask.md); this catches a graph change that
    would break it without running the slow Dask test. (Side inputs are computed again on Dask
    but correctly; the template stage's AsDict is one, and is not checked here.)"""
    from apache_beam.pipeline import PipelineVisitor

    from pipeline import graph
    from pipeline.options import JobConfig
    from tests.conftest import EXAMPLE_DROP

    config = JobConfig(input=str(EXAMPLE_DROP), output=str(tmp_path), shuffle="beam",
                       batch_records=False, progress=False)
    files = [(str(p), p.name) for p in sorted(EXAMPLE_DROP.iterdir())]
    p = beam.Pipeline("FnApiRunner")
    graph.build(p, files, "drop", str(tmp_path / "s"), config, num_shards=1)

    found = {"multi_output": [], "finish_bundle": []}

    class Visit(PipelineVisitor):
        def visit_transform(self, node):
            transform = node.transform
            if isinstance(transform, beam.ParDo):
                if len(node.outputs) > 1:
                    found["multi_output"].append(node.full_label)
                fn = transform.fn
                fn = fn.fn if isinstance(fn, _Pairs) else fn  # the wrapper only re-raises
                module = type(fn).__module__
                if ((module.startswith(("pipeline.", "transforms.")) or
                     "Batch" in type(fn).__name__)
                        and type(fn).finish_bundle is not beam.DoFn.finish_bundle):
                    found["finish_bundle"].append(f"{node.full_label}: {type(fn).__name__}")

    p.visit(Visit())
    assert found == {"multi_output": [], "finish_bundle": []}
