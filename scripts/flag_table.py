"""The flag tables of docs/usage.md, generated from the argument parsers themselves.

    python scripts/flag_table.py --write    # regenerate the tables in docs/usage.md
    python scripts/flag_table.py --check    # exit 1 when docs/usage.md is out of date

tests/test_docs.py runs the check and compares the tables with `newsnorm <cmd> --help`, so a
flag added, renamed or re-defaulted in the code fails the tests until the docs say so.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
USAGE = REPO / "docs" / "usage.md"
BEGIN, END = "<!-- flags:begin (scripts/flag_table.py) -->", "<!-- flags:end -->"


def parsers() -> dict[str, argparse.ArgumentParser]:
    """Every `newsnorm` command's parser, by command line."""
    from models.cli import build_parser as models_parser
    from pipeline.options import build_parser as run_parser
    from pipeline.replay_cmd import build_parser as replay_parser
    from pipeline.verify_cmd import build_parser as verify_parser
    from pipeline.watch import build_parser as watch_parser

    found = {"newsnorm run": run_parser(), "newsnorm watch": watch_parser(),
             "newsnorm verify": verify_parser(), "newsnorm replay": replay_parser()}
    models = models_parser()
    found["newsnorm models"] = models
    for action in models._actions:  # noqa: SLF001 - argparse keeps subparsers only here
        if isinstance(action, argparse._SubParsersAction):  # noqa: SLF001
            for name, sub in action.choices.items():
                found[f"newsnorm models {name}"] = sub
    return found


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _default(action: argparse.Action) -> str:
    if (action.default in (None, "", argparse.SUPPRESS) or not action.option_strings
            or isinstance(action, (argparse._StoreTrueAction,  # noqa: SLF001
                                   argparse._StoreFalseAction))):  # noqa: SLF001
        return ""
    if "models_dir" in action.dest:
        return "`$NEWSNORM_MODELS` or `~/.local/share/newsnorm/models`"
    return f"`{action.default}`"


def table(parser: argparse.ArgumentParser) -> list[str]:
    rows = ["| flag | default | what it does |", "| --- | --- | --- |"]
    for action in parser._actions:  # noqa: SLF001
        if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):  # noqa: SLF001
            continue
        names = ", ".join(f"`{o}`" for o in action.option_strings) or f"`{action.dest}` (positional)"
        if action.choices and not isinstance(action, argparse._SubParsersAction):  # noqa: SLF001
            names += " " + "\\|".join(str(c) for c in action.choices)
        required = " (required)" if action.required and action.option_strings else ""
        rows.append(f"| {names}{required} | {_default(action)} | {_cell(action.help or '')} |")
    return rows


def generated() -> str:
    lines = [BEGIN, ""]
    for command, parser in parsers().items():
        lines += [f"### `{command}`", ""]
        if parser.description:
            lines += [_cell(parser.description), ""]
        lines += table(parser) + [""]
    return "\n".join(lines + [END])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="flag tables of docs/usage.md from the parsers")
    mode = p.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true")
    mode.add_argument("--check", action="store_true")
    args = p.parse_args(argv)
    text = USAGE.read_text(encoding="utf-8")
    pattern = re.compile(re.escape(BEGIN) + ".*?" + re.escape(END), re.S)
    if not pattern.search(text):
        print(f"{USAGE}: no {BEGIN} ... {END} section", file=sys.stderr)
        return 1
    new = pattern.sub(lambda _: generated(), text)
    if args.write:
        USAGE.write_text(new, encoding="utf-8")
        print(f"wrote the flag tables in {USAGE.relative_to(REPO)}")
        return 0
    if new != text:
        print(f"{USAGE.relative_to(REPO)} is out of date: run python scripts/flag_table.py "
              "--write", file=sys.stderr)
        return 1
    print(f"{USAGE.relative_to(REPO)}: flag tables match the parsers")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    sys.exit(main())
