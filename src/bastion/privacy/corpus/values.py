"""Faker-backed value makers: each returns (text, entity type or None) pieces."""

from __future__ import annotations

import functools
import random
import string
from collections.abc import Callable
from datetime import date, datetime, timedelta

from faker import Faker

Piece = tuple[str, str | None]
# Dates are drawn relative to a fixed day, not "today": the corpus must be the
# same whichever day (or microsecond) it is generated on.
ANCHOR_DATE = date(2026, 1, 1)
ANCHOR_MOMENT = datetime(2026, 1, 1, 0, 0, 0)

Maker = Callable[[Faker, Faker, random.Random], list[Piece]]

HONORIFICS = ("Dr.", "Mr.", "Mrs.", "Ms.", "Prof.", "Dr", "Mr", "Mrs", "Ms")
NRP = (
    "Catholic",
    "Muslim",
    "Jewish",
    "Hindu",
    "Buddhist",
    "Mexican",
    "Irish",
    "Korean",
    "Nigerian",
    "Brazilian",
    "Polish",
    "Vietnamese",
    "Democrat",
    "Republican",
    "Italian",
    "Filipino",
    "Haitian",
    "Ethiopian",
    "Lutheran",
    "Sikh",
)


def _name(f: Faker, us: Faker, r: random.Random) -> list[Piece]:
    first, last = f.first_name(), f.last_name()
    shape = r.random()
    if shape < 0.55:
        return [(f"{first} {last}", "PERSON")]
    if shape < 0.7:
        return [(f"{first} {r.choice(string.ascii_uppercase)}. {last}", "PERSON")]
    if shape < 0.8:
        return [(first, "PERSON")]
    if shape < 0.9:
        return [(r.choice(HONORIFICS), "TITLE"), (" ", None), (last, "PERSON")]
    return [(r.choice(HONORIFICS), "TITLE"), (" ", None), (f"{first} {last}", "PERSON")]


def _doctor(f: Faker, us: Faker, r: random.Random) -> list[Piece]:
    name = f"{f.first_name()} {f.last_name()}" if r.random() < 0.6 else f.last_name()
    return [("Dr.", "TITLE"), (" ", None), (name, "PERSON")]


def _date(f: Faker, us: Faker, r: random.Random) -> list[Piece]:
    d = ANCHOR_DATE - timedelta(days=f.random.randint(-365, 30 * 365))
    fmt = r.choice(
        [
            "%m/%d/%Y",
            "%Y-%m-%d",
            "%B %d, %Y",
            "%d %B %Y",
            "%b %d",
            "%m/%d/%y",
            "%d.%m.%Y",
            "%B %Y",
            "%A, %B %d",
        ]
    )
    return [(d.strftime(fmt), "DATE_TIME")]


def _dob(f: Faker, us: Faker, r: random.Random) -> list[Piece]:
    d = ANCHOR_DATE - timedelta(days=f.random.randint(365, 95 * 365))
    return [
        (d.strftime(r.choice(["%m/%d/%Y", "%Y-%m-%d", "%B %d, %Y", "%d %b %Y"])), "DATE_OF_BIRTH")
    ]


def _time(f: Faker, us: Faker, r: random.Random) -> list[Piece]:
    t = ANCHOR_MOMENT - timedelta(seconds=f.random.randint(0, 50 * 365 * 86400))
    return [
        (t.strftime(r.choice(["%H:%M", "%I:%M %p", "%H:%M:%S", "%I %p"])).lstrip("0"), "DATE_TIME")
    ]


def _datetime(f: Faker, us: Faker, r: random.Random) -> list[Piece]:
    t = ANCHOR_MOMENT - timedelta(seconds=f.random.randint(0, 3 * 365 * 86400))
    return [
        (
            t.strftime(r.choice(["%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%d %H:%M"])),
            "DATE_TIME",
        )
    ]


def _age(f: Faker, us: Faker, r: random.Random) -> list[Piece]:
    return [(str(r.choice([r.randint(18, 89), r.randint(1, 17), r.randint(90, 104)])), "AGE")]


def _phone(f: Faker, us: Faker, r: random.Random) -> list[Piece]:
    return [(f.phone_number(), "PHONE_NUMBER")]


def _us_phone(f: Faker, us: Faker, r: random.Random) -> list[Piece]:
    return [(us.phone_number(), "PHONE_NUMBER")]


def _drivers_license(f: Faker, us: Faker, r: random.Random) -> list[Piece]:
    shapes = ["?#######", "?########", "##########", "??######", "?###-####-####", "#########"]
    return [(f.bothify(r.choice(shapes)).upper(), "US_DRIVER_LICENSE")]


def _mrn(f: Faker, us: Faker, r: random.Random) -> list[Piece]:
    return [
        (
            f.bothify(r.choice(["########", "MRN-######", "#######", "??#######"])).upper(),
            "MEDICAL_RECORD_NUMBER",
        )
    ]


def _plan(f: Faker, us: Faker, r: random.Random) -> list[Piece]:
    return [
        (
            f.bothify(r.choice(["???#########", "#########-##", "??-########"])).upper(),
            "HEALTH_PLAN_ID",
        )
    ]


def _account(f: Faker, us: Faker, r: random.Random) -> list[Piece]:
    return [
        (
            r.choice([f.bban(), f.numerify("##########"), f.numerify("####-####-####")]),
            "ACCOUNT_NUMBER",
        )
    ]


