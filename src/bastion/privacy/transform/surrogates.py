"""Realistic stand-in values, deterministic under a key and shaped like the original.

The seed of each surrogate is ``HMAC(surrogate key, normalized original)``, so the
same original always gets the same surrogate under one key, in any process or run.
Numbers that could be real (SSNs, card numbers) are made invalid on purpose: a
surrogate SSN has area 9xx with group 00 (never issued as SSN or ITIN) and a
surrogate card number fails the Luhn check.  E-mails use the reserved
``example.*`` domains, IP addresses the documentation ranges.
"""

from __future__ import annotations

import random
import string
import threading
from collections.abc import Callable

from faker import Faker

from bastion.privacy.transform.dates import parse_date
from bastion.privacy.transform.generalize import SAFE_HARBOR_AGE_LIMIT, parse_age

Generator = Callable[[str, random.Random, Faker], str]


_LOCAL = threading.local()


def _faker() -> Faker:
    """One Faker per thread: re-seeding a shared instance would race between threads."""
    fake: Faker | None = getattr(_LOCAL, "faker", None)
    if fake is None:
        fake = Faker("en_US")
        _LOCAL.faker = fake
    return fake


def shares_token(original: str, candidate: str) -> bool:
    """True when a surrogate repeats a word of the original (e.g. keeps the first name)."""
    words = {word.casefold() for word in original.split() if len(word) > 1}
    return any(word.casefold() in words for word in candidate.split())


def surrogate(original: str, entity_type: str, seed: bytes) -> str:
    """A surrogate for ``original`` drawn deterministically from ``seed``."""
    number = int.from_bytes(seed[:16], "big")
    rng = random.Random(number)
    fake = _faker()
    fake.seed_instance(number)
    generator = _GENERATORS.get(entity_type, _shape)
    return generator(original, rng, fake)


def _shape(original: str, rng: random.Random, _fake: Faker) -> str:
    """Same length and character classes: digits stay digits, letters keep their case."""
    out = []
    for ch in original:
        if ch.isdigit():
            out.append(rng.choice(string.digits))
        elif ch.isupper():
            out.append(rng.choice(string.ascii_uppercase))
        elif ch.isalpha():
            out.append(rng.choice(string.ascii_lowercase))
        else:
            out.append(ch)
    return "".join(out)


def _match_case(original: str, value: str) -> str:
    letters = [ch for ch in original if ch.isalpha()]
    if len(letters) > 1 and all(ch.isupper() for ch in letters):
        return value.upper()
    if letters and all(ch.islower() for ch in letters):
        return value.lower()
    return value


def _person(original: str, _rng: random.Random, fake: Faker) -> str:
    tokens = original.split()
    if len(tokens) <= 1:
        value = fake.last_name()
    elif len(tokens) == 2:
        value = f"{fake.first_name()} {fake.last_name()}"
    else:
        middle = " ".join(fake.first_name() for _ in tokens[1:-1])
        value = f"{fake.first_name()} {middle} {fake.last_name()}"
    return _match_case(original, value)


def _age(original: str, rng: random.Random, fake: Faker) -> str:
    age = parse_age(original)
    if age is None:
        return _shape(original, rng, fake)
    if age > SAFE_HARBOR_AGE_LIMIT:
        return f"{SAFE_HARBOR_AGE_LIMIT + 1}+"
    low = int(age) // 10 * 10
    choices = [n for n in range(low, low + 10) if n != int(age)]
    return str(rng.choice(choices))


def _digits_like(original: str, rng: random.Random, first_nonzero_after_plus: bool) -> str:
    out, seen_digit, in_country_code = [], False, original.lstrip().startswith("+")
    for ch in original:
        if ch.isdigit():
            if in_country_code:
                out.append(ch)
                continue
            choices = "23456789" if not seen_digit and first_nonzero_after_plus else string.digits
            out.append(rng.choice(choices))
            seen_digit = True
        elif ch.isalpha():  # vanity numbers such as 1-800-FLOWERS
            out.append(rng.choice(string.ascii_uppercase))
        else:
            if in_country_code and out and out[-1].isdigit():
                in_country_code = False
            out.append(ch)
    return "".join(out)


def _phone(original: str, rng: random.Random, _fake: Faker) -> str:
    return _digits_like(original, rng, first_nonzero_after_plus=True)


def _ssn(original: str, rng: random.Random, _fake: Faker) -> str:
    digits = f"9{rng.randrange(100):02d}00{rng.randrange(1, 10000):04d}"
    out, index = [], 0
    for ch in original:
        if ch.isdigit() and index < len(digits):
            out.append(digits[index])
            index += 1
        elif not ch.isdigit():
            out.append(ch)
    if index < len(digits):  # the original was not 9 digits: emit the canonical form
        return f"{digits[:3]}-{digits[3:5]}-{digits[5:]}"
    return "".join(out)


def _luhn_invalid(original: str, rng: random.Random, _fake: Faker) -> str:
    shaped = _digits_like(original, rng, first_nonzero_after_plus=False)
    digits = [int(ch) for ch in shaped if ch.isdigit()]
    if not digits:
        return shaped
    total = 0
    for position, digit in enumerate(reversed(digits)):
        if position % 2 == 1:
            digit = digit * 2 - 9 if digit * 2 > 9 else digit * 2
        total += digit
    if total % 10 != 0:
        return shaped
    last = max(i for i, ch in enumerate(shaped) if ch.isdigit())
    return shaped[:last] + str((int(shaped[last]) + 1) % 10) + shaped[last + 1 :]


def _email(original: str, rng: random.Random, fake: Faker) -> str:
    user = fake.user_name()
    domain = rng.choice(("example.com", "example.org", "example.net"))
    return _match_case(original, f"{user}@{domain}")


def _ip(original: str, rng: random.Random, _fake: Faker) -> str:
    if ":" in original:
        return "2001:db8:" + ":".join(f"{rng.randrange(65536):x}" for _ in range(6))
    network = rng.choice(("192.0.2", "198.51.100", "203.0.113"))
    return f"{network}.{rng.randrange(1, 255)}"


def _url(original: str, _rng: random.Random, fake: Faker) -> str:
    scheme = "http://" if original.lower().startswith("http://") else "https://"
    return f"{scheme}{fake.domain_word()}.example/{fake.uri_path()}"


def _domain(_original: str, _rng: random.Random, fake: Faker) -> str:
    return f"{fake.domain_word()}.example"


def _date(original: str, rng: random.Random, fake: Faker) -> str:
    from datetime import timedelta

    parsed = parse_date(original)
    if parsed is None:
        return _shape(original, rng, fake)
    return parsed.render(parsed.value + timedelta(days=rng.randrange(-365, 366)))


def _fixed(method: str) -> Generator:
    def generate(original: str, _rng: random.Random, fake: Faker) -> str:
        return _match_case(original, str(getattr(fake, method)()))

    return generate


_GENERATORS: dict[str, Generator] = {
    "PERSON": _person,
    "AGE": _age,
    "PHONE_NUMBER": _phone,
    "FAX_NUMBER": _phone,
    "US_SSN": _ssn,
    "CREDIT_CARD": _luhn_invalid,
    "EMAIL_ADDRESS": _email,
    "IP_ADDRESS": _ip,
    "URL": _url,
    "DOMAIN_NAME": _domain,
    "DATE_TIME": _date,
    "DATE_OF_BIRTH": _date,
    "LOCATION": _fixed("city"),
    "GPE": _fixed("city"),
    "CITY": _fixed("city"),
    "STREET_ADDRESS": _fixed("street_address"),
    "ORGANIZATION": _fixed("company"),
}
