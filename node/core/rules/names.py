"""Names on a certificate and in a filing: words a certificate may not carry, and the
organisation name that must be the filed one.

- **Forbidden words** (人社鉴发〔2021〕1号 §五(二)): "证书上不得使用“中华人民共和国”“中国”“中华”
  “国家”“全国”和“人力资源社会保障部门”“职业技能鉴定中心”“中国就业培训技术指导中心”以及“职业资格”
  “资格凭证”“就业凭证”“录用依据”等字样"; 国办发 texts of the Henan compilation add “人员资格”;
  a province adds its own (Guangdong 粤人社办〔2020〕39号 附件 4 §二(四)1: “广东”“广东省”). The
  list is a value, :class:`ForbiddenWords`: the national words plus a province's additions from its
  configuration (``node.json`` ``forbidden_words``), handed to whatever checks names.
- **Filed name** (人社鉴发〔2021〕1号 §二(三): "评价机构名称应与人力资源社会保障部门备案的机构（含
  分支机构）名称保持一致"; Guangdong §二(四)3): the organisation name printed on a certificate
  equals the name the organisation was filed under, or the filed name of one of its branches.

Pure: values and checks, no I/O.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Iterable
from typing import Final

from node.core.errors import InvalidInput

#: The words 人社鉴发〔2021〕1号 §五(二) forbids on a certificate, with “人员资格” of the 国办发
#: texts; longest first, so that a message names the most specific word found.
NATIONAL_FORBIDDEN_WORDS: Final[tuple[str, ...]] = (
    "中国就业培训技术指导中心",
    "人力资源社会保障部门",
    "中华人民共和国",
    "职业技能鉴定中心",
    "职业资格",
    "资格凭证",
    "就业凭证",
    "录用依据",
    "人员资格",
    "中国",
    "中华",
    "国家",
    "全国",
)

#: Longest forbidden word a configuration may add.
MAX_WORD_LENGTH: Final = 50


@dataclasses.dataclass(frozen=True, slots=True)
class ForbiddenWords:
    """The words no certificate (and so no filed organisation name) may carry: the national
    list and a province's additions. Build it with :meth:`national` or :meth:`with_additions`."""

    words: tuple[str, ...] = NATIONAL_FORBIDDEN_WORDS

    @classmethod
    def national(cls) -> ForbiddenWords:
        """The national list only."""
        return cls()

    def with_additions(self, additions: Iterable[object]) -> ForbiddenWords:
        """This list and ``additions`` (a province's words from its configuration).

        Raises:
            InvalidInput: field ``forbidden_words``, rule ``name.forbidden_words_config``: an
                addition is not a non-blank string of at most 50 characters.
        """
        extra: list[str] = []
        for word in additions:
            if not isinstance(word, str) or not word.strip() or len(word) > MAX_WORD_LENGTH:
                raise InvalidInput(
                    "forbidden_words",
                    "name.forbidden_words_config",
                    f"each forbidden word is a non-blank string of at most {MAX_WORD_LENGTH} "
                    "characters",
                )
            extra.append(word.strip())
        merged = dict.fromkeys((*self.words, *extra))
        return ForbiddenWords(tuple(sorted(merged, key=lambda w: (-len(w), w))))

    def check(self, field: str, text: str) -> None:
        """Refuse ``text`` (the value of ``field``) when it contains a forbidden word.

        Raises:
            InvalidInput: ``field`` / ``name.forbidden_word``, naming the word (never the
                text).
        """
        for word in self.words:
            if word in text:
                raise InvalidInput(
                    field,
                    "name.forbidden_word",
                    f"must not contain 「{word}」 (人社鉴发〔2021〕1号 §五(二))",
                )


def check_filed_name(
    organisation_name: str, filed_name: str, branch_names: Collection[str] = ()
) -> None:
    """Check that the organisation name on a certificate is the filed name of its organisation
    or of one of the organisation's filed branches (人社鉴发〔2021〕1号 §二(三)).

    Raises:
        InvalidInput: ``organisation_name`` / ``organisation_name.not_filed``.
    """
    if organisation_name != filed_name and organisation_name not in branch_names:
        raise InvalidInput(
            "organisation_name",
            "organisation_name.not_filed",
            "the organisation name must be the filed name of the organisation or of one of its "
            "filed branches (人社鉴发〔2021〕1号 §二(三))",
        )


__all__ = [
    "MAX_WORD_LENGTH",
    "NATIONAL_FORBIDDEN_WORDS",
    "ForbiddenWords",
    "check_filed_name",
]
