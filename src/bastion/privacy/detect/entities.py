"""Entity type names and how they map to the HIPAA Safe Harbor identifiers."""

from __future__ import annotations


def split_words(text: str) -> list[str]:
    return text.split()


#: Every entity type the built-in recognizers can report.
BUILTIN_ENTITIES: frozenset[str] = frozenset(
    split_words("""PERSON LOCATION STREET_ADDRESS ZIP_CODE DATE_TIME DATE_OF_BIRTH AGE EMAIL_ADDRESS
    PHONE_NUMBER FAX_NUMBER US_SSN US_ITIN US_DRIVER_LICENSE US_PASSPORT LICENSE_NUMBER
    CREDIT_CARD IBAN_CODE IP_ADDRESS MAC_ADDRESS URL DOMAIN_NAME MEDICAL_RECORD_NUMBER
    HEALTH_PLAN_ID ACCOUNT_NUMBER DEVICE_ID VEHICLE_ID BIOMETRIC_ID PHOTO ORGANIZATION NRP
    TITLE""")
)

#: The 18 Safe Harbor identifiers (45 CFR 164.514(b)(2)) and the entity types covering them.
SAFE_HARBOR: dict[str, tuple[str, ...]] = {
    "names": ("PERSON",),
    "geographic subdivisions smaller than a state": ("STREET_ADDRESS", "LOCATION", "ZIP_CODE"),
    "dates (except year) and ages over 89": ("DATE_TIME", "DATE_OF_BIRTH", "AGE"),
    "telephone numbers": ("PHONE_NUMBER",),
    "fax numbers": ("FAX_NUMBER",),
    "e-mail addresses": ("EMAIL_ADDRESS",),
    "social security numbers": ("US_SSN", "US_ITIN"),
    "medical record numbers": ("MEDICAL_RECORD_NUMBER",),
    "health plan beneficiary numbers": ("HEALTH_PLAN_ID",),
    "account numbers": ("ACCOUNT_NUMBER", "CREDIT_CARD", "IBAN_CODE"),
    "certificate/license numbers": ("LICENSE_NUMBER", "US_DRIVER_LICENSE", "US_PASSPORT"),
    "vehicle identifiers and serial numbers, including license plates": ("VEHICLE_ID",),
    "device identifiers and serial numbers": ("DEVICE_ID",),
    "web URLs": ("URL", "DOMAIN_NAME"),
    "IP addresses": ("IP_ADDRESS", "MAC_ADDRESS"),
    "biometric identifiers": ("BIOMETRIC_ID",),
    "full-face photographs and comparable images": ("PHOTO",),
    "any other unique identifying number, characteristic, or code": ("DEVICE_ID",),
}
