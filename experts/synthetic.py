"""A plausible synthetic roster, generated deterministically and written in bulk.

Used by the demo (``experts.demo``: a few hundred entries), the matching benchmark
(``bench/matching.py``: up to 100,000) and any larger data set. Entries have the
distributions a real peer-to-peer roster shows: EU member-state and partner-country
administrations, international organisations and academia; nationalities across regions;
a native language at C2 and second languages at every CEFR level; one to three thematic
areas with the skills that go with them (a pool of about 150); countries of experience
biased towards the expert's own region; short biographies; vetting mostly approved; a
quarter with unavailability periods.

Nothing here goes through the services: rows are written directly (``COPY`` on
PostgreSQL, ``bulk_create`` elsewhere), and ``search_document`` is filled exactly as
``services.refresh_search_document`` fills it. The same ``seed`` and ``start`` always give
the same entries, so a roster can grow in steps and stay reproducible.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.hashers import make_password
from django.db import connection, models
from django.utils import timezone

from actions.models import Skill
from cbportal.accounts.models import Organisation, Role, User
from cbportal.core.models import ThematicArea
from cbportal.core.reference_data import COUNTRIES, THEMATIC_AREAS
from experts.models import (
    AdministrationType,
    Deployment,
    DeploymentStatus,
    Expert,
    ExpertLanguage,
    Unavailability,
    VettingStatus,
)

# --- reference pools --------------------------------------------------------------------

# code: (name pool, native languages, weight)
EU_STATES: dict[str, tuple[str, tuple[str, ...], int]] = {
    "DE": ("de", ("de",), 10),
    "FR": ("fr", ("fr",), 10),
    "IT": ("it", ("it",), 8),
    "ES": ("es", ("es",), 8),
    "PL": ("cee", ("pl",), 5),
    "NL": ("nl", ("nl",), 5),
    "BE": ("fr", ("fr", "nl"), 4),
    "PT": ("pt", ("pt",), 4),
    "SE": ("nordic", ("sv",), 4),
    "AT": ("de", ("de",), 3),
    "GR": ("el", ("el",), 3),
    "CZ": ("cee", ("cs",), 3),
    "RO": ("cee", ("ro",), 3),
    "HU": ("cee", ("hu",), 2),
    "FI": ("nordic", ("fi",), 2),
    "DK": ("nordic", ("da",), 2),
    "IE": ("en", ("en",), 2),
    "BG": ("cee", ("bg",), 2),
    "SK": ("cee", ("sk",), 1),
    "HR": ("cee", ("hr",), 1),
    "SI": ("cee", ("sl",), 1),
    "LT": ("cee", ("lt",), 1),
    "LV": ("cee", ("lv",), 1),
    "EE": ("cee", ("et",), 1),
    "LU": ("fr", ("fr", "de"), 1),
    "MT": ("en", ("mt", "en"), 1),
    "CY": ("el", ("el",), 1),
}

PARTNER_COUNTRIES: dict[str, tuple[str, tuple[str, ...], int]] = {
    # Northern Africa
    "MA": ("ar", ("ar",), 5),
    "TN": ("ar", ("ar",), 5),
    "EG": ("ar", ("ar",), 4),
    "DZ": ("ar", ("ar",), 2),
    "LY": ("ar", ("ar",), 1),
    # West and Central Africa
    "SN": ("waf", ("wo", "fr"), 4),
    "CI": ("waf", ("fr",), 3),
    "NG": ("waf", ("en",), 4),
    "GH": ("waf", ("en",), 3),
    "ML": ("waf", ("fr",), 2),
    "NE": ("waf", ("fr",), 1),
    "BF": ("waf", ("fr",), 1),
    "GN": ("waf", ("fr",), 1),
    "GM": ("waf", ("en",), 1),
    "CM": ("waf", ("fr", "en"), 2),
    "CV": ("pt", ("pt",), 1),
    # East, Horn and Southern Africa
    "KE": ("eaf", ("sw", "en"), 4),
    "ET": ("eaf", ("am",), 3),
    "UG": ("eaf", ("en",), 2),
    "RW": ("eaf", ("rw", "fr", "en"), 2),
    "TZ": ("eaf", ("sw",), 1),
    "SO": ("eaf", ("so", "ar"), 1),
    "SD": ("ar", ("ar",), 1),
    "ZA": ("eaf", ("en",), 2),
    "ZW": ("eaf", ("en",), 1),
    "MZ": ("pt", ("pt",), 1),
    "AO": ("pt", ("pt",), 1),
    # Middle East
    "JO": ("ar", ("ar",), 3),
    "LB": ("ar", ("ar", "fr"), 2),
    "IQ": ("ar", ("ar",), 1),
    "TR": ("tr", ("tr",), 3),
    # Eastern neighbourhood and Western Balkans
    "GE": ("cau", ("ka",), 3),
    "AM": ("cau", ("hy",), 2),
    "AZ": ("cau", ("az",), 1),
    "MD": ("cee", ("ro",), 2),
    "UA": ("ru", ("uk", "ru"), 3),
    "AL": ("cee", ("sq",), 2),
    "RS": ("cee", ("sr",), 2),
    "BA": ("cee", ("bs",), 1),
    "MK": ("cee", ("mk",), 1),
    # Central Asia
    "KZ": ("ru", ("kk", "ru"), 2),
    "KG": ("ru", ("ky", "ru"), 1),
    "UZ": ("ru", ("uz", "ru"), 2),
    "TJ": ("ru", ("tg", "ru"), 1),
    # South and South-East Asia
    "PK": ("sas", ("ur",), 2),
    "BD": ("sas", ("bn",), 2),
    "LK": ("sas", ("si",), 1),
    "NP": ("sas", ("ne",), 1),
    "PH": ("sea", ("tl", "en"), 3),
    "ID": ("sea", ("id",), 2),
    "TH": ("sea", ("th",), 1),
    "VN": ("sea", ("vi",), 1),
    # Latin America and the Caribbean
    "MX": ("lat", ("es",), 4),
    "CO": ("lat", ("es",), 3),
    "EC": ("lat", ("es",), 2),
    "GT": ("lat", ("es",), 2),
    "HN": ("lat", ("es",), 1),
    "SV": ("lat", ("es",), 1),
    "CR": ("lat", ("es",), 2),
    "PE": ("lat", ("es",), 2),
    "AR": ("lat", ("es",), 2),
    "CL": ("lat", ("es",), 1),
    "DO": ("lat", ("es",), 1),
    "BR": ("pt", ("pt",), 3),
    "JM": ("en", ("en",), 1),
    "HT": ("waf", ("ht", "fr"), 1),
}

# Staff of international organisations and academics also come from elsewhere.
OTHER_COUNTRIES: dict[str, tuple[str, tuple[str, ...], int]] = {
    "GB": ("en", ("en",), 4),
    "CH": ("de", ("de", "fr"), 2),
    "NO": ("nordic", ("nb",), 1),
    "US": ("en", ("en",), 2),
    "CA": ("en", ("en", "fr"), 2),
}

ALL_COUNTRIES = {**EU_STATES, **PARTNER_COUNTRIES, **OTHER_COUNTRIES}

# Name pools: first names | family names, "|"-separated.
NAME_POOLS = {
    "de": (
        "Anna|Lukas|Katharina|Jonas|Sabine|Matthias|Julia|Stefan|Lena",
        "Müller|Schmidt|Fischer|Weber|Becker|Hoffmann|Wagner|Keller",
    ),
    "fr": (
        "Camille|Julien|Claire|Mathieu|Sophie|Nicolas|Élodie|Antoine",
        "Martin|Bernard|Dubois|Lefèvre|Moreau|Laurent|Girard|Fontaine",
    ),
    "it": (
        "Giulia|Marco|Francesca|Luca|Chiara|Alessandro|Elena|Davide",
        "Rossi|Russo|Ferrari|Esposito|Bianchi|Romano|Colombo|Ricci",
    ),
    "es": (
        "Lucía|Javier|Marta|Pablo|Carmen|Sergio|Laura|Alberto",
        "García|Fernández|López|Martínez|Sánchez|Romero|Navarro|Ortega",
    ),
    "pt": (
        "Inês|João|Mariana|Tiago|Beatriz|Rui|Fernanda|Paulo|Joana",
        "Silva|Santos|Ferreira|Costa|Oliveira|Almeida|Rodrigues|Lopes",
    ),
    "nl": (
        "Sanne|Daan|Eva|Pieter|Lotte|Bram|Femke|Joost",
        "de Vries|Jansen|Bakker|Visser|Smit|Mulder|de Boer|Peeters",
    ),
    "nordic": (
        "Emma|Erik|Sara|Anders|Ingrid|Mikko|Freja|Lars|Aino",
        "Andersson|Nielsen|Johansson|Virtanen|Hansen|Lindqvist|Korhonen",
    ),
    "cee": (
        "Agnieszka|Tomasz|Petra|Ondřej|Ioana|Andrei|Marija|Luka|Eszter",
        "Kowalska|Nowak|Dvořák|Popescu|Horvat|Nagy|Petrov|Kazlauskas",
    ),
    "el": (
        "Eleni|Giorgos|Maria|Nikos|Katerina|Dimitris|Sofia",
        "Papadopoulou|Georgiou|Nikolaidis|Konstantinou|Christodoulou",
    ),
    "en": (
        "Siobhan|James|Emily|Daniel|Grace|Michael|Rachel|Owen",
        "Murphy|Walsh|Taylor|Campbell|Brown|O'Connor|Clarke|Evans",
    ),
    "ar": (
        "Amira|Youssef|Leila|Karim|Nour|Hichem|Salma|Omar|Rania",
        "Ben Ali|El Amrani|Haddad|Mansour|Khalil|Saidi|Nasser|Trabelsi",
    ),
    "waf": (
        "Aminata|Moussa|Fatou|Kwame|Adaeze|Ibrahima|Awa|Kofi|Chinedu",
        "Diop|Traoré|Ndiaye|Mensah|Okafor|Koné|Sow|Adeyemi|Camara",
    ),
    "eaf": (
        "Wanjiru|Tesfaye|Grace|Abebe|Amani|Joseph|Hiwot|Thabo|Zawadi",
        "Otieno|Kebede|Mwangi|Nkurunziza|Mutua|Haile|Dlamini|Kamau",
    ),
    "tr": (
        "Elif|Mehmet|Zeynep|Emre|Ayşe|Burak",
        "Yılmaz|Demir|Kaya|Şahin|Çelik|Aydın",
    ),
    "cau": (
        "Nino|Giorgi|Anahit|Levan|Tamar|Armen|Leyla",
        "Beridze|Kapanadze|Hakobyan|Gelashvili|Aliyev|Sargsyan",
    ),
    "ru": (
        "Olena|Dmytro|Aigerim|Timur|Irina|Nurlan|Dilnoza|Sergei",
        "Kovalenko|Shevchenko|Nurlanova|Abdullaev|Ivanova|Karimov|Bondar",
    ),
    "sas": (
        "Ayesha|Imran|Farhana|Rahul|Nadia|Tariq|Priya|Arjun",
        "Khan|Rahman|Hossain|Perera|Sharma|Qureshi|Chowdhury",
    ),
    "sea": (
        "Maria Cristina|Jose|Siti|Budi|Anh|Somchai|Ligaya|Dewi",
        "Santos|Reyes|Wijaya|Nguyen|Pratama|Dela Cruz|Suwannarat",
    ),
    "lat": (
        "María José|Diego|Valentina|Andrés|Camila|Luis|Daniela|Carlos",
        "Hernández|Rodríguez|Gómez|Vargas|Castillo|Morales|Rojas|Jiménez",
    ),
}
NAMES = {
    pool: (tuple(firsts.split("|")), tuple(lasts.split("|")))
    for pool, (firsts, lasts) in NAME_POOLS.items()
}

THEMATIC_PHRASES = {
    "data": "migration data and statistics",
    "governance": "migration governance and policy making",
    "protection": "asylum and international protection",
    "border-management": "border management",
    "integration": "integration and social cohesion",
    "labour-migration": "labour migration",
    "trafficking-smuggling": "the fight against trafficking and smuggling",
    "diaspora-development": "diaspora and development",
}
AREA_WEIGHTS = {
    "data": 10,
    "governance": 12,
    "protection": 12,
    "border-management": 14,
    "integration": 9,
    "labour-migration": 11,
    "trafficking-smuggling": 10,
    "diaspora-development": 6,
}

SKILLS_BY_AREA: dict[str, tuple[str, ...]] = {
    "data": (
        "migration statistics",
        "statistics",
        "survey design",
        "census and register data",
        "data protection",
        "data visualisation",
        "household survey analysis",
        "administrative data linkage",
        "labour market information systems",
        "migration profiles",
        "indicator frameworks",
        "sampling methods",
        "demographic projections",
        "data quality assessment",
        "gis mapping",
        "interoperability of databases",
    ),
    "governance": (
        "policy drafting",
        "strategy development",
        "inter-agency coordination",
        "policy evaluation",
        "regulatory impact assessment",
        "public administration reform",
        "migration policy coherence",
        "local governance of migration",
        "parliamentary liaison",
        "budgeting and costing",
        "consular services",
        "visa policy",
        "readmission agreements",
        "return and reintegration",
        "stakeholder consultation",
        "institutional assessment",
    ),
    "protection": (
        "asylum case processing",
        "refugee status determination",
        "country of origin information",
        "child protection",
        "unaccompanied minors",
        "statelessness",
        "reception conditions",
        "alternatives to detention",
        "gender-based violence prevention",
        "psychosocial support",
        "vulnerability assessment",
        "resettlement",
        "durable solutions",
        "international protection law",
        "mixed migration",
        "protection-sensitive entry systems",
    ),
    "border-management": (
        "integrated border management",
        "risk analysis",
        "document fraud detection",
        "border surveillance",
        "coast guard operations",
        "biometrics",
        "advance passenger information",
        "border crossing point management",
        "customs cooperation",
        "search and rescue",
        "first-line checks",
        "border community engagement",
        "crisis preparedness",
        "joint patrols",
        "border infrastructure planning",
        "humane border management",
    ),
    "integration": (
        "integration policy",
        "language training for migrants",
        "recognition of qualifications",
        "anti-discrimination",
        "social cohesion programmes",
        "municipal integration",
        "access to health services",
        "housing policy",
        "civic orientation",
        "intercultural mediation",
        "family reunification",
        "naturalisation procedures",
        "migrant education",
        "community sponsorship",
        "hate speech monitoring",
        "inclusive public services",
    ),
    "labour-migration": (
        "bilateral labour agreements",
        "ethical recruitment",
        "labour inspection",
        "skills matching",
        "pre-departure orientation",
        "seasonal worker schemes",
        "social security portability",
        "employment services",
        "labour market tests",
        "migrant worker protection",
        "skills partnerships",
        "occupational standards",
        "private employment agency regulation",
        "wage protection",
        "circular migration",
        "vocational training",
    ),
    "trafficking-smuggling": (
        "victim identification",
        "referral mechanisms",
        "financial investigations",
        "cybercrime investigations",
        "prosecution of trafficking",
        "witness protection",
        "smuggling networks analysis",
        "victim assistance",
        "judicial cooperation",
        "labour exploitation",
        "awareness campaigns",
        "joint investigation teams",
        "anti-corruption",
        "forced labour indicators",
        "shelter management",
        "trauma-informed interviewing",
    ),
    "diaspora-development": (
        "diaspora mapping",
        "diaspora engagement",
        "remittances",
        "financial inclusion",
        "diaspora investment",
        "skills transfer",
        "return of qualified nationals",
        "development cooperation",
        "co-development projects",
        "migration and climate change",
        "brain circulation",
        "hometown associations",
        "diaspora bonds",
        "consular outreach",
        "migration and development planning",
        "entrepreneurship support",
    ),
}
# Skills any area uses; the first two are those the demo actions' needs ask for.
GENERIC_SKILLS: tuple[str, ...] = (
    "training design",
    "legal drafting",
    "training of trainers",
    "curriculum development",
    "e-learning",
    "facilitation",
    "project management",
    "monitoring and evaluation",
    "needs assessment",
    "gender mainstreaming",
    "human rights-based approach",
    "standard operating procedures",
    "change management",
    "communication strategy",
    "public speaking",
    "report writing",
    "peer review",
    "mentoring",
    "coaching",
    "negotiation",
    "research methods",
    "comparative law",
    "institutional twinning",
    "procurement",
    "budget management",
)
SKILL_POOL: tuple[str, ...] = tuple(
    dict.fromkeys([*GENERIC_SKILLS, *(s for area in SKILLS_BY_AREA.values() for s in area)])
)

EU_INSTITUTIONS = {
    "DE": ("Federal Office for Migration and Refugees (BAMF)", "Federal Police"),
    "FR": ("French Office for Immigration and Integration (OFII)", "Ministry of the Interior"),
    "IT": ("Ministry of the Interior, Department for Civil Liberties and Immigration",),
    "ES": ("Ministry of Inclusion, Social Security and Migration", "National Police"),
    "PL": ("Polish Border Guard", "Office for Foreigners"),
    "NL": ("Immigration and Naturalisation Service (IND)", "Royal Netherlands Marechaussee"),
    "BE": ("Immigration Office", "Federal Public Service Home Affairs"),
    "PT": (
        "Agency for Integration, Migration and Asylum (AIMA)",
        "Ministry of Internal Administration",
    ),
    "SE": ("Swedish Migration Agency", "Swedish Police Authority"),
    "AT": ("Federal Office for Immigration and Asylum",),
    "GR": ("Ministry of Migration and Asylum", "Hellenic Police"),
    "CZ": ("Ministry of the Interior, Department for Asylum and Migration Policy",),
    "RO": ("General Inspectorate for Immigration",),
    "FI": ("Finnish Immigration Service",),
    "DK": ("Danish Immigration Service",),
    "IE": ("Department of Justice, Immigration Service Delivery",),
}
PARTNER_BODIES = (
    "Ministry of the Interior, Directorate of Migration",
    "National Border Police",
    "Ministry of Labour, Labour Migration Department",
    "National Statistics Office",
    "Ministry of Foreign Affairs, Diaspora Directorate",
    "National Committee against Trafficking in Persons",
    "National Refugee Commission",
    "National Employment Agency",
    "Immigration Department",
)
INTERNATIONAL_ORGANISATIONS = (
    "International Organization for Migration (IOM)",
    "International Centre for Migration Policy Development (ICMPD)",
    "UNHCR",
    "International Labour Organization (ILO)",
    "UNODC",
    "OSCE",
    "Council of Europe",
    "African Union Commission",
    "ECOWAS Commission",
    "IGAD Secretariat",
    "Organization of American States",
)
ACADEMIA = (
    "Migration Policy Centre, European University Institute",
    "Centre on Migration, Policy and Society, University of Oxford",
    "Université Cheikh Anta Diop, Dakar",
    "Center for Migration and Refugee Studies, American University in Cairo",
    "African Centre for Migration & Society, University of the Witwatersrand",
    "FLACSO Ecuador",
    "Mohammed V University, Rabat",
    "Lebanese American University",
    "Migration Research Centre, Koç University",
    "Refugee Law Project, Makerere University",
    "Scalabrini Migration Center, Manila",
    "Caritas",
    "Danish Refugee Council",
)
TITLES = {
    AdministrationType.EU_MEMBER_STATE: (
        "senior policy officer",
        "head of unit",
        "legal adviser",
        "border guard trainer",
        "senior case officer",
        "deputy director",
        "statistician",
        "chief inspector",
    ),
    AdministrationType.PARTNER_COUNTRY: (
        "director",
        "head of department",
        "senior officer",
        "legal adviser",
        "training coordinator",
        "chief statistician",
        "police commissioner",
        "programme officer",
    ),
    AdministrationType.INTERNATIONAL_ORGANISATION: (
        "programme manager",
        "senior migration specialist",
        "regional adviser",
        "protection officer",
        "project coordinator",
    ),
    AdministrationType.ACADEMIA_CIVIL_SOCIETY: (
        "professor of migration law",
        "senior researcher",
        "lecturer",
        "programme director",
        "policy analyst",
    ),
}
ADMINISTRATION_WEIGHTS = {
    AdministrationType.EU_MEMBER_STATE: 40,
    AdministrationType.PARTNER_COUNTRY: 38,
    AdministrationType.INTERNATIONAL_ORGANISATION: 12,
    AdministrationType.ACADEMIA_CIVIL_SOCIETY: 10,
}
# Non-native languages: how likely, by the "sphere" the nationality belongs to.
FRANCOPHONE = {"MA", "TN", "DZ", "LB", "SN", "CI", "ML", "NE", "BF", "GN", "CM", "RW", "HT"}
FRANCOPHONE |= {"FR", "BE", "LU", "CH", "CA"}
ARABOPHONE = {"MA", "TN", "DZ", "EG", "LY", "JO", "LB", "IQ", "SD", "SO"}
RUSSOPHONE = {"UA", "MD", "GE", "AM", "AZ", "KZ", "KG", "UZ", "TJ"}
LUSOPHONE = {"PT", "BR", "CV", "MZ", "AO"}
HISPANOPHONE = {"ES", "MX", "CO", "EC", "GT", "HN", "SV", "CR", "PE", "AR", "CL", "DO"}
LEVELS = ("A2", "B1", "B2", "C1", "C2")
LEVEL_WEIGHTS = (5, 15, 30, 35, 15)
VETTING_WEIGHTS = {
    VettingStatus.APPROVED: 80,
    VettingStatus.PENDING: 11,
    VettingStatus.REJECTED: 9,
}
REJECTION_NOTES = (
    "References could not be confirmed with the home institution.",
    "Experience outside the thematic areas the programme covers.",
    "Incomplete profile: no CV and no references.",
)
UNAVAILABILITY_NOTES = ("Annual leave", "Parliamentary session", "Internal audit", "Training", "")


def _countries_csv() -> dict[str, tuple[str, str, str]]:
    with COUNTRIES.open(encoding="utf-8", newline="") as fh:
        return {
            row["code"]: (row["name"], row["region"], row["subregion"])
            for row in csv.DictReader(fh)
        }


COUNTRY_INFO = _countries_csv()


def _weighted(rng: random.Random, table: dict[Any, Any], weight: Any = None) -> Any:
    keys = list(table)
    weights = [weight(table[k]) if weight else table[k] for k in keys]
    return rng.choices(keys, weights=weights)[0]


def _sample(rng: random.Random, population: Sequence[str], k: int) -> list[str]:
    return rng.sample(list(population), min(k, len(population)))


# --- generation ---------------------------------------------------------------------------


@dataclass
class RosterEntry:
    """One roster entry before it is written: the unsaved ``Expert`` and its relations."""

    expert: Expert
    languages: list[tuple[str, str]]
    areas: list[str]
    skills: list[str]
    countries: list[str]
    unavailability: list[tuple[dt.date, dt.date, str]] = field(default_factory=list)
    # A login of the ``expert`` role is created when set (its username).
    username: str = ""


def search_document(full_name: str, institution: str, biography: str, skills: Iterable[str]) -> str:
    """As ``services.refresh_search_document`` computes it (skills in name order)."""
    text = " ".join([full_name, institution, biography, " ".join(sorted(skills))])
    return " ".join(text.lower().split())


def _languages(rng: random.Random, country: str, natives: tuple[str, ...]) -> list[tuple[str, str]]:
    spoken = dict.fromkeys(natives, "C2")
    odds = {"en": 0.85, "fr": 0.22, "es": 0.15, "de": 0.06, "ar": 0.04, "pt": 0.04, "ru": 0.03}
    if country in FRANCOPHONE:
        odds["fr"] = 0.85
    if country in ARABOPHONE:
        odds["ar"] = 0.95
    if country in RUSSOPHONE:
        odds["ru"] = 0.85
    if country in HISPANOPHONE or country in LUSOPHONE:
        odds["es"], odds["pt"] = 0.5, 0.35
    if country in EU_STATES:
        odds["fr"], odds["de"], odds["es"] = max(odds["fr"], 0.35), 0.18, max(odds["es"], 0.22)
    for code, chance in odds.items():
        if code not in spoken and len(spoken) < 5 and rng.random() < chance:
            spoken[code] = rng.choices(LEVELS, weights=LEVEL_WEIGHTS)[0]
    return list(spoken.items())


def _institution(rng: random.Random, admin: str, country: str) -> str:
    if admin == AdministrationType.EU_MEMBER_STATE:
        options = EU_INSTITUTIONS.get(country)
        if options:
            return rng.choice(options)
        return f"Ministry of the Interior, {COUNTRY_INFO[country][0]}"
    if admin == AdministrationType.PARTNER_COUNTRY:
        return f"{rng.choice(PARTNER_BODIES)}, {COUNTRY_INFO[country][0]}"
    if admin == AdministrationType.INTERNATIONAL_ORGANISATION:
        return rng.choice(INTERNATIONAL_ORGANISATIONS)
    return rng.choice(ACADEMIA)


def _nationality(rng: random.Random, admin: str) -> str:
    if admin == AdministrationType.EU_MEMBER_STATE:
        table = EU_STATES
    elif admin == AdministrationType.PARTNER_COUNTRY:
        table = PARTNER_COUNTRIES
    else:
        roll = rng.random()
        table = EU_STATES if roll < 0.45 else PARTNER_COUNTRIES if roll < 0.88 else OTHER_COUNTRIES
    return str(_weighted(rng, table, lambda spec: spec[2]))


def _experience(rng: random.Random, admin: str, nationality: str) -> list[str]:
    partners = list(PARTNER_COUNTRIES)
    weights = [PARTNER_COUNTRIES[c][2] for c in partners]
    chosen: list[str] = []
    if admin == AdministrationType.PARTNER_COUNTRY:
        chosen.append(nationality)
        region = COUNTRY_INFO[nationality][2]
        neighbours = [c for c in partners if COUNTRY_INFO[c][2] == region and c != nationality]
        chosen += _sample(rng, neighbours, rng.choice((0, 1, 1, 2, 3)))
        if rng.random() < 0.3:
            chosen += rng.choices(partners, weights=weights, k=1)
    else:
        chosen += rng.choices(partners, weights=weights, k=rng.choice((1, 2, 2, 3, 4, 5)))
    return list(dict.fromkeys(chosen))


def _skills(rng: random.Random, areas: list[str]) -> list[str]:
    chosen: list[str] = []
    for area in areas:
        pool = SKILLS_BY_AREA[area]
        # The first skills of each area are the common ones.
        weights = [1 / (i + 1) ** 0.7 for i in range(len(pool))]
        chosen += rng.choices(pool, weights=weights, k=rng.choice((1, 2, 2, 3)))
    generic_weights = [1 / (i + 1) ** 0.6 for i in range(len(GENERIC_SKILLS))]
    chosen += rng.choices(GENERIC_SKILLS, weights=generic_weights, k=rng.choice((0, 1, 1, 2, 3)))
    return sorted(set(chosen))


def _biography(
    rng: random.Random,
    name: str,
    title: str,
    institution: str,
    years: int,
    areas: list[str],
    skills: list[str],
    countries: list[str],
) -> str:
    phrases = [THEMATIC_PHRASES[a] for a in areas]
    # The phrases hold "and" themselves: "as well as" keeps the list readable.
    topics = (
        phrases[0] if len(phrases) == 1 else f"{', '.join(phrases[:-1])} as well as {phrases[-1]}"
    )
    first = rng.choice(
        (
            f"{name} is {_article(title)} {title} at {institution}, with {years} years of "
            f"experience in {topics}.",
            f"{name} has worked for {years} years in {topics} and is now {_article(title)} "
            f"{title} at {institution}.",
            f"{_cap(title)} at {institution}, {name} brings {years} years of experience in "
            f"{topics}.",
        )
    )
    sentences = [first]
    if skills:
        picked = _sample(rng, skills, 3)
        listed = picked[0] if len(picked) == 1 else f"{', '.join(picked[:-1])} and {picked[-1]}"
        sentences.append(
            rng.choice(
                (
                    f"Main fields of expertise: {listed}.",
                    f"Recognised for work on {listed}.",
                    f"Has designed and delivered programmes on {listed}.",
                )
            )
        )
    names = [COUNTRY_INFO[c][0] for c in countries[:3]]
    if names:
        where = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
        sentences.append(
            rng.choice(
                (
                    f"Peer-to-peer missions in {where}.",
                    f"Has supported partner administrations in {where}.",
                    f"Field experience in {where}.",
                )
            )
        )
    if rng.random() < 0.4:
        sentences.append(
            rng.choice(
                (
                    "Regular trainer at regional workshops.",
                    "Co-author of national guidelines adopted in 2022.",
                    "Has mentored officials through multi-month reform processes.",
                    "Member of an expert network on migration governance.",
                )
            )
        )
    return " ".join(sentences)


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _slug(text: str) -> str:
    import unicodedata

    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch if ch.isalnum() else "." for ch in ascii_text.lower()).strip(".")


def generate(
    count: int,
    *,
    seed: int | str,
    start: int = 0,
    today: dt.date | None = None,
    email_domain: str = "roster.example.org",
    accounts: float = 0.0,
    employers: dict[str, Organisation] | None = None,
) -> list[RosterEntry]:
    """``count`` roster entries, numbered from ``start``: the same ``seed`` and ``start``
    always give the same entries (so a roster grows in steps). ``accounts``: the share of
    approved, consenting entries that get an expert login (demo). ``employers``: country
    code → organisation registered in CB Portal; some partner-country experts of that
    nationality work there (a conflict of interest when it requests assistance)."""
    rng = random.Random(f"{seed}:{start}")  # noqa: S311 - synthetic data, not secrets
    today = today or timezone.localdate()
    now = timezone.now()
    entries: list[RosterEntry] = []
    for index in range(start, start + count):
        admin = _weighted(rng, ADMINISTRATION_WEIGHTS)
        nationality = _nationality(rng, admin)
        group, natives, _weight = ALL_COUNTRIES[nationality]
        firsts, lasts = NAMES[group]
        full_name = f"{rng.choice(firsts)} {rng.choice(lasts)}"
        residence = nationality if rng.random() < 0.85 else _nationality(rng, admin)
        institution = _institution(rng, admin, nationality)
        organisation = None
        if (
            employers
            and admin == AdministrationType.PARTNER_COUNTRY
            and nationality in employers
            and rng.random() < 0.3
        ):
            organisation = employers[nationality]
            institution = organisation.name
        areas = rng.sample(list(AREA_WEIGHTS), k=rng.choice((1, 1, 2, 2, 2, 3)))
        areas.sort(key=list(AREA_WEIGHTS).index)
        skills = _skills(rng, areas)
        countries = _experience(rng, admin, nationality)
        years = max(3, min(40, int(rng.gauss(14, 7))))
        title = rng.choice(TITLES[admin])
        biography = _biography(rng, full_name, title, institution, years, areas, skills, countries)
        vetting = _weighted(rng, VETTING_WEIGHTS)
        created = now - dt.timedelta(days=rng.randint(20, 1500), minutes=rng.randint(0, 1439))
        consent = rng.random() < (0.93 if vetting == VettingStatus.APPROVED else 0.7)
        active = not (vetting == VettingStatus.APPROVED and rng.random() < 0.05)
        local = _slug(full_name) or "expert"
        expert = Expert(
            full_name=full_name,
            email=f"{local}.{index}@{email_domain}",
            home_institution=institution,
            organisation=organisation,
            administration_type=admin,
            nationality_id=nationality,
            residence_id=residence,
            years_experience=years,
            biography=biography,
            vetting_status=vetting,
            vetting_note=rng.choice(REJECTION_NOTES) if vetting == VettingStatus.REJECTED else "",
            vetted_at=(
                created + dt.timedelta(days=rng.randint(1, 20))
                if vetting != VettingStatus.PENDING
                else None
            ),
            is_active=active,
            consent_contact=consent,
            consent_retention=consent,
            consent_at=created + dt.timedelta(minutes=5) if consent else None,
            share_contact=consent and rng.random() < 0.4,
            search_document=search_document(full_name, institution, biography, skills),
            created_at=created,
        )
        periods: list[tuple[dt.date, dt.date, str]] = []
        roll = rng.random()
        for _ in range(2 if roll < 0.05 else 1 if roll < 0.27 else 0):
            begin = today + dt.timedelta(days=rng.randint(-30, 300))
            end = begin + dt.timedelta(days=rng.randint(4, 60))
            # Periods never touch (the service would have merged them).
            if all(
                end < s - dt.timedelta(days=1) or begin > e + dt.timedelta(days=1)
                for s, e, _n in periods
            ):
                periods.append((begin, end, rng.choice(UNAVAILABILITY_NOTES)))
        username = ""
        if accounts and vetting == VettingStatus.APPROVED and consent and rng.random() < accounts:
            username = f"{local}.{index}"[:150]
        entries.append(
            RosterEntry(
                expert=expert,
                languages=_languages(rng, nationality, natives),
                areas=areas,
                skills=skills,
                countries=countries,
                unavailability=sorted(periods),
                username=username,
            )
        )
    return entries


# --- writing ------------------------------------------------------------------------------


def _is_postgres() -> bool:
    return connection.vendor == "postgresql"


def _copy_value(value: Any) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if hasattr(value, "adapted") and hasattr(value, "dumps"):  # a JSONField's psycopg2 Json
        return str(value.dumps(value.adapted))
    return str(value)


def copy_rows(
    table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]], chunk: int = 50_000
) -> int:
    """Write ``rows`` into ``table`` with PostgreSQL's ``COPY`` (CSV, ``\\N`` for NULL)."""
    cursor = connection.cursor()
    raw = cursor.cursor  # the psycopg2 cursor
    statement = (
        f"COPY {connection.ops.quote_name(table)} "
        f"({', '.join(connection.ops.quote_name(c) for c in columns)}) "
        "FROM STDIN WITH (FORMAT csv, NULL '\\N')"
    )
    total = 0
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    pending = 0
    for row in rows:
        writer.writerow([_copy_value(v) for v in row])
        pending += 1
        if pending >= chunk:
            buffer.seek(0)
            raw.copy_expert(statement, buffer)
            total += pending
            buffer, pending = io.StringIO(), 0
            writer = csv.writer(buffer, lineterminator="\n")
    if pending:
        buffer.seek(0)
        raw.copy_expert(statement, buffer)
        total += pending
    return total


