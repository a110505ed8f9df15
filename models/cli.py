"""`newsnorm models list | install NAME | remove NAME | convert SRC_DIR`: the models directory.

Errors are one line on stderr and exit status 1 (offline install included), never a traceback.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from typing import Sequence

from models.catalog import CATALOG
from models.install import InstallError, convert_dir, install
from models.loader import ModelError
from models.paths import default_models_dir
from models.registry import installed_models


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="newsnorm models",
                                     description="list, install and convert translation models")
    parser.add_argument("--models_dir", "--models-dir", default=default_models_dir(),
                        help="installed translation models (env NEWSNORM_MODELS)")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="installed models and the catalog")
    p_install = sub.add_parser("install", help="download and convert a catalog model "
                               "(tiny-test is built offline)")
    p_install.add_argument("name", choices=sorted(CATALOG))
    p_install.add_argument("--quantization", default="int8",
                           help="CTranslate2 weight type (int8: 1/4 the size, 2.4x faster on CPU)")
    p_remove = sub.add_parser("remove", help="delete an installed model from the models directory")
    p_remove.add_argument("name")
    p_convert = sub.add_parser("convert", help="convert an OPUS-MT (Marian) directory on disk")
    p_convert.add_argument("src_dir")
    p_convert.add_argument("--name", required=True, help="name of the installed model")
    p_convert.add_argument("--source_langs", "--source-langs", required=True,
                           help="comma-separated source languages, e.g. ar")
    p_convert.add_argument("--version", default="1")
    p_convert.add_argument("--quantization", default="int8")
    for p in (p_install, p_remove, p_convert):
        p.add_argument("--models_dir", "--models-dir", default=argparse.SUPPRESS)
    return parser


def list_lines(models_dir: str) -> list[str]:
    """The text `newsnorm models list` prints."""
    lines = [f"models directory: {models_dir}", "installed:"]
    installed = installed_models(models_dir)
    for name, meta in installed.items():
        langs = ",".join(meta.get("source_langs") or [meta.get("source_lang", "?")])
        test = "  [TEST MODEL: output is not a translation]" if meta.get("test_model") else ""
        lines.append(f"  {name:28s} {meta.get('version', '')!s:18s} {langs}->"
                     f"{meta.get('target_lang', 'en')}{test}")
    if not installed:
        lines.append("  (none: articles in other languages get status no_model_for_<lang>)")
    lines.append("catalog (newsnorm models install NAME):")
    for name, entry in sorted(CATALOG.items()):
        mark = "installed" if name in installed else ""
        lines.append(f"  {name:28s} {','.join(entry.source_langs)}->en  {entry.licence:30s} "
                     f"{mark}\n      {entry.description}")
    return lines


def remove(name: str, models_dir: str) -> str:
    """Delete one installed model (a sub-directory with a metadata.json); returns its path."""
    installed = installed_models(models_dir)
    if name not in installed or os.path.basename(os.path.normpath(name)) != name:
        known = ", ".join(installed) or "none"
        raise InstallError(f"no installed model {name!r} in {models_dir} (installed: {known})")
    path = installed[name]["path"]
    shutil.rmtree(path)
    return path


def run(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    try:
        if args.command == "list":
            print("\n".join(list_lines(args.models_dir)))
        elif args.command == "install":
            path = install(args.name, args.models_dir, args.quantization)
            print(f"installed {args.name} in {path}")
            if CATALOG[args.name].kind == "test":
                print(f"note: {args.name} is a TEST MODEL: its output copies the source. It "
                      "never replaces a supplied translation (--retranslate); remove it with "
                      f"`newsnorm models remove {args.name}`")
        elif args.command == "remove":
            print(f"removed {remove(args.name, args.models_dir)}")
        else:
            langs = [x.strip() for x in args.source_langs.split(",") if x.strip()]
            path = convert_dir(args.src_dir, args.models_dir, args.name, langs, args.version,
                               args.quantization)
            print(f"converted {args.src_dir} -> {path}")
    except (InstallError, ModelError) as exc:
        print(f"newsnorm models: error: {exc}", file=sys.stderr)
        return 1
    return 0
