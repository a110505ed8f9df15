"""Generated number-repair cases, one family per failure class of issue #15, in the dev set's schema.

Each family is a source sentence (ar or fr) with its English reference, written here; values are
drawn with a seeded RNG, and the English is damaged the way MT damages it ("<>", leaked tags,
"<unk>"), in the body or the title. Clean controls carry money, ranges, phone numbers and years
and must come out unchanged. Our own data: no public corpus is used.

    python -m evals.number_cases [--n 20]   # prints the cases as JSON Lines
"""

from __future__ import annotations

import argparse
import json
import random
import sys

_AR_UNITS = ["", "واحد", "اثنان", "ثلاثة", "أربعة", "خمسة", "ستة", "سبعة", "ثمانية", "تسعة"]
_AR_TENS = {20: "العشرين", 30: "الثلاثين"}
_AR_ORD = ["", "الأول", "الثاني", "الثالث", "الرابع", "الخامس", "السادس", "السابع", "الثامن",
           "التاسع"]
_FR_TENS = {70: "soixante-dix", 90: "quatre-vingt-dix"}
_FR_UNITS = ["", "et onze", "douze", "treize", "quatorze", "quinze", "seize", "dix-sept",
             "dix-huit", "dix-neuf"]
_TAGS = ["<>", "__NUM_1__", "{{B-PLACEHOLDER-1-PLACEHOLDER-E}}", "<unk>"]


def _families(r: random.Random):
    """Yield (family, src_lang, src, ref_en, number_in_ref or None for a control)."""
    n = r.randint(12, 95)
    yield ("scale_hyphen", "fr", f"Le plan de {n} millions d'euros a été adopté mardi.",
           f"The {n}-million-euro plan was adopted on Tuesday.", str(n))
    m = r.randint(2, 9) * 100
    yield ("currency_abbr", "fr", f"Le contrat porte sur {m} Md$ selon le ministère.",
           f"The contract is worth ${m} billion, according to the ministry.", str(m))
    a, b = r.randint(100, 999), r.randint(100, 999)
    yield ("digit_groups", "fr", f"Pour plus d'informations, appelez le {a} {b} avant midi.",
           f"For more information, call {a} {b} before noon.", f"{a} {b}")
    g = [f"0{r.randint(100, 999)}", str(r.randint(100, 999)), str(r.randint(100, 999))]
    yield ("phone", "fr", f"Le numéro d'urgence est le {' '.join(g)}, ouvert jour et nuit.",
           f"The emergency number is {' '.join(g)}, open day and night.", g[1])
    u = r.randint(1, 9)
    yield ("ar_teen", "ar", f"أصيب {_AR_UNITS[u]} عشر شخصا في الحادث.",
           f"{10 + u} people were injured in the accident.", str(10 + u))
    u2, tens = r.randint(1, 9), r.choice([20, 30])
    if not (tens == 30 and u2 > 1):
        yield ("ar_ordinal", "ar", f"وقع الهجوم في {_AR_ORD[u2]} و{_AR_TENS[tens]} من مارس.",
               f"The attack took place on March {tens + u2}.", str(tens + u2))
    fu = r.randint(1, 9)
    tens_fr = r.choice([70, 90])
    word = f"{_FR_TENS[tens_fr][:-4]}-{_FR_UNITS[fu]}" if fu > 1 else f"{_FR_TENS[tens_fr][:-4]} et onze"
    if tens_fr == 90:
        word = f"quatre-vingt-{_FR_UNITS[fu]}" if fu > 1 else "quatre-vingt-onze"
    yield ("fr_compound", "fr", f"Au total, {word} personnes ont été évacuées.",
           f"In total, {tens_fr + fu} people were evacuated.", str(tens_fr + fu))
    h = r.randint(2, 9)
    yield ("half", "fr", f"Le projet coûtera {h} millions et demi d'euros.",
           f"The project will cost {h}.5 million euros.", f"{h}.5")
    yield ("half_ar", "ar", "خصصت الحكومة مليونين ونصف دولار للمشروع.",
           "The government allocated 2.5 million dollars to the project.", "2.5")
    y, km = r.randint(1990, 2020), r.randint(20, 90)
    yield ("roles_year_km", "fr", f"L'ouragan Zeta ({y}) s'est arrêté à {km} km de la côte.",
           f"Hurricane Zeta ({y}) stopped {round(km * 0.621)} miles from the coast.", None)
    d1, d2 = r.randint(10, 99), r.randint(100, 999)
    yield ("control_money_range", "fr", f"Entre {d1} et {d2} millions de dollars ont été levés en {y}.",
           f"Between ${d1} million and ${d2} million was raised in {y}.", None)
    yield ("control_phone_year", "fr", f"Appelez le 0{d2} {d2} {d1}{d1} depuis {y}.",
           f"Call 0{d2} {d2} {d1}{d1} since {y}.", None)
    yield ("control_scale", "fr", f"Un budget de {d1} millions de dollars et {d2} 000 livres.",
           f"A ${d1}-million budget and £{d2} 000.", None)


def _damage(ref: str, number: str, r: random.Random) -> tuple[str, dict]:
    start = ref.index(number)
    tag = "<>" if " " in number else r.choice(_TAGS)
    if tag == "<>" and " " in number:
        head, _, tail = number.partition(" ")
        corrupted = f"<> {tail}"
    elif tag == "<>" and "." in number:
        corrupted = number.split(".")[0] + ".<>"
    else:
        corrupted = tag
    kind = "angle_placeholder" if "<>" in corrupted else "leaked_tag"
    return (ref[:start] + corrupted + ref[start + len(number):],
            {"kind": kind, "original": number, "corrupted": corrupted, "ref_start": start})


def generate(n: int = 20, seed: int = 15) -> list[dict]:
    """Cases in translate_numbers/dev.jsonl's schema, ids `gen:<family>:<i>[:title]`."""
    r = random.Random(seed)
    out = []
    for i in range(n):
        for family, lang, src, ref, number in _families(r):
            case = {"id": f"gen:{family}:{i:03d}", "dataset": "generated", "src_lang": lang,
                    "src_variant": "original", "variant_of": None, "src": src, "ref_en": ref,
                    "corrupted_en": ref, "corruptions": [], "field": "body"}
            if number is not None:
                case["corrupted_en"], cor = _damage(ref, number, r)
                case["corruptions"] = [cor]
            elif family.startswith("roles"):
                # Both numbers lost: the year is recoverable, the miles are not in the source.
                miles = str(round(int(ref.split("stopped ")[1].split()[0])))
                year = ref.split("(")[1][:4]
                cors = [{"kind": "leaked_tag", "original": year, "corrupted": "__NUM_1__",
                         "ref_start": ref.index(year)},
                        {"kind": "leaked_tag", "original": miles, "corrupted": "__NUM_2__",
                         "ref_start": ref.index("stopped ") + 8}]
                case["corrupted_en"] = ref.replace(f"({year})", "(__NUM_1__)").replace(
                    f"stopped {miles}", "stopped __NUM_2__")
                case["corruptions"] = cors
            if i % 3 == 2:
                case["id"] += ":title"
                case["field"] = "title"
            out.append(case)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=20)
    args = ap.parse_args(argv)
    for case in generate(args.n):
        sys.stdout.write(json.dumps(case, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
