"""What `newsnorm models install NAME` can install: the catalog of known models.

Owns: for each catalog name, where its files come from, how it is converted, its languages and
licence, and the golden sentence its install records (and every load re-checks).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class CatalogEntry:
    name: str
    kind: str  # "opus-mt" (Marian zip -> OpusMTConverter), "nllb" (HF -> TransformersConverter), "test"
    source_langs: tuple[str, ...]
    description: str
    licence: str
    url: str = ""          # Marian release zip (opus-mt) or Hugging Face model id (nllb)
    version: str = ""
    golden_source: str = ""
    golden_lang: str = ""
    lang_codes: dict = field(default_factory=dict)
    target_code: str = ""
    needs: str = ""        # optional extra needed for conversion


def _opus_mt(lang: str, language: str, release: str, golden: str) -> CatalogEntry:
    """An OPUS-MT Marian model from the Helsinki-NLP object store (release = its zip's date)."""
    return CatalogEntry(
        f"opus-mt-{lang}-en", "opus-mt", (lang,),
        f"Helsinki-NLP OPUS-MT {language}->English (Marian)", "CC-BY-4.0",
        url=f"https://object.pouta.csc.fi/OPUS-MT-models/{lang}-en/{release}.zip",
        version=release, golden_source=golden, golden_lang=lang)


CATALOG: dict[str, CatalogEntry] = {e.name: e for e in (
    _opus_mt("ar", "Arabic", "opus-2019-12-18", "قال الوزير إن 30 شخصا أصيبوا في الحادث."),
    _opus_mt("fr", "French", "opus-2020-02-26",
             "Le ministre a déclaré que 30 personnes ont été blessées."),
    CatalogEntry(
        "nllb-200-distilled-600M", "nllb", ("ar", "fr"),
        "Meta NLLB-200 distilled 600M, multilingual (converted with TransformersConverter)",
        "CC-BY-NC-4.0 (non-commercial)", url="facebook/nllb-200-distilled-600M", version="1.0",
        golden_source="Le ministre a déclaré que 30 personnes ont été blessées.", golden_lang="fr",
        lang_codes={"ar": "arb_Arab", "fr": "fra_Latn"}, target_code="eng_Latn",
        needs="convert"),
    CatalogEntry(
        "tiny-test", "test", ("ar", "fr"),
        "TEST MODEL built offline in ~1 s: copies its input, NOT a translation",
        "CC0 (generated)", version="1.0.0"),
)}
