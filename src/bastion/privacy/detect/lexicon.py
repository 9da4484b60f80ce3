"""Bundled word lists (derived from Faker's locale providers) loaded once, lazily."""

from __future__ import annotations

from functools import cache
from importlib import resources


def split_words(text: str) -> list[str]:
    """Whitespace-separated words of a literal block (keeps long lists readable)."""
    return text.split()


#: Words that are capitalised often but are almost never a name on their own.
FUNCTION_WORDS = frozenset(
    split_words(
        """a about above after again against all also am an and any are as at be because been
    before being below between both but by can could did do does doing down during each few
    for from further had has have having he her here hers herself him himself his how i if in
    into is it its itself just me more most my myself no nor not now of off on once only or
    other our ours out over own same she should so some such than that the their theirs them
    then there these they this those through to too under until up very was we were what when
    where which while who whom why will with would you your yours yes ok okay please thanks
    thank hi hello hey dear regards best sincerely cheers note notes re fw fwd subject
    patient patients client customer user admin doctor nurse team support staff hospital clinic
    name names date time today tomorrow yesterday tonight morning evening afternoon night
    monday tuesday wednesday thursday friday saturday sunday january february march april may
    june july august september october november december jan feb mar apr jun jul aug sep sept
    oct nov dec week month year day days hours minutes history exam plan assessment diagnosis
    follow followup discharge admitted admission chief complaint medications medication allergies
    vitals labs impression error warning info debug trace fatal critical ticket issue order
    account phone email address street city state zip country mr mrs ms dr prof sir madam
    new old good great big small high low first last next north south east west central upper
    lower general american english"""
    )
)

HONORIFICS = frozenset(
    split_words(
        """mr mrs ms miss mx dr prof professor sir dame lady lord rev fr sr sra srta herr frau
    mme mlle m mister madam madame dott sig capt lt col sgt maj gen hon judge nurse"""
    )
)

MONTHS = split_words(
    "january february march april may june july august september october november december"
)


def _read(name: str) -> list[str]:
    text = resources.files("bastion.privacy.detect").joinpath("data", name).read_text("utf-8")
    return [line for line in text.splitlines() if line]


@cache
def first_names() -> frozenset[str]:
    """Given names, lower-cased."""
    return frozenset(w.lower() for w in _read("first_names.txt"))


@cache
def last_names() -> frozenset[str]:
    """Family names, lower-cased."""
    return frozenset(w.lower() for w in _read("last_names.txt"))


@cache
def common_words() -> frozenset[str]:
    """Everyday English words: a name-list hit on one of these needs more evidence."""
    return frozenset(_read("common_words.txt")) | FUNCTION_WORDS


@cache
def places() -> dict[str, str]:
    """Lower-cased place name → kind (city, state, country), longest phrases included."""
    table: dict[str, str] = {}
    for kind, name in (
        ("city", "cities.txt"),
        ("state", "states.txt"),
        ("country", "countries.txt"),
    ):
        for value in _read(name):
            table.setdefault(value.lower(), kind)
    for value in US_STATES:
        table[value.lower()] = "state"
    for value in MAJOR_CITIES:
        table[value.lower()] = "city"
    return table


@cache
def place_max_words() -> int:
    """Longest place name in words, bounding the phrase look-up."""
    return min(5, max(len(k.split()) for k in places()))


@cache
def street_suffixes() -> frozenset[str]:
    """Street kinds ("Street", "Ave", "Way"), lower-cased."""
    extra = split_words(
        "st ave rd blvd ln dr ct pl sq hwy pkwy ter cir trl way road lane drive court"
    )
    return frozenset(w.lower() for w in _read("street_suffixes.txt")) | frozenset(extra)


@cache
def city_suffixes() -> tuple[str, ...]:
    """Endings typical of town names ("-ville", "-borough"), at least three letters."""
    return tuple(
        sorted(
            {
                w.lower()
                for w in _read("city_affixes.txt")
                if w.isalpha() and w.islower() and len(w) >= 3
            },
            key=len,
            reverse=True,
        )
    )


@cache
def city_suffix_set() -> frozenset[str]:
    """``city_suffixes`` as a set, for one look-up per candidate length."""
    return frozenset(city_suffixes())


@cache
def city_suffix_lengths() -> tuple[int, ...]:
    """Distinct suffix lengths, longest first."""
    return tuple(sorted({len(s) for s in city_suffixes()}, reverse=True))


@cache
def city_prefixes() -> frozenset[str]:
    """Leading words of town names ("Port", "Lake", "New")."""
    return frozenset(
        w.lower() for w in _read("city_affixes.txt") if w[:1].isupper() and w.isalpha()
    )


@cache
def company_suffixes() -> frozenset[str]:
    """Legal-form endings of organisation names, lower-cased, without dots."""
    extra = split_words(
        """inc incorporated llc ltd limited corp corporation co company plc gmbh ag sa
    group holdings partners associates bank university college hospital clinic foundation
    institute ministry agency department laboratories labs systems technologies solutions"""
    )
    return frozenset(w.lower().strip(".,") for w in _read("company_suffixes.txt")) | frozenset(
        extra
    )


@cache
def jobs() -> frozenset[str]:
    """Job titles, lower-cased."""
    return frozenset(w.lower() for w in _read("jobs.txt"))


