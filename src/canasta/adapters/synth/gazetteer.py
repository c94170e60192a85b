"""The gazetteer of the synthetic country: states, municipalities and parishes with their regional profiles.

The country is fictional but shaped like a Latin American one: ten states, from a dense, wealthy metropolitan
district to poor riverine and arid provinces, each split into municipalities (the first one is the state's
capital) and those into parishes. Households live in parishes, the lowest level; area codes read
``VE-SS-MM-PP`` (state, municipality, parish, two digits each), the format ``docs/import.md`` shows.

The gazetteer is the same for every population seed, so one areas file serves every synthetic population: it is
built once from fixed tables and a private generator with a fixed seed (counts of parishes, parish names,
population weights, which non-capital municipalities are urban).

Regional differences live in :class:`StateProfile`: population share, share of urban municipalities, income
level, household-size shift and how much land and livestock rural households hold. A municipality is urban or
rural as a whole (state capitals are urban); the population generator draws dwellings, assets, incomes and
household sizes from the profile of the household's parish.
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass
from functools import cache
from pathlib import Path

__all__ = ["AREA_COLUMNS", "Area", "Parish", "StateProfile", "gazetteer", "parishes", "write_gazetteer"]

#: header of the areas file, in order
AREA_COLUMNS = ("code", "name", "level", "parent_code")

COUNTRY_PREFIX = "VE"


@dataclass(frozen=True, slots=True)
class StateProfile:
    """What makes a state's households differ from another's."""

    name: str
    #: share of the country's households living in the state
    population_share: float
    #: probability that a non-capital municipality is urban (the capital always is, unless this is 0)
    urbanisation: float
    #: multiplier of the national median household income
    income_factor: float
    #: added to the mean household size of its urban or rural kind
    size_shift: float
    #: multiplier of the chance that a rural household works land and keeps livestock
    farming: float
    #: the state's municipalities, capital first
    municipalities: tuple[str, ...]


STATES: tuple[StateProfile, ...] = (
    StateProfile("Distrito Metropolitano", 0.14, 1.00, 1.45, -0.35, 0.2,
                 ("Santa Teresa", "El Recreo", "Las Acacias", "Monte Piedad")),
    StateProfile("Costa Azul", 0.10, 0.60, 1.10, -0.10, 0.6,
                 ("Puerto Azul", "Playa Grande", "Punta Brava", "Los Corales", "Ensenada", "Carenero")),
    StateProfile("Sierra Alta", 0.08, 0.30, 0.85, 0.20, 1.0,
                 ("Villa de la Sierra", "Páramo Blanco", "Santo Domingo", "Las Piedras", "Mucurí", "La Mesa",
                  "Bailadores")),
    StateProfile("Llanos del Sur", 0.09, 0.20, 0.80, 0.45, 1.6,
                 ("San Fernando del Sur", "Achaguas", "Mantecal", "El Samán", "Guasdualito", "Elorza")),
    StateProfile("Puerto Esperanza", 0.13, 0.80, 1.25, -0.20, 0.3,
                 ("Puerto Esperanza", "Las Américas", "Morón", "Tacarigua", "Valle de la Pascua")),
    StateProfile("Valle Verde", 0.11, 0.50, 1.00, 0.00, 1.1,
                 ("Villa del Valle", "Cagua", "La Victoria", "San Mateo", "Turmero", "Güigüe")),
    StateProfile("Tierras del Río", 0.06, 0.15, 0.60, 0.60, 1.3,
                 ("Puerto Ribereño", "Caicara", "Cabruta", "Atabapo", "San Juan de Manapiare")),
    StateProfile("Península de Arenas", 0.07, 0.35, 0.70, 0.30, 0.9,
                 ("Punta de Arenas", "Los Taques", "Adícora", "Pueblo Nuevo", "Buchivacoa")),
    StateProfile("Montaña Clara", 0.08, 0.25, 0.80, 0.25, 1.2,
                 ("Montaña Clara", "Boconó", "Niquitao", "Jajó", "La Quebrada", "Carache")),
    StateProfile("Lagos del Norte", 0.14, 0.70, 1.30, -0.05, 0.5,
                 ("Ciudad Lagunera", "Cabimas", "Santa Rita", "Los Puertos", "San Carlos del Lago", "Bachaquero",
                  "Sinamaica")),
)  # fmt: skip

_PARISH_NAMES = (
    "Catedral", "San José", "Santa Rosa", "La Candelaria", "El Carmen", "San Juan", "Santa Lucía",
    "La Concepción", "San Martín", "Las Mercedes", "El Socorro", "San Rafael", "Santa Inés", "La Asunción",
    "San Isidro", "Nuestra Señora del Rosario", "El Valle", "Los Cañizos", "San Agustín", "Santa Bárbara",
    "La Pastora", "San Bernardino", "Altagracia", "El Paraíso", "La Vega", "Coche", "San Pedro", "Santa Ana",
    "San Miguel", "La Trinidad", "Los Ángeles", "El Guamo", "Peñas Blancas", "San Benito", "Santa Cruz",
    "Las Delicias", "El Hatillo", "Los Naranjos", "La Ceiba", "Campo Alegre", "San Antonio", "San Sebastián",
    "Santa Eduviges", "El Tocuyito", "Monte Oscuro", "Las Flores", "La Unión", "Buena Vista", "El Cují",
    "Quebrada Honda", "Los Guayabitos", "San Félix", "Palo Negro", "El Limón", "Guaparo", "Camoruco",
    "Los Mangos", "Tres Esquinas", "La Montañita", "Caño Seco", "Río Claro", "Cerro Pelón", "Ñaraulí",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Area:
    """One row of the areas file: an administrative area and the area it belongs to."""

    code: str
    name: str
    level: str
    parent_code: str


@dataclass(frozen=True, slots=True)
class Parish:
    """A parish households can live in, with what the population generator needs to know about it."""

    code: str
    name: str
    state_index: int
    is_urban: bool
    #: share of the country's households living in this parish (the shares sum to 1)
    weight: float


@dataclass(frozen=True, slots=True)
class _Built:
    areas: tuple[Area, ...]
    parishes: tuple[Parish, ...]


@cache
def _build() -> _Built:
    # A private generator with a fixed seed: the gazetteer never depends on the population's seed.
    rng = random.Random("canasta synthetic gazetteer v1")
    areas: list[Area] = []
    found: list[Parish] = []
    for state_number, state in enumerate(STATES, start=1):
        state_code = f"{COUNTRY_PREFIX}-{state_number:02d}"
        areas.append(Area(state_code, state.name, "state", ""))
        # Zipf-like municipality sizes: the capital holds the largest share.
        municipality_weights = [1.0 / (rank + 1) ** 0.9 for rank in range(len(state.municipalities))]
        municipality_total = sum(municipality_weights)
        for municipality_number, municipality in enumerate(state.municipalities, start=1):
            municipality_code = f"{state_code}-{municipality_number:02d}"
            areas.append(Area(municipality_code, municipality, "municipality", state_code))
            is_capital = municipality_number == 1
            is_urban = (is_capital and state.urbanisation > 0) or rng.random() < state.urbanisation
            count = rng.randint(5, 8) if is_capital else rng.randint(2, 5)
            # The capital's central parish is its cathedral parish, as in most of the region.
            names = rng.sample(_PARISH_NAMES[1:], count - 1 if is_capital else count)
            if is_capital:
                names.insert(0, _PARISH_NAMES[0])
            parish_weights = [rng.uniform(0.5, 1.5) / (rank + 1) ** 0.5 for rank in range(count)]
            parish_total = sum(parish_weights)
            share = state.population_share * municipality_weights[municipality_number - 1] / municipality_total
            for parish_number, (name, weight) in enumerate(zip(names, parish_weights, strict=True), start=1):
                code = f"{municipality_code}-{parish_number:02d}"
                areas.append(Area(code, name, "parish", municipality_code))
                found.append(Parish(code, name, state_number - 1, is_urban, share * weight / parish_total))
    return _Built(tuple(areas), tuple(found))


def gazetteer() -> tuple[Area, ...]:
    """Every area of the synthetic country, each parent before its children (states, then depth first)."""
    return _build().areas


def parishes() -> tuple[Parish, ...]:
    """The parishes (lowest level) in gazetteer order, with their population weights and urban flag."""
    return _build().parishes


def write_gazetteer(path: Path) -> int:
    """Write the areas file (``code,name,level,parent_code``, UTF-8) to ``path``; return the number of areas.

    The file is written beside its final name and renamed into place, so a reader never sees half of it.
    """
    areas = gazetteer()
    partial = path.with_name(path.name + ".partial")
    with partial.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream, lineterminator="\n")
        writer.writerow(AREA_COLUMNS)
        writer.writerows((area.code, area.name, area.level, area.parent_code) for area in areas)
    partial.replace(path)
    return len(areas)
