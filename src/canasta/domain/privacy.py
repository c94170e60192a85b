"""The prohibited categories: what canasta never stores, imports, defines, transmits or evaluates.

DESIGN section 1: eligibility depends on need alone. Political opinion or party membership, voting or electoral
participation, religion, ethnicity or race, sexual orientation, trade-union membership and social-media accounts
or activity can never be a column, a custom field, an import header, an API field, a card claim or a rule's
fact. This module is the one list; every entry point calls :func:`refuse_prohibited` on every name it accepts.
No setting turns it off.

Names are matched after folding case and accents and splitting ``snake_case``, ``kebab-case``, ``camelCase`` and
dotted paths into words, in English, Spanish, Portuguese and French. A word *stem* matches any word that starts
with it (``politi`` catches political, política, politique); a *phrase* matches consecutive words
(``sexual orientation``); a *compound* matches the whole name written without separators (``redessociales``).
The list errs on the side of refusing: a field called ``politica_social`` is refused too, and a deployment
names it ``social_policy_area`` or similar instead.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from canasta.domain.errors import ProhibitedCategoryError

__all__ = ["PROHIBITED_CATEGORIES", "ProhibitedCategory", "find_prohibited_category", "refuse_prohibited"]


@dataclass(frozen=True, slots=True)
class ProhibitedCategory:
    """One prohibited category with the words that name it."""

    key: str
    label: str
    stems: tuple[str, ...] = ()
    words: tuple[str, ...] = ()
    phrases: tuple[tuple[str, ...], ...] = ()


PROHIBITED_CATEGORIES: tuple[ProhibitedCategory, ...] = (
    ProhibitedCategory(
        key="political_opinion",
        label="political opinion or party membership",
        stems=("politi", "ideolog", "militan", "lealtad", "loyalt", "lealdade", "loyaut"),
        words=(
            "party",
            "parties",
            "parti",
            "partis",
            "partido",
            "partidos",
            "partidario",
            "partidaria",
            "partidarios",
            "opositor",
            "opositora",
            "oposicion",
            "oposicao",
            "opposition",
            "oficialista",
            "chavista",
            "leftist",
            "rightist",
            "izquierda",
            "derecha",
            "esquerda",
            "direita",
            "gauche",
            "droite",
            "loyal",
            "leal",
            "afiliacion",
            "afiliacao",
            "affiliation",
        ),
        phrases=(("left", "wing"), ("right", "wing")),
    ),
    ProhibitedCategory(
        key="voting",
        label="voting or electoral participation",
        stems=(
            "vot",
            "elector",
            "eleitor",
            "electeur",
            "elecci",
            "eleic",
            "election",
            "ballot",
            "sufragi",
            "suffrag",
            "scrutin",
            "referend",
            "plebisc",
        ),
        words=("urna", "urnas", "poll", "polls", "polling", "votou"),
    ),
    ProhibitedCategory(
        key="religion",
        label="religion or belief",
        stems=(
            "religi",
            "creed",
            "worship",
            "iglesia",
            "igreja",
            "eglise",
            "church",
            "mosque",
            "mezquit",
            "mesquit",
            "synagog",
            "sinagog",
            "catolic",
            "catholi",
            "evangel",
            "protestant",
            "muslim",
            "musulman",
            "islam",
            "jewish",
            "judai",
            "judio",
            "juif",
            "christian",
            "cristian",
            "cristao",
            "chretien",
            "hindu",
            "buddhis",
            "budis",
            "bouddhis",
            "atheis",
            "ateis",
            "ateo",
            "athee",
            "creencia",
            "croyance",
            "crenca",
            "faith",
        ),
        words=("credo", "credos", "culto", "cultos", "culte", "templo", "temple", "fe", "foi"),
    ),
    ProhibitedCategory(
        key="ethnicity",
        label="ethnicity or race",
        stems=(
            "ethni",
            "etni",
            "racial",
            "indigen",
            "autoctone",
            "tribal",
            "afrodesc",
            "afrodes",
            "mestiz",
            "mestic",
            "quilombol",
        ),
        words=(
            "race",
            "races",
            "raza",
            "razas",
            "raca",
            "racas",
            "caste",
            "castes",
            "casta",
            "castas",
            "tribe",
            "tribes",
            "tribu",
            "tribus",
            "skin",
            "piel",
            "pele",
            "peau",
        ),
    ),
    ProhibitedCategory(
        key="sexual_orientation",
        label="sexual orientation",
        stems=("homosex", "heterosex", "bisex", "lesbi", "lgbt", "sexualit", "sexualid", "transgen"),
        words=("gay", "gays", "queer"),
        phrases=(
            ("sexual", "orientation"),
            ("orientation", "sexual"),
            ("orientacion", "sexual"),
            ("orientacao", "sexual"),
            ("orientation", "sexuelle"),
            ("sexual", "preference"),
            ("preferencia", "sexual"),
        ),
    ),
    ProhibitedCategory(
        key="trade_union",
        label="trade-union membership",
        stems=("sindica", "syndica", "syndicat", "gremial", "gremio"),
        phrases=(
            ("trade", "union"),
            ("labor", "union"),
            ("labour", "union"),
            ("union", "member"),
            ("union", "membership"),
            ("union", "dues"),
            ("union", "affiliation"),
        ),
    ),
    ProhibitedCategory(
        key="social_media",
        label="social-media accounts or activity",
        stems=(
            "facebook",
            "twitter",
            "instagram",
            "tiktok",
            "youtube",
            "linkedin",
            "snapchat",
            "hashtag",
            "influencer",
            "seguidor",
            "follower",
            "tweet",
            "socialmedia",
            "redessociales",
            "redsocial",
            "redessociais",
            "redesocial",
            "reseauxsociaux",
            "reseausocial",
        ),
        phrases=(
            ("social", "media"),
            ("social", "network"),
            ("social", "networks"),
            ("redes", "sociales"),
            ("red", "social"),
            ("redes", "sociais"),
            ("rede", "social"),
            ("reseaux", "sociaux"),
            ("reseau", "social"),
            ("social", "profile"),
            ("perfil", "social"),
        ),
    ),
)

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_SEPARATORS = re.compile(r"[^a-z0-9]+")


def _fold(text: str) -> str:
    """Lower case without accents: ``Afiliación`` -> ``afiliacion``."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()


def _words(name: str) -> list[str]:
    return [word for word in _SEPARATORS.split(_fold(_CAMEL.sub("_", name))) if word]


def find_prohibited_category(name: str) -> ProhibitedCategory | None:
    """Return the prohibited category ``name`` refers to, or None when it refers to none."""
    words = _words(name)
    if not words:
        return None
    compound = "".join(words)
    for category in PROHIBITED_CATEGORIES:
        for word in words:
            if word in category.words or any(word.startswith(stem) for stem in category.stems):
                return category
        if any(compound.startswith(stem) for stem in category.stems if len(stem) >= 8):
            return category
        for phrase in category.phrases:
            width = len(phrase)
            if any(tuple(words[i : i + width]) == phrase for i in range(len(words) - width + 1)):
                return category
            if compound == "".join(phrase):
                return category
    return None


def refuse_prohibited(names: Iterable[str], *, where: str) -> None:
    """Raise :class:`ProhibitedCategoryError` for the first name that refers to a prohibited category.

    ``where`` says what kind of name it is (``"import column"``, ``"custom field"``, ``"request field"``), so the
    error tells the user exactly which door refused it.
    """
    for name in names:
        category = find_prohibited_category(name)
        if category is not None:
            raise ProhibitedCategoryError(category=category.label, name=name, where=where)