def reserve_ids(model: type[models.Model], count: int) -> list[int]:
    """``count`` primary keys from the table's own sequence (PostgreSQL)."""
    table, column = model._meta.db_table, model._meta.pk.column
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [table, column, count],
        )
        return [row[0] for row in cursor.fetchall()]


def insert_objects(
    model: type[models.Model], objects: Sequence[models.Model], batch_size: int = 2000
) -> None:
    """Insert unsaved instances and set their primary keys: ``COPY`` on PostgreSQL (every
    concrete column, defaults as the instances hold them), ``bulk_create`` elsewhere."""
    if not objects:
        return
    if not _is_postgres():
        model._default_manager.bulk_create(objects, batch_size=batch_size)
        return
    missing = [obj for obj in objects if obj.pk is None]
    for obj, pk in zip(missing, reserve_ids(model, len(missing)), strict=True):
        obj.pk = pk
    fields = list(model._meta.concrete_fields)

    def rows() -> Iterable[list[Any]]:
        for obj in objects:
            yield [f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields]

    copy_rows(model._meta.db_table, [str(f.column) for f in fields], rows())


def insert_rows(
    model: type[models.Model],
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    batch_size: int = 5000,
) -> None:
    """Insert plain rows (``columns`` are attribute names, e.g. ``expert_id``)."""
    if not rows:
        return
    if _is_postgres():
        # get_field() also knows fields by attribute name (``expert_id``).
        names = [str(getattr(model._meta.get_field(c), "column", c)) for c in columns]
        copy_rows(model._meta.db_table, names, rows)
        return
    model._default_manager.bulk_create(
        [model(**dict(zip(columns, row, strict=True))) for row in rows], batch_size=batch_size
    )


