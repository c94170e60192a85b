"""Spanish given and family names with rough frequencies, as cumulative tables ready for drawing.

Frequencies are shaped like those of Venezuelan civil registers: a few very common names (José, María,
González, Rodríguez), a long tail, compound given names (María José, Juan Carlos) and the invented names of
recent decades (Yusmary, Yorman). Family names are single words, so a ``family_name`` of two of them splits into
the paternal and the maternal name at its space. Accents and ñ are kept on purpose: the import, the search
index and duplicate detection must all cope with them.

Each list is a :class:`~canasta.adapters.synth.tables.Table`, drawn with one ``bisect`` per name.
"""

from __future__ import annotations

from canasta.adapters.synth.tables import Table

__all__ = ["BUILDINGS", "FAMILY_NAMES", "FEMALE_NAMES", "MALE_NAMES", "PLACES", "STREETS"]


def _parse(text: str) -> Table[str]:
    """``"José 30, Luis 22"`` -> a table; names may contain spaces, the weight is the last word."""
    pairs = []
    for item in text.split(","):
        name, _, weight = item.strip().rpartition(" ")
        pairs.append((name, float(weight)))
    return Table.of(pairs)


MALE_NAMES = _parse(
    "José 30, Luis 22, Carlos 20, Juan 18, Jesús 15, José Luis 8, Juan Carlos 8, Miguel 10, Pedro 9, Ángel 9, "
    "Andrés 8, Jorge 8, Rafael 10, Francisco 8, Manuel 8, Antonio 8, Alejandro 7, Daniel 8, David 6, Gabriel 6, "
    "Víctor 6, Héctor 5, Óscar 5, Raúl 5, Rubén 4, Néstor 4, Ramón 6, Julián 4, Sebastián 6, Matías 4, "
    "Tomás 4, Nicolás 5, Joaquín 3, Germán 3, Martín 4, Simón 3, Adrián 4, Iván 3, Yorman 3, Yonathan 3, "
    "Wilmer 3, Édgar 3, Eduardo 5, Fernando 5, Ricardo 5, Alberto 4, Gustavo 4, Enrique 4, Santiago 5, "
    "Diego 5, Samuel 5, Moisés 3, Elías 3, Efraín 2, Agustín 2, José Gregorio 4, Luis Alberto 3, Jhonny 2, "
    "Freddy 3, Orlando 3, Ignacio 2, Íñigo 1"
)
FEMALE_NAMES = _parse(
    "María 30, María José 10, Ana 12, Carmen 12, Rosa 10, Luisa 8, Ana María 7, María Fernanda 7, Gabriela 8, "
    "Daniela 8, Andrea 8, Carolina 7, Patricia 6, Marisol 5, Yolanda 5, Yusmary 3, Yorgelis 3, Yelitza 3, "
    "Sofía 7, Valentina 7, Isabel 6, Inés 4, Mónica 5, Verónica 5, Ángela 5, Lucía 5, Victoria 5, Beatriz 4, "
    "Belén 3, Dulce María 2, Milagros 5, Nohemí 2, Raquel 4, Rocío 3, Génesis 4, Nazaret 2, Zulay 3, Dayana 4, "
    "Yamileth 3, Mariángel 3, Paola 4, Natalia 5, Camila 6, Isabella 5, Antonella 3, Ramona 3, Josefina 4, "
    "Teresa 5, Eugenia 3, Luz Marina 3, Maribel 4, Solángel 2, Anaís 2, Eloísa 2, Begoña 1"
)
FAMILY_NAMES = _parse(
    "González 60, Rodríguez 55, Pérez 50, Hernández 45, García 45, Martínez 40, López 38, Díaz 35, "
    "Sánchez 33, Ramírez 32, Gómez 30, Torres 25, Rojas 25, Álvarez 22, Fernández 22, Suárez 20, Flores 20, "
    "Romero 20, Moreno 18, Rivas 18, Núñez 16, Peña 16, Medina 15, Mendoza 15, Castillo 15, Gutiérrez 15, "
    "Jiménez 15, Herrera 14, Silva 14, Morales 14, Vargas 13, Castro 13, Ortiz 12, Guerrero 12, Marcano 12, "
    "Salazar 11, Rondón 10, Contreras 10, Blanco 10, Zambrano 10, Acosta 10, Aguilar 9, Muñoz 9, Ruiz 9, "
    "Ramos 9, Parra 9, Briceño 8, Montilla 8, Ibáñez 6, Ordóñez 6, Castañeda 6, Quiñones 5, Ñáñez 3, "
    "Carreño 6, Useche 5, Mújica 6, Bermúdez 7, Márquez 8, Vásquez 10, Domínguez 8, Chacón 7, Araújo 6, "
    "Valdés 5, Ríos 8, León 8, Durán 7, Ávila 6, Páez 6, Velásquez 8, Cordero 6, Gil 6, Mejías 5, Lárez 4, "
    "Guzmán 7, Andrade 6, Tovar 5, Villalobos 5, Sequera 3"
)

#: street names for urban addresses
STREETS = (
    "Bolívar", "Sucre", "Miranda", "Urdaneta", "Los Mangos", "Principal", "Las Flores", "El Milagro", "Carabobo",
    "Páez", "La Paz", "Los Cedros", "Las Palmas", "El Estadio", "Circunvalación", "Los Próceres", "Río Orinoco",
    "Andrés Bello", "La Marina", "Las Acacias", "San Martín", "Libertad", "El Comercio", "Los Samanes",
)  # fmt: skip
#: names of barrios, sectors and hamlets
PLACES = (
    "El Cují", "La Ceiba", "Los Jabillos", "Las Malvinas", "El Manguito", "La Cruz", "San Pablo", "Brisas del Río",
    "Cerro Verde", "La Lucha", "El Progreso", "Nueva Esperanza", "Los Olivos", "El Tamarindo", "Caña Brava",
    "La Guácima", "El Peñón", "Los Araguaneyes", "Mata de Coco", "El Charal", "Agua Blanca", "La Quebradita",
)  # fmt: skip
#: building names for apartment addresses
BUILDINGS = (
    "Residencias El Sol", "Torre Caribe", "Edificio Araguaney", "Residencias Las Brisas", "Bloque 4",
    "Bloque 12", "Edificio Miramar", "Conjunto Los Pinos", "Residencias Doña Inés", "Torre Ávila",
)  # fmt: skip
