"""`newsnorm verify DIR`: the reconciliation check users can run on any output directory."""

from __future__ import annotations

import argparse
import sys
from typing import Sequence


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="newsnorm verify",
                                     description="check an output directory against its "
                                     "manifest. Other flags are Beam filesystem options (e.g. "
                                     "--s3_endpoint_url), as for `newsnorm run`.")
    parser.add_argument("output", help="an output directory written by `newsnorm run`")
    parser.add_argument("--input", metavar="PATH",
                        help="the drop it was made from: re-parse it and check that every input "
                             "unit is in the output exactly once")
    return parser


def run(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, beam_args = parser.parse_known_args(argv)
    from pipeline import storage
    from pipeline.guard import printable
    from pipeline.manifest import load, verify
    from pipeline.options import check_passthrough

    try:
        check_passthrough(beam_args, parser)
        storage.check_remote([p for p in (args.output, args.input) if p],
                             storage.set_filesystem_options(beam_args))
        problems = verify(args.output, args.input)
    except Exception as exc:  # noqa: BLE001 - e.g. --input not found: one line, not a traceback
        print(f"newsnorm verify: error: {printable(str(exc))}", file=sys.stderr)
        return 2
    if problems:
        for p in problems:
            # File names come from the drop: escaped, so a crafted name cannot drive the
            # terminal (set its title, move the cursor, hide a line).
            print(f"FAIL {printable(p)}", file=sys.stderr)
        print(f"newsnorm verify: {len(problems)} problem(s) in {printable(args.output)}",
              file=sys.stderr)
        return 1
    c = load(args.output)["counts"]
    against = f", checked against the input {printable(args.input)}" if args.input else ""
    print(f"OK {printable(args.output)}: read {c['read']} = written {c['written']} + dead-lettered "
          f"{c['dead_lettered']}; every input unit accounted for exactly once{against}; "
          "every listed file present with its size and sha256")
    return 0
