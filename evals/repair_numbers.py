"""Quality gate: damaged numbers in machine-translated English are recovered or flagged, never invented.

Data: ../shared/eval/translate_numbers/dev.jsonl (real ar-en and fr-en news sentence pairs; the
English side damaged as MT systems damage it: "<>" placeholders, leaked tags, dropped thousands
groups; plus clean controls). Each case goes through `newsnorm run` as one article: the damaged
English in `body`, the source sentence in `original_body`, `original_lang` = the source language,
`lang` = "en". The output articles are scored:

- invented numbers: a number in the output body whose value is neither in the damaged input nor
  in the human reference `ref_en` (all readings of each number count). Floor: exactly 0.
- recovered correctly, where the source carries the number (the damaged number's value is among
  the values read from `src`): the repair step that replaced the damaged token wrote that value.
  Floor: MIN_RECOVERED (96%; the goal is 97%).
- flagged, where not recovered: every damaged token that was not recovered correctly is
  replaced by the marker `[?]` and the article carries `unrecovered_number` (or
  `unrecovered_token` for "<unk>"). Floor: 100%. (Stricter than "where the source lacks the
  number": a recoverable number we failed to recover must be flagged too.)
- changes to clean controls: repair steps on an article whose English is undamaged. Floor: 0.
  Changes by other stages to those articles are printed for information.

Also checked: replaying the logged steps on the input body gives the output body (else exit 1).

No exclusion list. The dev file is split once into a tuning part and a frozen part (`part`), and
generated cases (evals/number_cases.py, one family per failure class of issue #15) are added;
every figure is printed for each part, and the recovery gap between the dev parts is gated.
Dropped thousands groups carry no damage marker: repair keeps them and flags the disagreement
(`number_disagrees_with_source`); they count as flagged, never as recovered.

    python -m evals.repair_numbers [--data PATH] [--limit N] [--show N] [--generated N]
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
from collections import Counter
from decimal import Decimal
from pathlib import Path

from transforms.numbers import find_numbers
from transforms.replay import replay  # raises ReplayError (a ValueError) on a misfit
from evals.number_cases import generate
from transforms.repair import FLAG_DISAGREE, FLAG_NUMBER, FLAG_TOKEN, MARKER

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("NEWSNORM_SHARED", REPO.parent / "shared"))
DATA = SHARED / "eval" / "translate_numbers" / "dev.jsonl"

# Floors (issue 15). MIN_RECOVERED: see docs/numbers.md for where it stands against the 97% goal.
MAX_INVENTED = 0
# Issue 15's goal is 97%; measured 97.82% tuning / 97.64% frozen (2026-11-26, docs/numbers.md).
# The floor sits a point below both so that one case more or less does not flip the gate.
MIN_RECOVERED = 0.96
MAX_GAP_POINTS = 2.0
MIN_FLAGGED = 1.0
MAX_CONTROL_CHANGES = 0


def values_of(text: str, lang: str = "en") -> set[Decimal]:
    """All readings of all numbers in `text`; English "one" counts here as 1 (find_numbers
    leaves it out because it is mostly a pronoun, but a reference that says "one" allows a 1)."""
    found = {v for m in find_numbers(text, lang) for v in m.values}
    # "2019-20" is 2019 to 2020: a reference that abbreviates a year range allows the full year.
    for m in re.finditer(r"\b(1[5-9]|20)(\d\d)[-\u2013/](\d\d)\b", text):
        found.add(Decimal(m.group(1) + m.group(3)))
    if lang == "en" and re.search(r"\b[Oo]ne\b", text):
        found.add(Decimal(1))
    return found


def to_record(case: dict) -> dict:
    if case.get("field") == "title":
        return {"id": case["id"], "title": case["corrupted_en"], "body": FILLER, "lang": "en",
                "original_title": case["src"], "original_body": "", "original_lang": case["src_lang"]}
    return {"id": case["id"], "title": "", "body": case["corrupted_en"], "lang": "en",
            "original_body": case["src"], "original_lang": case["src_lang"]}


# The body of a case whose damage is in the title (an article needs a body).
FILLER = "The report was published on the ministry's website."


def part(case_id: str) -> str:
    """The dev split, decided once: a quarter of the cases (by a hash of the id, variants with
    their original) are frozen, never looked at while tuning; the rest are the tuning part."""
    key = case_id.split("#")[0].removesuffix(":title")
    return "frozen" if int(hashlib.sha1(key.encode()).hexdigest(), 16) % 4 == 0 else "tuning"


def run_pipeline(cases: list[dict], workdir: str) -> dict[str, dict]:
    drop = os.path.join(workdir, "drop.jsonl")
    out = os.path.join(workdir, "out")
    with open(drop, "w", encoding="utf-8") as f:
        for case in cases:
            f.write(json.dumps(to_record(case), ensure_ascii=False) + "\n")
    exe = Path(sys.executable).with_name("newsnorm")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "pipeline.cli"]
    cmd += ["run", "--input", drop, "--output", out, "--force", "--quiet", "--no_report",
            "--retranslate", "never"]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    if proc.returncode != 0:
        sys.exit(f"newsnorm run failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    articles = {}
    for path in sorted(glob.glob(os.path.join(out, "articles", "*.jsonl"))):
        with open(path, encoding="utf-8") as f:
            for line in f:
                rec = json.loads(line)
                articles[rec["id"]] = rec
    return articles


def score(cases: list[dict], articles: dict[str, dict]) -> dict:
    c = Counter()
    failing: set[str] = set()
    examples: dict[str, list] = {"invented": [], "not_recovered": [], "not_flagged": [],
                                 "control_changed": [], "wrong": []}
    for case in cases:
        art = articles.get(case["id"])
        if art is None:
            c["missing_articles"] += 1
            continue
        field = case.get("field") or "body"
        body = art[field]
        body_steps = [s for s in art["repairs"] if s["field"] == field]
        try:
            if replay(case["corrupted_en"], body_steps) != body:
                c["replay_mismatch"] += 1
        except ValueError:
            c["replay_mismatch"] += 1
        allowed = values_of(case["corrupted_en"]) | values_of(case["ref_en"])
        invented = [m.text for m in find_numbers(body, "en")
                    if not set(m.values) & allowed]
        c["invented"] += len(invented)
        if invented:
            failing.add(case["id"])
            examples["invented"].append((case["id"], invented, body))
        repair_steps = [s for s in body_steps if s["stage"] == "repair"]
        if not case["corruptions"]:
            c["controls"] += 1
            if repair_steps:
                failing.add(case["id"])
                c["control_changed"] += 1
                examples["control_changed"].append((case["id"], repair_steps))
            if body != case["corrupted_en"]:
                c["control_changed_any_stage"] += 1
            if _digit_runs(body) != _digit_runs(case["corrupted_en"]):
                failing.add(case["id"])
                c["control_numbers_changed"] += 1
                examples["control_changed"].append((case["id"], body))
            continue
        flagged = bool({FLAG_NUMBER, FLAG_TOKEN} & set(art["flags"]))
        disagrees = FLAG_DISAGREE in art["flags"]
        unused = list(repair_steps)
        src_values = values_of(case["src"], case["src_lang"])
        for cor in sorted(case["corruptions"], key=lambda x: x["ref_start"]):
            want = values_of(cor["original"])
            head = re.search(r"\b(1[5-9]|20)\d\d[-\u2013/]$", case["ref_en"][:cor["ref_start"]])
            if head and re.fullmatch(r"\d\d", cor["original"]):
                want.add(Decimal(head.group(1) + cor["original"]))  # "2019-20": 20 is 2020
            carried = bool(want & src_values)
            step = next((s for s in unused if cor["corrupted"] in s["before"]), None)
            if step is not None:
                unused.remove(step)
            if cor["kind"] == "dropped_group":
                # No damage marker: repair keeps the number and flags the disagreement.
                c["dropped"] += 1
                if step is not None and step["before"] != step["after"]:
                    c["dropped_rewritten"] += 1
                    failing.add(case["id"])
                    examples["wrong"].append((case["id"], cor, step))
                elif step is not None and step["kind"] == FLAG_DISAGREE and disagrees:
                    c["dropped_flagged"] += 1
                else:
                    c["dropped_unflagged"] += 1
                continue
            c["damaged"] += 1
            c["carried" if carried else "not_carried"] += 1
            got = values_of(_written(step)) if step else set()
            ok = step is not None and MARKER not in step["after"] and bool(got & want)
            if ok:
                c["recovered_ok"] += 1
                c["recovered_ok_carried" if carried else "recovered_ok_not_carried"] += 1
                continue
            if step is not None and MARKER not in step["after"]:
                c["recovered_wrong"] += 1
                examples["wrong"].append((case["id"], cor, step))
            if carried:
                examples["not_recovered"].append((case["id"], cor, step, case["src"],
                                                  case["corrupted_en"]))
            c["not_recovered"] += 1
            if step is not None and MARKER in step["after"] and flagged:
                c["flagged"] += 1
            else:
                failing.add(case["id"])
                examples["not_flagged"].append((case["id"], cor, step, body))
    c["cases"] = len(cases)
    return {"counts": c, "examples": examples, "failing": failing}


def _digit_runs(text: str) -> list[str]:
    return re.findall(r"\d+", text)


def _written(step: dict) -> str:
    """What a step wrote in place of the damage: its `after`, less the space-separated digit
    groups it kept of `before` ("08 11 00 <unk> 95" -> "06")."""
    before, after = step["before"], step["after"]
    if not re.search(r"\s", before):
        return after
    head = 0
    while head < min(len(before), len(after)) and before[head] == after[head]:
        head += 1
    tail = 0
    while tail < min(len(before), len(after)) - head and before[-1 - tail] == after[-1 - tail]:
        tail += 1
    return after[head:len(after) - tail]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=str(DATA))
    ap.add_argument("--limit", type=int, default=0, help="first N cases only (for a quick look)")
    ap.add_argument("--show", type=int, default=0, help="print N examples of each failure")
    ap.add_argument("--generated", type=int, default=20,
                    help="rounds of generated cases per class (evals/number_cases.py)")
    ap.add_argument("--misses", action="store_true",
                    help="list every unrecovered number of the TUNING dev part the source "
                         "carries (English, source, the logged reason), grouped by reason, "
                         "and stop; the frozen part is never listed")
    args = ap.parse_args(argv)
    if not os.path.exists(args.data):
        print(f"repair_numbers: eval data not found at {args.data}", file=sys.stderr)
        return 2
    with open(args.data, encoding="utf-8") as f:
        cases = [json.loads(line) for line in f if line.strip()]
    if args.limit:
        cases = cases[:args.limit]
    cases += generate(args.generated)
    with tempfile.TemporaryDirectory(prefix="newsnorm-repair-eval-") as tmp:
        articles = run_pipeline(cases, tmp)
    if args.misses:
        tuning = [x for x in cases if part(x["id"]) == "tuning" and x["dataset"] != "generated"]
        print_misses(score(tuning, articles)["examples"]["not_recovered"])
        return 0
    ok = True
    figures = {}
    for name in ("tuning", "frozen"):
        mine = [x for x in cases if part(x["id"]) == name]
        for label, subset in ((f"{name} part, dev", [x for x in mine if x["dataset"] != "generated"]),
                              (f"{name} part, generated classes", [x for x in mine
                                                                   if x["dataset"] == "generated"])):
            result = score(subset, articles)
            rows = print_figures(label, result["counts"], gate_recovery="generated" not in label)
            figures[label] = result["counts"]
            c = result["counts"]
            ok &= all(r[3] for r in rows) and not c["replay_mismatch"] and not c["missing_articles"]
            for kind, items in result["examples"].items():
                for item in items[:args.show]:
                    print(f"  [{kind}] {json.dumps(item, ensure_ascii=False)[:600]}")
    rates = [_recovered(figures[f"{n} part, dev"]) for n in ("tuning", "frozen")]
    gap = abs(rates[0] - rates[1])
    print(f"  recovered, tuning vs frozen dev part: {rates[0]:.2%} vs {rates[1]:.2%} "
          f"(gap {gap * 100:.1f} points; over {MAX_GAP_POINTS} means rules fitted to examples)")
    ok &= gap * 100 <= MAX_GAP_POINTS
    print(f"repair_numbers: {'ok' if ok else 'FAIL'}")
    return 0 if ok else 1


def miss_reason(step: dict | None) -> str:
    """The logged reason a damaged number was not recovered, reduced to its kind."""
    if step is None:
        return "no repair step for the damaged token"
    why = step["evidence"]
    if why.startswith("number_audit_failed"):
        return "audit: " + re.sub(r"'[^']*'|\d[\d,.]*", "_", why.split(" (rejected")[0])[21:80]
    return re.sub(r":.*", "", why)[:60]


def print_misses(misses: list) -> None:
    """Every unrecovered number of the tuning part, grouped by the logged reason."""
    groups: dict[str, list] = {}
    for case_id, cor, step, src, english in misses:
        groups.setdefault(miss_reason(step), []).append((case_id, cor, step, src, english))
    for reason, items in sorted(groups.items(), key=lambda kv: -len(kv[1])):
        print(f"== {len(items):4d}  {reason}")
        for case_id, cor, step, src, english in items:
            print(f"  {case_id}  want {cor['original']!r} for {cor['corrupted']!r}")
            print(f"    why: {step['evidence'][:300] if step else '-'}")
            print(f"    en:  {english[:400]}")
            print(f"    src: {src[:400]}")
    print(f"{len(misses)} unrecovered numbers the source carries (tuning part, dev)")


def _recovered(c: Counter) -> float:
    return c["recovered_ok_carried"] / c["carried"] if c["carried"] else 1.0


def print_figures(label: str, c: Counter, gate_recovery: bool = True) -> list:
    """Print one part's figures; returns the gated rows (name, value, floor, ok). The generated
    classes' recovery is information: many of their slots are unrecoverable by design."""
    recovered = _recovered(c)
    not_rec = c["not_recovered"]
    flagged = c["flagged"] / not_rec if not_rec else 1.0
    dropped = c["dropped_flagged"] / c["dropped"] if c["dropped"] else 1.0
    print(f"repair_numbers, {label}: {c['cases']} cases, {c['damaged']} marked damaged numbers "
          f"({c['carried']} carried by the source, {c['not_carried']} not), {c['dropped']} "
          f"dropped groups, {c['controls']} clean controls")
    rows = [
        ("invented or wrong numbers written", f"{c['invented'] + c['recovered_wrong']}",
         f"== {MAX_INVENTED}", c["invented"] + c["recovered_wrong"] <= MAX_INVENTED),
        ("recovered correctly (source carries it)",
         f"{recovered:.2%} ({c['recovered_ok_carried']}/{c['carried']})",
         f">= {MIN_RECOVERED:.0%}" if gate_recovery else "(info)",
         recovered >= MIN_RECOVERED or not gate_recovery),
        ("marked damage flagged where not recovered", f"{flagged:.2%} ({c['flagged']}"
         f"/{not_rec})", f">= {MIN_FLAGGED:.0%}", flagged >= MIN_FLAGGED),
        # A dropped group has no marker: finding it is detection, not proof (one dev case has
        # two equal English numbers and one source number that explains either).
        ("dropped groups found and flagged", f"{dropped:.2%} ({c['dropped_flagged']}/"
         f"{c['dropped']})", ">= 95%", dropped >= 0.95),
        ("numbers changed in clean controls", f"{c['control_numbers_changed']}",
         f"== {MAX_CONTROL_CHANGES}", c["control_numbers_changed"] <= MAX_CONTROL_CHANGES),
        ("repair steps on clean controls", f"{c['control_changed']}",
         f"== {MAX_CONTROL_CHANGES}", c["control_changed"] <= MAX_CONTROL_CHANGES),
        ("dropped groups rewritten (never: flag only)", f"{c['dropped_rewritten']}", "== 0",
         c["dropped_rewritten"] == 0),
    ]
    for name, value, floor, ok in rows:
        print(f"  {name:44s} {value:24s} floor {floor:8s} {'ok' if ok else 'below'}")
    print(f"  (info) dropped groups flagged {c['dropped_flagged']}/{c['dropped']}; recovered where "
          f"the source lacks the number: {c['recovered_ok_not_carried']}; controls changed by any "
          f"stage (whitespace, invisible characters): {c['control_changed_any_stage']}; replay "
          f"mismatches: {c['replay_mismatch']}; missing articles: {c['missing_articles']}")
    return rows


if __name__ == "__main__":
    sys.exit(main())