def skill_ids(names: Iterable[str]) -> dict[str, int]:
    """Skill name → id, creating the skills that do not exist yet."""
    wanted = set(names)
    known = dict(Skill.objects.filter(name__in=wanted).values_list("name", "pk"))
    missing = sorted(wanted - set(known))
    if missing:
        Skill.objects.bulk_create([Skill(name=n) for n in missing], ignore_conflicts=True)
        known = dict(Skill.objects.filter(name__in=wanted).values_list("name", "pk"))
    return known


def write(entries: Sequence[RosterEntry], *, vetted_by: User | None = None) -> list[int]:
    """Write the entries with their languages, areas, skills, countries, periods and (where
    asked) expert logins. Returns the experts' ids, in order."""
    if not entries:
        return []
    accounts = [e for e in entries if e.username]
    if accounts:
        password = make_password(None)  # unusable: the demo logins are for notifications
        users = [
            User(
                username=e.username,
                first_name=e.expert.full_name.split(" ", 1)[0],
                last_name=e.expert.full_name.split(" ", 1)[-1],
                email=e.expert.email,
                role=Role.EXPERT,
                password=password,
                language="fr" if any(c == "fr" and lvl >= "C1" for c, lvl in e.languages) else "en",
            )
            for e in accounts
        ]
        User.objects.bulk_create(users, batch_size=1000)
        if any(u.pk is None for u in users):  # backends that cannot return ids
            by_name = dict(
                User.objects.filter(username__in=[u.username for u in users]).values_list(
                    "username", "pk"
                )
            )
            for u in users:
                u.pk = by_name[u.username]
        for entry, user in zip(accounts, users, strict=True):
            entry.expert.user_id = user.pk
    for entry in entries:
        if entry.expert.vetting_status != VettingStatus.PENDING and vetted_by is not None:
            entry.expert.vetted_by_id = vetted_by.pk
    experts = [e.expert for e in entries]
    insert_objects(Expert, experts)
    ids = [e.pk for e in experts]
    areas = dict(
        ThematicArea.objects.filter(slug__in=[s for s, *_r in THEMATIC_AREAS]).values_list(
            "slug", "pk"
        )
    )
    skills = skill_ids(s for e in entries for s in e.skills)
    insert_rows(
        ExpertLanguage,
        ("expert_id", "language_id", "level"),
        [(e.expert.pk, code, level) for e in entries for code, level in e.languages],
    )
    through = Expert.thematic_areas.through
    insert_rows(
        through,
        ("expert_id", "thematicarea_id"),
        [(e.expert.pk, areas[a]) for e in entries for a in e.areas],
    )
    insert_rows(
        Expert.skills.through,
        ("expert_id", "skill_id"),
        [(e.expert.pk, skills[s]) for e in entries for s in e.skills],
    )
    insert_rows(
        Expert.countries_of_experience.through,
        ("expert_id", "country_id"),
        [(e.expert.pk, c) for e in entries for c in e.countries],
    )
    insert_rows(
        Unavailability,
        ("expert_id", "start_date", "end_date", "note"),
        [(e.expert.pk, s, end, note) for e in entries for s, end, note in e.unavailability],
    )
    return [int(pk) for pk in ids]


