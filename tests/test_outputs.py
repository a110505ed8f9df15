"""pipeline/outputs.py: SplitOutputs routes like `with_outputs`, on the default runner."""

from __future__ import annotations

import apache_beam as beam
import pytest
from apache_beam.testing.util import assert_that, equal_to

from pipeline.outputs import Outputs, SplitOutputs


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
