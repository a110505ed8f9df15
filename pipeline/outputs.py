"""Multiple outputs of one DoFn without Beam's tagged outputs: one (tag, value) stream and one
filter branch per tag.

Why: `ParDo(...).with_outputs(...)` is not implemented by every runner. Beam 2.77's DaskRunner
hands every output of a multi-output ParDo, tagged or not, to every consumer (deploy/dask.md),
so the dead letters reached the id-keying lambda (`KeyError: 'id'`). A single output and plain
FlatMaps are what every runner runs. Our DoFns keep yielding `TaggedOutput(tag, value)`; the
wrapper turns that into pairs, so they stay unchanged and testable alone.

    parsed = files | "Parse" >> SplitOutputs(ParseFileFn(...), DEAD, FILES, main="articles")
    parsed.articles, parsed[DEAD], parsed[FILES]
"""

from __future__ import annotations

from typing import Any, Iterable

import apache_beam as beam
from apache_beam.pvalue import TaggedOutput


class Outputs(dict):
    """{tag: PCollection}, also readable as attributes (like Beam's DoOutputsTuple)."""

    def __getattr__(self, name: str):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def as_pair(out: Any, main: str) -> tuple[str, Any]:
    """>>> as_pair(TaggedOutput("dead", 1), "main"), as_pair(2, "main")
    (('dead', 1), ('main', 2))
    """
    return (out.tag, out.value) if isinstance(out, TaggedOutput) else (main, out)


class _Pairs(beam.DoFn):
    """Runs `fn` (a DoFn using setup/start_bundle/process/finish_bundle/teardown with a plain
    element argument) and emits (tag, value) for everything it yields."""

    def __init__(self, fn: beam.DoFn, main: str) -> None:
        self.fn = fn
        self.main = main

    def setup(self) -> None:
        self.fn.setup()

    def start_bundle(self) -> None:
        self.fn.start_bundle()

    def process(self, element: Any, *side) -> Iterable[tuple[str, Any]]:
        for out in self.fn.process(element, *side) or ():
            yield as_pair(out, self.main)

    def finish_bundle(self):
        # None of our DoFns emit here; a windowed value from one would need its window kept.
        for out in self.fn.finish_bundle() or ():
            raise TypeError(f"{type(self.fn).__name__}.finish_bundle emitted {out!r}")

    def teardown(self) -> None:
        self.fn.teardown()


def _pick(pair: tuple[str, Any], tag: str) -> Iterable[Any]:
    if pair[0] == tag:
        yield pair[1]


class SplitOutputs(beam.PTransform):
    """`beam.ParDo(fn).with_outputs(*tags, main=main)`, built from transforms every runner has."""

    def __init__(self, fn: beam.DoFn, *tags: str, main: str, side_inputs: tuple = ()) -> None:
        super().__init__()
        self.fn = fn
        self.tags = tags
        self.main = main
        self.side_inputs = side_inputs  # e.g. (beam.pvalue.AsDict(pcoll),): extra process args

    def expand(self, pcoll):
        pairs = pcoll | "Do" >> beam.ParDo(_Pairs(self.fn, self.main), *self.side_inputs)
        return Outputs({tag: pairs | f"Only {tag}" >> beam.FlatMap(_pick, tag)
                        for tag in (self.main, *self.tags)})
