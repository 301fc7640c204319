"""Regenerate ``src/medmine/privacy/phi_text/data/clinical_lexicon.csv``: the medical words of
the recall-first scrubber's allow-list beyond English (wordfreq) and the hand-made clinical
terms, so that a rare clinical word ("intertrochanteric", "Xarelto") is not mistaken for a
name or an identifier.

Sources (both MIT-licensed, dev dependencies only; the scrubber reads the text file):

- ICD-10-CM descriptions (`simple-icd-10-cm`, CMS code set) - diseases, findings, anatomy;
- drug names, generic and brand, with their variants (`drug-named-entity-recognition`:
  MeSH, DrugBank, MedlinePlus, NHS and Wikipedia names).

Left out: words already in the English list, words of two letters or fewer, every census
first name and surname (a brand such as "Allegra" stays a possible name) and every word of a
US place name (GeoNames list shipped with the scrubber: "Lyme", "Norwalk" stay places).

    .venv/bin/python bench/phi_text_lexicon.py
"""

from __future__ import annotations

import bz2
import importlib.resources
import pickle
import re
from pathlib import Path

from medmine.privacy.phi_text import _vocab

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "src" / "medmine" / "privacy" / "phi_text" / "data" / "clinical_lexicon.csv"
_WORD = re.compile(r"[a-z]+")


def icd_words() -> set[str]:
    """Lower-case words of every ICD-10-CM code description."""
    import simple_icd_10_cm as icd

    return {w for c in icd.get_all_codes() for w in _WORD.findall(icd.get_description(c).lower())}


def drug_words() -> set[str]:
    """Lower-case words of every drug name variant (generic and brand)."""
    pkg = importlib.resources.files("drug_named_entity_recognition")
    data = pickle.loads(bz2.decompress((pkg / "drug_ner_dictionary.pkl.bz2").read_bytes()))
    return {w for name in data["drug_variant_to_canonical"] for w in _WORD.findall(name.lower())}


def place_words() -> set[str]:
    """Lower-case words of the shipped US place names."""
    path = importlib.resources.files("medmine.privacy.phi_text") / "data" / "us_places.csv"
    return set(_WORD.findall(path.read_text(encoding="utf-8").lower()))


def main() -> None:
    """Write the lexicon (one word a line, sorted, with a header naming the sources)."""
    words = icd_words() | drug_words()
    drop = _vocab.english() | _vocab.all_names() | place_words()
    keep = sorted(w for w in words if len(w) >= 3 and w not in drop)
    header = [
        "# Medical words beyond English for the recall-first allow-list",
        "# (made by bench/phi_text_lexicon.py).",
        "# Sources: ICD-10-CM descriptions (simple-icd-10-cm, MIT) and drug names, generic and",
        "# brand (drug-named-entity-recognition, MIT). Census names and US place words left out.",
        "word",
    ]
    OUT.write_text("\n".join(header + keep) + "\n", encoding="utf-8")
    print(f"{len(keep):,} words -> {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