@cache
def tlds() -> frozenset[str]:
    """Top-level domains accepted for bare domain names."""
    extra = split_words(
        """com org net edu gov mil int io co ai app dev info biz us uk de fr es it nl be ch
    at se no dk fi pl cz ru cn jp kr in au nz ca br mx ar eu me tv cc ly ie pt gr tr za"""
    )
    return frozenset(_read("tlds.txt")) | frozenset(extra)


US_STATES = [
    *split_words(
        "Alabama Alaska Arizona Arkansas California Colorado Connecticut Delaware Florida Georgia "
        "Hawaii Idaho Illinois Indiana Iowa Kansas Kentucky Louisiana Maine Maryland Massachusetts "
        "Michigan Minnesota Mississippi Missouri Montana Nebraska Nevada Ohio Oklahoma Oregon "
        "Pennsylvania Tennessee Texas Utah Vermont Virginia Washington Wisconsin Wyoming"
    ),
    "New Hampshire",
    "New Jersey",
    "New Mexico",
    "New York",
    "North Carolina",
    "North Dakota",
    "Rhode Island",
    "South Carolina",
    "South Dakota",
    "West Virginia",
    "District of Columbia",
    "Puerto Rico",
]

US_STATE_ABBR = frozenset(
    split_words(
        """AL AK AZ AR CA CO CT DE FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ
    NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY DC PR GU VI AS MP AA AE AP"""
    )
)

NRP_WORDS = frozenset(
    split_words(
        """american americans african asian european hispanic latino latina latinx caucasian
    mexican canadian british english scottish irish welsh french german italian spanish
    portuguese dutch belgian swiss austrian swedish norwegian danish finnish polish czech
    slovak hungarian romanian bulgarian greek turkish russian ukrainian belarusian serbian
    croatian bosnian albanian lithuanian latvian estonian icelandic chinese japanese korean
    vietnamese thai filipino indonesian malaysian indian pakistani bangladeshi nepali
    sri lankan afghan iranian iraqi syrian lebanese jordanian israeli palestinian saudi
    egyptian moroccan algerian tunisian libyan nigerian ghanaian kenyan ethiopian somali
    sudanese ugandan tanzanian rwandan congolese angolan zimbabwean zambian brazilian
    argentine argentinian chilean colombian peruvian venezuelan ecuadorian bolivian
    uruguayan paraguayan cuban haitian dominican jamaican puerto rican guatemalan
    honduran salvadoran nicaraguan costa rican panamanian australian kiwi arab arabic
    jewish christian christians catholic catholics protestant protestants muslim muslims
    islamic hindu hindus buddhist buddhists sikh sikhs mormon mormons baptist methodist
    lutheran presbyterian evangelical orthodox atheist agnostic democrat democrats
    republican republicans democratic libertarian socialist socialists communist
    communists conservative conservatives liberal liberals labour tory tories"""
    )
)

#: Large cities missing from Faker's locale lists (which hold many small towns).
_MAJOR_CITIES = (
    "New York City|Los Angeles|Chicago|Houston|Phoenix|Philadelphia|San Antonio|San Diego|Dallas|"
    "San Jose|Austin|Jacksonville|Fort Worth|Columbus|Charlotte|San Francisco|Indianapolis|"
    "Seattle|Denver|Boston|El Paso|Nashville|Detroit|Oklahoma City|Portland|Las Vegas|Memphis|"
    "Louisville|Baltimore|Milwaukee|Albuquerque|Tucson|Fresno|Sacramento|Kansas City|Atlanta|"
    "Miami|Raleigh|Omaha|Minneapolis|Cleveland|Tulsa|Oakland|Tampa|New Orleans|Honolulu|"
    "Anchorage|Pittsburgh|Cincinnati|St. Louis|Salt Lake City|Orlando|Buffalo|Richmond|"
    "London|Paris|Berlin|Madrid|Rome|Lisbon|Dublin|Amsterdam|Brussels|Vienna|Zurich|Geneva|"
    "Prague|Warsaw|Budapest|Athens|Istanbul|Moscow|Stockholm|Oslo|Copenhagen|Helsinki|"
    "Toronto|Montreal|Vancouver|Ottawa|Calgary|Mexico City|Guadalajara|Bogota|Lima|Santiago|"
    "Buenos Aires|Sao Paulo|Rio de Janeiro|Caracas|Havana|Tokyo|Osaka|Beijing|Shanghai|"
    "Hong Kong|Singapore|Seoul|Bangkok|Manila|Jakarta|Mumbai|Delhi|New Delhi|Bangalore|Chennai|"
    "Kolkata|Karachi|Lahore|Dhaka|Dubai|Abu Dhabi|Riyadh|Tehran|Baghdad|Cairo|Lagos|Nairobi|"
    "Johannesburg|Cape Town|Casablanca|Sydney|Melbourne|Brisbane|Perth|Auckland|Wellington|"
    "Munich|Hamburg|Frankfurt|Milan|Naples|Barcelona|Valencia|Seville|Lyon|Marseille|Manchester|"
    "Birmingham|Liverpool|Glasgow|Edinburgh|Belfast|Cardiff|Krakow|Kyiv|Kiev|Bucharest|Sofia"
)
MAJOR_CITIES = tuple(_MAJOR_CITIES.split("|"))
