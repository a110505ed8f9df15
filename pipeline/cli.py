"""The `newsnorm` command: one entry point, one subcommand per job.

    newsnorm run     --input PATH --output DIR [job flags] [Beam pipeline options]
    newsnorm verify  DIR [--input PATH]
    newsnorm replay  DIR --input PATH [--id ID]
    newsnorm models  list | install NAME | remove NAME | convert SRC_DIR
    newsnorm watch   --input DIR --output DIR [--once]
    newsnorm --version

Logging is configured before Beam is imported: `import apache_beam` configures the root
logger itself, after which a plain basicConfig() does nothing.
"""

from __future__ import annotations

import importlib
import logging
import sys
from typing import Sequence

SUBCOMMANDS = {
    "run": ("pipeline.run", "run a drop through the pipeline"),
    "verify": ("pipeline.verify_cmd", "check an output directory against its manifest"),
    "replay": ("pipeline.replay_cmd", "re-derive every output body from the drop and the "
               "logged steps"),
    "models": ("models.cli", "list, install, remove and convert translation models"),
    "watch": ("pipeline.watch", "process new drops as they arrive"),
}


class _DropBeamImportNoise(logging.Filter):
    """`import apache_beam` warns about GCP client libraries we do not use."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("apitools not found")


def _setup_logging() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(message)s", stream=sys.stderr,
                        force=True)
    for handler in logging.getLogger().handlers:
        handler.addFilter(_DropBeamImportNoise())
    logging.getLogger("newsnorm").setLevel(logging.INFO)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: newsnorm {" + ",".join(SUBCOMMANDS) + "} ...\n")
        for name, (_, text) in SUBCOMMANDS.items():
            print(f"  {name:8s} {text}")
        print("\n  --version  print the version and the code digest (what skip-if-done compares)")
        return 0 if argv else 2
    if argv[0] == "--version":
        from pipeline.version import version_line

        print(version_line())
        return 0
    name, rest = argv[0], argv[1:]
    if name not in SUBCOMMANDS:
        import difflib

        near = difflib.get_close_matches(name, SUBCOMMANDS, n=1)
        hint = f"; did you mean {near[0]!r}?" if near else ""
        print(f"newsnorm: error: unknown command {name!r} (one of: {', '.join(SUBCOMMANDS)})"
              + hint, file=sys.stderr)
        return 2
    _setup_logging()
    module_name = SUBCOMMANDS[name][0]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name:
            print(f"newsnorm: error: {name!r} is not available in this build", file=sys.stderr)
            return 2
        raise
    return int(module.run(rest) or 0)


if __name__ == "__main__":
    sys.exit(main())
