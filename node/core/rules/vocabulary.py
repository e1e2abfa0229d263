"""What names a certificate may carry, as one value handed to intake: the forbidden words
(:mod:`node.core.rules.names`) and the occupation catalogue (:mod:`node.core.rules.occupations`).

A province node builds it from the shipped catalogue and its configuration
(``province/vocabulary.py``) and passes it to :class:`node.services.intake.IntakeService`, like the
working-day calendar. Pure.
"""

from __future__ import annotations

import dataclasses

from node.core.certificate import SPECIAL_ABILITY, VOCATIONAL_QUALIFICATION, Certificate
from node.core.rules.flags import Flag
from node.core.rules.names import ForbiddenWords
from node.core.rules.occupations import OccupationCatalogue


@dataclasses.dataclass(frozen=True, slots=True)
class Vocabulary:
    """The forbidden words and the occupation catalogue intake checks a certificate's names
    against."""

    forbidden: ForbiddenWords = dataclasses.field(default_factory=ForbiddenWords)
    occupations: OccupationCatalogue = dataclasses.field(default_factory=OccupationCatalogue)

    def check(self, certificate: Certificate) -> tuple[Flag, ...]:
        """Check the organisation, occupation and work-type names of ``certificate``.

        Returns:
            The warnings (``occupation.not_in_catalogue``).

        Raises:
            InvalidInput: ``name.forbidden_word`` (field ``organisation_name``,
                ``occupation_name`` or ``work_type_name``); the rules of
                :meth:`node.core.rules.occupations.OccupationCatalogue.check`.
        """
        self.forbidden.check("organisation_name", certificate.organisation_name)
        self.forbidden.check("occupation_name", certificate.occupation_name)
        self.forbidden.check("work_type_name", certificate.work_type_name)
        if certificate.certificate_type == SPECIAL_ABILITY:
            # A 专项职业能力 is named by its examining body's project, not by an occupation of
            # the catalogue (the seeds give projects no occupation code): nothing to compare.
            return ()
        return self.occupations.check(
            certificate.occupation_code,
            certificate.occupation_name,
            certificate.work_type_code,
            certificate.work_type_name,
            admission_allowed=certificate.certificate_type == VOCATIONAL_QUALIFICATION,
            issue_date=certificate.issue_date,
        )


__all__ = ["Vocabulary"]