def _device(f: Faker, us: Faker, r: random.Random) -> list[Piece]:
    return [
        (
            f.bothify(
                r.choice(["??-#######", "SN########", "???-####-####", "#####??###"])
            ).upper(),
            "DEVICE_ID",
        )
    ]


def _vin(f: Faker, us: Faker, r: random.Random) -> list[Piece]:
    alphabet = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
    values = {
        **{str(d): d for d in range(10)},
        **dict(zip("ABCDEFGH", range(1, 9), strict=True)),
        **dict(zip("JKLMN", range(1, 6), strict=True)),
        "P": 7,
        "R": 9,
        **dict(zip("STUVWXYZ", range(2, 10), strict=True)),
    }
    weights = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)
    chars = [r.choice(alphabet) for _ in range(17)]
    chars[0] = r.choice("123456789")
    total = sum(values[c] * w for c, w in zip(chars, weights, strict=True))
    chars[8] = "X" if total % 11 == 10 else str(total % 11)
    return [("".join(chars), "VEHICLE_ID")]


def _plate(f: Faker, us: Faker, r: random.Random) -> list[Piece]:
    return [
        (us.bothify(r.choice(["???-####", "#??-###", "### ???", "?##-???"])).upper(), "VEHICLE_ID")
    ]


def _ssn_lookalike(f: Faker, us: Faker, r: random.Random) -> list[Piece]:
    """Hard negative: SSN shape that fails SSA rules (area 000/666/9xx or group 00)."""
    area = r.choice(["000", "666", f"9{r.randint(0, 99):02d}"])
    return [(f"{area}-{r.randint(10, 49):02d}-{r.randint(1, 9999):04d}", None)]


def _bad_card(f: Faker, us: Faker, r: random.Random) -> list[Piece]:
    """Hard negative: 16 digits failing the Luhn check."""
    number = us.credit_card_number(card_type="visa16")
    last = str((int(number[-1]) + 1) % 10)
    return [(number[:-1] + last, None)]


def _zip(f: Faker, us: Faker, r: random.Random) -> list[Piece]:
    return [(us.postcode(), "ZIP_CODE")]


def simple(method: str, entity: str) -> Maker:
    def make(f: Faker, us: Faker, r: random.Random) -> list[Piece]:
        return [(str(getattr(f, method)()), entity)]

    return make


def _nrp(f: Faker, us: Faker, r: random.Random) -> list[Piece]:
    return [(r.choice(NRP), "NRP")]


def _full_address(f: Faker, us: Faker, r: random.Random) -> list[Piece]:
    return [(us.address().replace("\n", r.choice([", ", "\n"])), "STREET_ADDRESS")]


def _street(f: Faker, us: Faker, r: random.Random) -> list[Piece]:
    return [(us.street_address(), "STREET_ADDRESS")]


@functools.cache
def _sorted_cities(locale: str, cities: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(sorted(cities))


def _city(f: Faker, us: Faker, r: random.Random) -> list[Piece]:
    # Some Faker locales (it_IT) build their city list from a set, so its order,
    # and with it f.city(), changes from process to process; sort it first.
    providers = [p for p in f.providers if isinstance(getattr(p, "cities", None), list | tuple)]
    cities = providers[0].cities if providers else None
    if cities:
        ordered = _sorted_cities(str(f.locales[0]), tuple(cities))
        return [(ordered[f.random.randrange(len(ordered))], "LOCATION")]
    return [(f.city(), "LOCATION")]


def _us_city_state(f: Faker, us: Faker, r: random.Random) -> list[Piece]:
    return [
        (us.city(), "LOCATION"),
        (", ", None),
        (us.state_abbr() if r.random() < 0.5 else us.state(), "LOCATION"),
    ]


MAKERS: dict[str, Maker] = {
    "NAME": _name,
    "DOCTOR": _doctor,
    "FIRST": simple("first_name", "PERSON"),
    "DATE": _date,
    "DOB": _dob,
    "TIME": _time,
    "DATETIME": _datetime,
    "AGE": _age,
    "PHONE": _phone,
    "USPHONE": _us_phone,
    "FAX": lambda f, us, r: [(us.phone_number(), "FAX_NUMBER")],
    "EMAIL": simple("email", "EMAIL_ADDRESS"),
    "SSN": lambda f, us, r: [(us.ssn(), "US_SSN")],
    "ITIN": lambda f, us, r: [(us.itin(), "US_ITIN")],
    "DL": _drivers_license,
    "PASSPORT": lambda f, us, r: [(us.passport_number(), "US_PASSPORT")],
    "CARD": lambda f, us, r: [(us.credit_card_number(), "CREDIT_CARD")],
    "IBAN": simple("iban", "IBAN_CODE"),
    "IPV4": simple("ipv4", "IP_ADDRESS"),
    "IPV6": simple("ipv6", "IP_ADDRESS"),
    "MAC": simple("mac_address", "MAC_ADDRESS"),
    "URL": simple("url", "URL"),
    "DOMAIN": simple("domain_name", "DOMAIN_NAME"),
    "MRN": _mrn,
    "PLAN": _plan,
    "ACCOUNT": _account,
    "DEVICE": _device,
    "VIN": _vin,
    "PLATE": _plate,
    "CITY": _city,
    "COUNTRY": simple("country", "LOCATION"),
    "CITYSTATE": _us_city_state,
    "ADDRESS": _full_address,
    "STREET": _street,
    "ZIP": _zip,
    "COMPANY": simple("company", "ORGANIZATION"),
    "NRP": _nrp,
    "SSN_FAKE": _ssn_lookalike,
    "BADCARD": _bad_card,
}
