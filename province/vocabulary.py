"""The vocabulary a province node checks certificate names against
(:class:`node.core.rules.vocabulary.Vocabulary`): the national forbidden words plus the
province's (``node.json`` ``forbidden_words``), and the occupation catalogue the project ships
(``province/data/occupations.json``: the occupations the policy documents name, with the major
categories of the 国家职业分类大典 and the 准入类 occupations of the 国家职业资格目录 (2021年版))
plus the catalogue documents the configuration names (``occupation_catalogues``).

Loaders only, like :mod:`province.calendars`: each returns a value the caller hands to intake;
nothing is registered process-wide.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from node.core.rules.names import ForbiddenWords
from node.core.rules.occupations import OccupationCatalogue, parse_catalogue
from node.core.rules.vocabulary import Vocabulary
from province.documents import load_json_document

#: The catalogue the project ships.
SHIPPED_CATALOGUE = Path(__file__).parent / "data" / "occupations.json"


def load_catalogue_file(path: str | os.PathLike[str]) -> OccupationCatalogue:
    """Read one occupation catalogue document.

    Raises:
        InvalidInput: rule ``occupation.catalogue_document``; the message names the file.
    """
    return load_json_document(path, "catalogue", "occupation.catalogue_document", parse_catalogue)


def shipped_catalogue() -> OccupationCatalogue:
    """The catalogue the project ships."""
    return load_catalogue_file(SHIPPED_CATALOGUE)


def load_vocabulary(
    forbidden_words: Iterable[str] = (), catalogues: Iterable[str | os.PathLike[str]] = ()
) -> Vocabulary:
    """The national forbidden words with ``forbidden_words`` added, and the shipped catalogue
    with ``catalogues`` added in order (a later file wins on a code).

    Raises:
        InvalidInput: as :func:`load_catalogue_file`; ``name.forbidden_words_config``.
    """
    catalogue = shipped_catalogue()
    for path in catalogues:
        catalogue = catalogue.merged(load_catalogue_file(path))
    return Vocabulary(ForbiddenWords.national().with_additions(forbidden_words), catalogue)


__all__ = ["SHIPPED_CATALOGUE", "load_catalogue_file", "load_vocabulary", "shipped_catalogue"]
