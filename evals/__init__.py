"""Quality gates: scripts that score the pipeline on ../shared/eval, print the scores and the
pinned floors, and exit non-zero when a score falls below its floor. `make gates` runs them all
(and `make test` runs the gates after the unit tests)."""
