"""Regenerate the bundled word lists from Faker's locale providers.

Run ``python -m bastion.privacy.detect.lexicon_build`` after upgrading Faker.
The detector itself reads only the generated text files, so start-up never
imports Faker and never touches the network.
"""

from __future__ import annotations

import importlib
import pkgutil
import unicodedata
from collections.abc import Iterable
from pathlib import Path

DATA_DIR = Path(__file__).with_name("data")

#: Latin-script locales: the detector keys on capitalisation, which other scripts lack.
_SKIP_PREFIXES = (
    "ar_",
    "az_",
    "bg_",
    "bn_",
    "el_",
    "fa_",
    "gu_",
    "he_",
    "hi_",
    "hy_",
    "ja_",
    "ka_",
    "ko_",
    "mk_",
    "mr_",
    "ne_",
    "or_",
    "ru_",
    "si_",
    "ta_",
    "th_",
    "uk_",
    "zh_",
    "ka_",
)


def _latin(word: str) -> bool:
    return all(not ch.isalpha() or "LATIN" in unicodedata.name(ch, "") for ch in word) and any(
        ch.isalpha() for ch in word
    )


def _values(obj: object) -> Iterable[str]:
    if isinstance(obj, dict):
        yield from (k for k in obj if isinstance(k, str))
    elif isinstance(obj, (list, tuple, set, frozenset)):
        yield from (v for v in obj if isinstance(v, str))


def _collect(kind: str, attributes: tuple[str, ...]) -> set[str]:
    package = importlib.import_module(f"faker.providers.{kind}")
    found: set[str] = set()
    modules = [package] + [
        importlib.import_module(f"faker.providers.{kind}.{info.name}")
        for info in pkgutil.iter_modules(package.__path__)
        if not info.name.startswith(_SKIP_PREFIXES)
    ]
    for module in modules:
        provider = getattr(module, "Provider", None)
        for attribute in attributes:
            for value in _values(getattr(provider, attribute, None)):
                value = value.strip()
                if value and _latin(value):
                    found.add(value)
    return found


def _write(name: str, words: Iterable[str]) -> None:
    DATA_DIR.mkdir(exist_ok=True)
    lines = sorted({w for w in words if w})
    (DATA_DIR / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{name}: {len(lines)}")


def main() -> None:
    """Write first names, last names, places and common words into ``data/``."""
    first = _collect(
        "person", ("first_names", "first_names_male", "first_names_female", "first_names_nonbinary")
    )
    last = _collect("person", ("last_names", "last_names_male", "last_names_female"))
    _write("first_names.txt", (w for n in first for w in n.split() if len(w) > 1))
    _write("last_names.txt", (w for n in last for w in n.replace("-", " ").split() if len(w) > 1))
    _write("cities.txt", _collect("address", ("cities", "city_names", "big_cities")))
    _write("countries.txt", _collect("address", ("countries",)))
    states = _collect("address", ("states", "provinces", "regions"))
    _write("states.txt", (s for s in states if len(s) > 2))
    english = set()
    for locale in ("en_US", "en_GB", "en_AU", "en_CA", "en_NZ", "en_IE"):
        provider = importlib.import_module(f"faker.providers.address.{locale}").Provider
        english |= set(getattr(provider, "street_suffixes", ()))
    _write("street_suffixes.txt", english)
    _write("city_affixes.txt", _collect("address", ("city_prefixes", "city_suffixes")))
    _write("company_suffixes.txt", _collect("company", ("company_suffixes",)))
    english_jobs = importlib.import_module("faker.providers.job.en_US").Provider.jobs
    _write("jobs.txt", english_jobs)
    _write("tlds.txt", (t.lower() for t in _collect("internet", ("tlds",)) if t.isalpha()))
    lorem = importlib.import_module("faker.providers.lorem.en_US")
    _write("common_words.txt", (w.lower() for w in lorem.Provider.word_list))


if __name__ == "__main__":
    main()
