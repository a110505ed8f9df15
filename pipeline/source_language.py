"""The language distribution of each source in this drop, for the language stage's source prior.

Owns the Beam glue only (the pure parts are in transforms/language.py): one vote per parsed
article keyed by its source (`source_key`: the record's `source`, else the URL's host), a
combine per source (`merge_votes`: order- and grouping-independent), and one detection of each
source's pooled short text (`source_distribution`). The result, {source: distribution}, is a
side input of the language stage: it is small (one entry per source, never an article) and it is
ready once parsing is done, before the dedupe shuffle ends, so it holds no article back.

Counted from parsed articles, so a duplicate id votes twice: a duplicate repeats its source's
language, and the dedupe that drops it runs later.
"""

from __future__ import annotations

from typing import Iterable

import apache_beam as beam


class _VoteFn(beam.DoFn):
    def setup(self) -> None:
        from transforms.langid import Detector

        self.detector = Detector()

    def process(self, article: dict) -> Iterable[tuple[str, dict]]:
        from transforms.language import source_key, source_vote

        key = source_key(article)
        if key:
            yield key, source_vote(article, self.detector)


class _MergeVotes(beam.CombineFn):
    def create_accumulator(self) -> dict:
        from transforms.language import empty_votes

        return empty_votes()

    def add_input(self, acc: dict, vote: dict) -> dict:
        from transforms.language import merge_votes

        return merge_votes([acc, vote])

    def merge_accumulators(self, accs: Iterable[dict]) -> dict:
        from transforms.language import merge_votes

        return merge_votes(accs)

    def extract_output(self, acc: dict) -> dict:
        return acc


class _DistributionFn(beam.DoFn):
    def setup(self) -> None:
        from transforms.langid import Detector

        self.detector = Detector()

    def process(self, element: tuple[str, dict]) -> Iterable[tuple[str, dict]]:
        from transforms.language import source_distribution

        key, votes = element
        yield key, source_distribution(votes, self.detector)


class SourceLanguages(beam.PTransform):
    """articles -> (source key, language distribution of that source in this drop)."""

    def __init__(self) -> None:
        super().__init__(label="Source languages")

    def expand(self, articles):
        return (
            articles
            | "Vote" >> beam.ParDo(_VoteFn())
            | "Combine per source" >> beam.CombinePerKey(_MergeVotes())
            | "Distribution" >> beam.ParDo(_DistributionFn())
        )