def assign_ids(entries: Sequence[RosterEntry]) -> list[int]:
    """Give the entries' experts their primary keys before they are written, so that rows
    pointing at them (deployments) can be generated first."""
    if _is_postgres():
        ids = reserve_ids(Expert, len(entries))
    else:
        # SQLite (the embedded default) takes explicit ids and moves its sequence past them.
        last = Expert.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        ids = list(range(last + 1, last + 1 + len(entries)))
    for entry, pk in zip(entries, ids, strict=True):
        entry.expert.pk = pk
    return ids


@dataclass(frozen=True)
class Slot:
    """A need whose activity runs from ``start`` to ``end``; slots given together must not
    overlap, so that an expert's booked missions never do (the exclusion constraint)."""

    need_id: int
    start: dt.date
    end: dt.date


RATING_WEIGHTS = (2, 5, 15, 40, 38)  # 1 … 5


def generate_deployments(
    entries: Sequence[RosterEntry],
    *,
    seed: int | str,
    start: int = 0,
    past: Sequence[Slot],
    future: Sequence[Slot] = (),
    staff_id: int | None = None,
) -> list[Deployment]:
    """Mission history for approved entries (their experts have ids: ``assign_ids``):
    about half have past missions — mostly completed and rated, some with the report
    overdue, some cancelled, declined or expired invitations — and about one in seven a
    coming one (confirmed, accepted or invited). Sets the experts' ``rating_sum`` and
    ``rating_count`` as ``services.refresh_track_record`` would."""
    rng = random.Random(f"{seed}:deployments:{start}")  # noqa: S311 - synthetic data
    now = timezone.now()
    deployments: list[Deployment] = []
    for entry in entries:
        expert = entry.expert
        if expert.vetting_status != VettingStatus.APPROVED or expert.pk is None:
            continue
        count = rng.choices((0, 1, 2, 3, 4, 5), weights=(50, 22, 13, 8, 4, 3))[0]
        chosen = rng.sample(list(past), min(count, len(past)))
        coming = rng.random()
        if future and coming < 0.15:
            chosen.append(rng.choice(list(future)))
        for slot in chosen:
            invited = dt.datetime.combine(
                slot.start - dt.timedelta(days=rng.randint(20, 60)), dt.time(9), tzinfo=dt.UTC
            )
            d = Deployment(
                expert_id=expert.pk,
                need_id=slot.need_id,
                shortlisted_by_id=staff_id,
                invited_by_id=staff_id,
                invited_at=invited,
                expires_at=invited + dt.timedelta(days=7),
                score=round(rng.uniform(40, 95), 2),
                created_at=invited - dt.timedelta(days=1),
            )
            in_past = slot.end < now.date()
            roll = rng.random()
            if (in_past and roll < 0.78) or (not in_past and roll < 0.6):
                d.status = DeploymentStatus.COMPLETED if in_past else DeploymentStatus.CONFIRMED
                d.responded_at = invited + dt.timedelta(days=2)
                d.confirmed_by_id, d.confirmed_at = staff_id, invited + dt.timedelta(days=4)
                d.start_date, d.end_date = slot.start, slot.end
                d.expert_days = (slot.end - slot.start).days + 1
                if in_past and rng.random() < 0.88:
                    d.completed_at = dt.datetime.combine(
                        slot.end + dt.timedelta(days=10), dt.time(12), tzinfo=dt.UTC
                    )
                    d.rating = rng.choices((1, 2, 3, 4, 5), weights=RATING_WEIGHTS)[0]
                    d.rated_by_id = staff_id
                    expert.rating_sum += d.rating
                    expert.rating_count += 1
                elif in_past:
                    d.status = DeploymentStatus.CONFIRMED  # report overdue
            elif roll < 0.86:
                d.status = DeploymentStatus.ACCEPTED if not in_past else DeploymentStatus.CANCELLED
                d.responded_at = invited + dt.timedelta(days=2)
                if in_past:
                    d.status_before_cancel = DeploymentStatus.ACCEPTED
                    d.cancelled_at = invited + dt.timedelta(days=10)
                    d.cancel_reason = "The activity was postponed."
            elif roll < 0.94:
                d.status = DeploymentStatus.DECLINED
                d.responded_at = invited + dt.timedelta(days=3)
                d.decline_reason = "Not available over these dates."
            else:
                d.status = DeploymentStatus.EXPIRED if in_past else DeploymentStatus.INVITED
                if not in_past:
                    d.invited_at, d.expires_at = now, now + dt.timedelta(days=7)
            deployments.append(d)
    return deployments
