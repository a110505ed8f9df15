"""Synthetic drops for benchmarks, made from real articles (../shared/eval/news) and the seed.

Deterministic by seed. Each article is a real Arabic article, the seed article, or an English
rewrite of a seed paragraph mix, with a share of damage (number placeholders, Read-also widgets,
credit lines), so every non-translating stage has real work. Written outside the repo.

    python -m bench.generate_drop N OUT_DIR [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import os
import random
from pathlib import Path

SHARED = Path(os.environ.get("NEWSNORM_SHARED", Path(__file__).resolve().parents[2] / "shared"))
# Share of English articles that get machine-translation damage: the seed shows all three kinds
# in one article; 30% keeps clean and damaged text both well represented.
DAMAGED_SHARE = 0.3


def sources() -> tuple[list[dict], list[str]]:
    arabic = [json.loads(x) for x in
              (SHARED / "eval" / "news" / "ar_sample.jsonl").read_text(encoding="utf-8").splitlines()]
    seed = (SHARED / "seed" / "gaza-truce-machine-translated.txt").read_text(encoding="utf-8")
    return arabic, seed.split("\n")


def make_articles(n: int, seed: int = 0):
    rng = random.Random(seed)
    arabic, seed_lines = sources()
    title, body_lines = seed_lines[0], [x for x in seed_lines[1:] if x.strip()]
    prose = [x for x in body_lines if len(x) > 80]
    for i in range(n):
        kind = rng.random()
        if kind < 0.3:
            src = arabic[i % len(arabic)]
            yield {"id": f"ar-{i}", "url": src["url"] + f"#{i}", "title": src["title"],
                   "body": src["content"].strip(), "lang": "ar", "source": src["newspaper"]}
        elif kind < 0.4:
            yield {"id": f"seed-{i}", "title": title, "body": "\n".join(seed_lines[1:]),
                   "lang": "en"}
        else:
            k = rng.randint(3, 12)
            paras = rng.sample(prose, k)
            if rng.random() < DAMAGED_SHARE:
                paras.insert(1, "Read also\n\nlist of 2 itemslist 1 of 2\n\nTalks resume in Doha"
                                "\n\nList 2 of 2\n\nAid trucks enter Gaza\n\nend of list")
                paras.append(f"The toll rose to more than {rng.randint(2, 90)},<> dead.")
                paras.append("Source : Al Jazeera + Agencies")
            yield {"id": f"en-{i}", "title": f"Report {i}: " + rng.choice(prose)[:60],
                   "body": "\n\n".join(paras), "lang": "en"}


def write_drop(n: int, out_dir: str | Path, seed: int = 0) -> Path:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "articles.jsonl"
    with open(path, "w", encoding="utf-8") as fh:
        for a in make_articles(n, seed):
            fh.write(json.dumps(a, ensure_ascii=False) + "\n")
    return path


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("n", type=int)
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    print(write_drop(args.n, args.out, args.seed))
