"""The prohibited categories are recognised in four languages, whatever the spelling of the name."""

from __future__ import annotations

import pytest

from canasta.domain.custom_fields import define_custom_field
from canasta.domain.errors import ProhibitedCategoryError
from canasta.domain.household_rows import HOUSEHOLD_COLUMNS, PERSON_COLUMNS, read_header
from canasta.domain.privacy import PROHIBITED_CATEGORIES, find_prohibited_category, refuse_prohibited

PROHIBITED = {
    "political_opinion": [
        "political_opinion", "party", "party_membership", "partido", "afiliacion_politica", "afiliación política",
        "partidoPolitico", "filiacao_partidaria", "parti_politique", "opinion_politique", "ideologia", "militante",
        "lealtad", "loyalty_score", "oposicion", "opositor",
    ],
    "voting": [
        "voted", "voting_center", "voto", "votante", "centro_de_votacion", "elector", "electoral_roll",
        "padron_electoral", "eleicao", "titulo_eleitor", "electeur", "ballot", "sufragio", "participacion_electoral",
        "votingCenter",
    ],
    "religion": [
        "religion", "religión", "religiao", "religieux", "church", "iglesia", "igreja", "eglise", "faith",
        "creencia_religiosa", "culto", "muslim", "evangelico", "catolico",
    ],
    "ethnicity": [
        "ethnicity", "etnia", "etnico", "ethnie", "race", "raza", "raca", "indigenous", "pueblo_indigena",
        "afrodescendiente", "tribe", "skin_colour", "color_de_piel",
    ],
    "sexual_orientation": [
        "sexual_orientation", "orientacion_sexual", "orientação sexual", "orientation_sexuelle", "gay", "lgbti",
        "homosexual", "sexualidad",
    ],
    "trade_union": [
        "trade_union", "union_membership", "sindicato", "sindical", "syndicat", "labour_union", "gremio",
    ],
    "social_media": [
        "social_media", "redes_sociales", "redessociales", "red_social", "redes_sociais", "reseaux_sociaux",
        "facebook", "twitter_handle", "instagram", "tiktok", "followers", "seguidores",
    ],
}  # fmt: skip

ALLOWED = [
    *HOUSEHOLD_COLUMNS, *PERSON_COLUMNS, "union_libre", "partida_nacimiento", "tributo", "denominacion",
    "water_source", "fuente_agua", "estado_civil", "seleccion", "piso_de_tierra", "custom.techo",
]  # fmt: skip


@pytest.mark.parametrize(("key", "name"), [(key, name) for key, names in PROHIBITED.items() for name in names])
def test_every_category_and_synonym_is_recognised(key: str, name: str) -> None:
    category = find_prohibited_category(name)
    assert category is not None, name
    assert category.key == key


@pytest.mark.parametrize("name", ALLOWED)
def test_need_facts_and_ordinary_fields_are_not_refused(name: str) -> None:
    assert find_prohibited_category(name) is None


def test_every_category_is_covered_by_the_tests() -> None:
    assert {category.key for category in PROHIBITED_CATEGORIES} == set(PROHIBITED)


def test_the_error_names_the_category_and_the_door() -> None:
    with pytest.raises(ProhibitedCategoryError) as refused:
        refuse_prohibited(["given_name", "redes_sociales"], where="import column")
    assert refused.value.category == "social-media accounts or activity"
    assert refused.value.code == "prohibited_category"
    assert "import column 'redes_sociales'" in refused.value.detail


@pytest.mark.parametrize("name", ["religion", "voto", "partido", "etnia"])
def test_custom_field_definitions_refuse_prohibited_names(name: str) -> None:
    with pytest.raises(ProhibitedCategoryError):
        define_custom_field(name, applies_to="person", type="text", purpose="a purpose that is long enough")


def test_custom_field_choices_are_checked_too() -> None:
    with pytest.raises(ProhibitedCategoryError):
        define_custom_field(
            "group", applies_to="person", type="choice", purpose="a purpose that is long enough",
            choices=("a", "sindicato"),
        )  # fmt: skip


def test_import_headers_refuse_prohibited_columns() -> None:
    with pytest.raises(ProhibitedCategoryError) as refused:
        read_header([*HOUSEHOLD_COLUMNS, *PERSON_COLUMNS, "Religión"], {})
    assert refused.value.name == "Religión"
