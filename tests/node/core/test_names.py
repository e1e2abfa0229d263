"""Forbidden words, the filed organisation name and the occupation catalogue
(node/core/rules/names.py, occupations.py, vocabulary.py; province/vocabulary.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from node.core.errors import InvalidInput
from node.core.rules.names import NATIONAL_FORBIDDEN_WORDS, ForbiddenWords, check_filed_name
from node.core.rules.occupations import Occupation, OccupationCatalogue, parse_catalogue
from province.vocabulary import SHIPPED_CATALOGUE, load_vocabulary


def rule_of(call: object) -> tuple[str, str]:
    assert callable(call)
    with pytest.raises(InvalidInput) as info:
        call()
    return info.value.field, info.value.rule


def test_national_words_and_provincial_additions() -> None:
    # 人社鉴发〔2021〕1号 §五(二) and the 国办发 texts' 人员资格.
    for word in (
        "中华人民共和国",
        "中国",
        "中华",
        "国家",
        "全国",
        "职业资格",
        "资格凭证",
        "人员资格",
    ):
        assert word in NATIONAL_FORBIDDEN_WORDS
    national = ForbiddenWords.national()
    national.check("organisation_name", "广东示例职业技能评价中心")
    assert rule_of(lambda: national.check("name", "全国示例评价中心")) == (
        "name",
        "name.forbidden_word",
    )
    # Guangdong adds 广东, 广东省 (粤人社办〔2020〕39号 附件 4 §二(四)1).
    guangdong = national.with_additions(["广东", "广东省"])
    assert rule_of(lambda: guangdong.check("name", "广东示例职业技能评价中心")) == (
        "name",
        "name.forbidden_word",
    )
    with pytest.raises(InvalidInput) as info:
        guangdong.check("name", "广东省示例中心")
    assert "广东省" in info.value.message  # the most specific word is named
    assert rule_of(lambda: national.with_additions([" "]))[1] == "name.forbidden_words_config"


def test_filed_name_or_branch() -> None:
    check_filed_name("示例中心", "示例中心")
    check_filed_name("示例中心深圳分中心", "示例中心", ["示例中心深圳分中心"])
    assert rule_of(lambda: check_filed_name("示例", "示例中心")) == (
        "organisation_name",
        "organisation_name.not_filed",
    )


CATALOGUE = parse_catalogue(
    {
        "version": 1,
        "entries": [
            {"code": "6-00-00-00", "name": "生产制造及有关人员", "level": "major"},
            {"code": "6-18-01-01", "name": "车工", "level": "occupation"},
            {"code": "6-18-01-01-02", "name": "数控车床", "level": "work_type"},
            {
                "code": "4-07-05-04",
                "name": "消防设施操作员",
                "level": "occupation",
                "admission": True,
            },
            {"name": "游泳救生员", "level": "occupation", "admission": True},
        ],
    }
)


def test_catalogue_checks() -> None:
    assert CATALOGUE.check("6-18-01-01", "车工", "6-18-01-01-02", "数控车床") == ()
    cases = {
        ("6-18-01-01", "电工", "--", "--"): ("occupation_name", "occupation.name_mismatch"),
        ("6-18-01-01", "车工", "6-18-01-01-02", "普通车床"): (
            "work_type_name",
            "occupation.work_type_name_mismatch",
        ),
        ("6-00-00-00", "生产制造及有关人员", "--", "--"): (
            "occupation_code",
            "occupation.category_only",
        ),
        ("6-18-01-00", "x", "--", "--"): ("occupation_code", "occupation.category_only"),
        ("4-07-05-04", "消防设施操作员", "--", "--"): ("occupation_code", "occupation.admission"),
        ("4-13-04-02", "游泳救生员", "--", "--"): ("occupation_code", "occupation.admission"),
    }
    for args, expected in cases.items():
        assert rule_of(lambda args=args: CATALOGUE.check(*args)) == expected, args
    [warning] = CATALOGUE.check("6-29-01-04", "变电设备检修工")
    assert (warning.code, warning.severity) == ("occupation.not_in_catalogue", "warning")


@pytest.mark.parametrize(
    ("entry", "at"),
    [
        ({"code": "6-18-01-01", "name": "车工", "level": "bogus"}, "entries[0].level"),
        ({"code": "6-18-01", "name": "车工", "level": "occupation"}, "entries[0].code"),
        ({"code": "6-18-00-00", "name": "x", "level": "occupation"}, "entries[0].level"),
        ({"code": "6-18-01-01-01", "name": "x", "level": "occupation"}, "entries[0].level"),
        ({"name": "车工", "level": "occupation"}, "entries[0].code"),
        ({"code": "6-18-01-01", "name": " 车工", "level": "occupation"}, "entries[0].name"),
    ],
)
def test_catalogue_document_refused(entry: dict[str, object], at: str) -> None:
    assert rule_of(lambda: parse_catalogue({"version": 1, "entries": [entry]})) == (
        at,
        "occupation.catalogue_document",
    )


def test_shipped_catalogue_and_configured_additions(tmp_path: Path) -> None:
    vocabulary = load_vocabulary()
    # The occupations the seeds name, the 大典's major categories, the 准入类 list.
    assert vocabulary.occupations.by_code["6-31-01-03"] == Occupation(
        "6-31-01-03", "电工", "occupation"
    )
    assert vocabulary.occupations.by_code["6-00-00-00"].level == "major"
    assert "消防设施操作员" in vocabulary.occupations.admission_names
    assert json.loads(SHIPPED_CATALOGUE.read_text(encoding="utf-8"))["version"] == 1
    extra = tmp_path / "extra.json"
    extra.write_text(
        json.dumps(
            {
                "version": 1,
                "entries": [
                    {"code": "6-29-01-04", "name": "变电设备检修工", "level": "occupation"}
                ],
            },
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    added = load_vocabulary(["广东"], [extra])
    assert added.occupations.check("6-29-01-04", "变电设备检修工") == ()
    assert "广东" in added.forbidden.words
    assert isinstance(added.occupations, OccupationCatalogue)


def test_node_json_names_the_words_and_catalogues(tmp_path: Path) -> None:
    from province.config import NodeConfig, load_config, new_config, write_config

    base = new_config(
        tmp_path, province="44", rpc="http://127.0.0.1:1", contract="0x" + "00" * 20,
        operator_key=None,
    )  # fmt: skip
    value = base.to_json() | {
        "forbidden_words": ["广东", "广东省"],
        "occupation_catalogues": ["extra.json"],
    }
    config = NodeConfig.from_json(value, path=tmp_path / "node.json")
    assert config.forbidden_words == ("广东", "广东省")
    assert config.occupation_catalogues == (tmp_path / "extra.json",)
    write_config(config, tmp_path)
    again = load_config(tmp_path)
    assert (again.forbidden_words, again.occupation_catalogues) == (
        config.forbidden_words,
        config.occupation_catalogues,
    )
    for key, bad, rule in (
        ("forbidden_words", ["广东", " "], "config.forbidden_words"),
        ("occupation_catalogues", "extra.json", "config.occupation_catalogues"),
    ):
        with pytest.raises(InvalidInput) as info:
            NodeConfig.from_json(base.to_json() | {key: bad}, path=tmp_path / "node.json")
        assert info.value.rule == rule
