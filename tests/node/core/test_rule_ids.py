"""The rule-id catalogue (node/core/rules/ids.py) against the code: every id the product source
raises is catalogued with the role it plays, every catalogued id is raised (or marked reserved),
every sentence is real Chinese and English, and the page's and the docs' copies are current.

The ids the code raises come from a static scan of the source (tests/node/core/rule_sites.py,
AST, not text search), which a synthetic package below holds to what it must find.
"""

from __future__ import annotations

import ast
import importlib.util
import re
import textwrap
from collections import defaultdict
from pathlib import Path
from types import ModuleType

import pytest

from audit.findings import FINDING_KINDS, Finding
from node.core.rules.ids import (
    CATALOGUE,
    Catalogue,
    Role,
    RuleText,
    UnknownRuleId,
    entries,
    explain,
    explain_check,
    explain_reason,
    explain_result,
    lookup,
    reason_action,
)
from node.core.rules.reasons import REASONS, Reason
from node.core.verify import CHECKS, ResultCode
from tests.conftest import ROOT
from tests.node.core.rule_sites import Scan, Site, Unresolved

#: Arguments the scan cannot follow, by file and source text, with the ids they can carry and
#: their role. Each id must be a string literal of that file, so this table cannot drift from
#: the code unnoticed; a new site the scan cannot follow fails the test until it is listed (or,
#: better, written with a literal id).
UNFOLLOWED: dict[tuple[str, str], tuple[str, frozenset[str]]] = {
    # _deadline(...) returns (finding kind, message); the kinds are _DEADLINE_KINDS' values and
    # the two literals of _deadline.
    ("audit/entries.py", "late[0]"): (
        "finding",
        frozenset(
            {
                "deadline.late",
                "deadline.over_six_months",
                "deadline.issue_after_anchor",
                "deadline.late_reason",
                "deadline.calendar",
            }
        ),
    ),
    # _check_correction reports each broken correction rule as the finding's ``rule``.
    ("audit/entries.py", "rule"): (
        "rule",
        frozenset(
            {
                "correction.reason",
                "correction.target_unknown",
                "correction.number",
                "correction.target_final",
                "correction.lineage_name_and_id_number",
            }
        ),
    ),
    # A witness's refusal (anchor/witness.py _Refused) is stored with the rule it broke.
    ("anchor/witness.py", "None if refusal is None else refusal.rule"): (
        "rule",
        frozenset(
            {
                "witness.rewritten",
                "witness.shrunk",
                "witness.manifest",
                "witness.signature",
                "witness.inconsistent",
            }
        ),
    ),
}

#: Ids the scan derives that the code can never raise: ``_check_text`` (validation.py) has a
#: maximum length only for the holder name, so ``f"{field}.length"`` is never another field's.
NOT_RAISED: frozenset[str] = frozenset(
    {"occupation_name.length", "work_type_name.length", "organisation_name.length"}
)

_CJK = re.compile(r"[\u3400-\u9fff]")
_PLACEHOLDER = re.compile(r"\{|\}|%[sdr]|\bTODO\b|\bFIXME\b|\bTBD\b|\bXXX\b|lorem", re.I)
_SCANNED_ROLES = (Role.RULE, Role.FINDING, Role.FLAG)


@pytest.fixture(scope="module")
def scan() -> tuple[list[Site], list[Unresolved]]:
    return Scan(ROOT).sites()


def raised(sites: list[Site]) -> dict[Role, set[str]]:
    """Every id raised, by role: the scan's, the unfollowed sites', less the never-raised."""
    out: dict[Role, set[str]] = defaultdict(set)
    for site in sites:
        out[Role(site.role)] |= site.ids
    for role, ids in UNFOLLOWED.values():
        out[Role(role)] |= ids
    for ids in out.values():
        ids -= NOT_RAISED
    return out


# -- the code against the catalogue --------------------------------------------------------------


def test_every_id_the_code_raises_is_catalogued_with_its_role(
    scan: tuple[list[Site], list[Unresolved]],
) -> None:
    sites, _ = scan
    by_role = raised(sites)
    missing = sorted(
        f"{rule_id} ({role.value})"
        for role, ids in by_role.items()
        for rule_id in ids
        if not rule_id.endswith("*") and rule_id not in CATALOGUE
    )
    assert not missing, f"raised but not in node/core/rules/ids.py: {missing}"
    wrong_role = sorted(
        f"{rule_id}: raised as {role.value}, catalogued as "
        f"{sorted(r.value for r in CATALOGUE[rule_id].roles)}"
        for role, ids in by_role.items()
        for rule_id in ids
        if rule_id in CATALOGUE and role not in CATALOGUE[rule_id].roles
    )
    assert not wrong_role, wrong_role


def test_ids_computed_from_unknown_parts_are_catalogued_families(
    scan: tuple[list[Site], list[Unresolved]],
) -> None:
    sites, _ = scan
    patterns = {i for site in sites for i in site.ids if "*" in i}
    # request.<pydantic type> and http.<status> (api/app.py); the scan must see both.
    assert patterns == {"request.*", "http.*"}
    for pattern in patterns:
        assert pattern in CATALOGUE and CATALOGUE[pattern].family, pattern


def test_the_scan_follows_every_id_argument_but_the_listed_ones(
    scan: tuple[list[Site], list[Unresolved]],
) -> None:
    _, unresolved = scan
    found = {(u.path, u.source): u.role for u in unresolved}
    unlisted = sorted(set(found) - set(UNFOLLOWED))
    assert not unlisted, (
        f"rule ids the scan cannot follow: {unlisted}; raise a literal id, or list the site "
        "and its ids in UNFOLLOWED"
    )
    assert set(UNFOLLOWED) <= set(found), "UNFOLLOWED lists a site that is gone"
    for key, role in found.items():
        assert UNFOLLOWED[key][0] == role, key


def test_unfollowed_ids_are_literals_of_their_file() -> None:
    for (path, _), (_, ids) in UNFOLLOWED.items():
        tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
        literals = {
            n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and n.value in ids
        }
        assert literals == ids, (path, sorted(ids - literals))


def test_not_raised_ids_are_derived_by_the_scan_and_not_catalogued(
    scan: tuple[list[Site], list[Unresolved]],
) -> None:
    sites, _ = scan
    derived = {i for site in sites for i in site.ids}
    assert derived >= NOT_RAISED
    assert not NOT_RAISED & set(CATALOGUE)


def test_every_catalogued_id_is_raised_or_marked_reserved(
    scan: tuple[list[Site], list[Unresolved]],
) -> None:
    sites, _ = scan
    by_role = raised(sites)
    for role in _SCANNED_ROLES:
        catalogued = {e.id for e in CATALOGUE.with_role(role) if not e.reserved}
        unused = sorted(catalogued - by_role[role])
        assert not unused, f"catalogued as {role.value} but never raised so: {unused}"
        reserved = {e.id for e in CATALOGUE.with_role(role) if e.reserved}
        assert not reserved & by_role[role], "raised ids are not reserved: drop the mark"


def test_result_codes_checks_and_reasons_are_exactly_the_verifiers_and_the_tables() -> None:
    def ids(role: Role) -> set[str]:
        return {e.id for e in CATALOGUE.with_role(role)}

    assert ids(Role.RESULT) == {f"result.{code.value}" for code in ResultCode}
    assert ids(Role.CHECK) == {f"check.{name}" for name, _ in CHECKS}
    assert ids(Role.REASON) == {f"reason.{int(code)}" for code in Reason}
    for code, info in REASONS.items():
        entry = explain_reason(int(code))
        assert (entry.zh, entry.en, entry.source) == (
            info.zh + "。",
            info.en[0].upper() + info.en[1:] + ".",
            info.source,
        )


def test_finding_kinds_are_the_catalogues_findings_in_report_order() -> None:
    findings = CATALOGUE.with_role(Role.FINDING)
    assert {e.id: e.en for e in findings} == FINDING_KINDS
    assert list(FINDING_KINDS)[:2] == ["checkpoint.order", "checkpoint.conflict"]
    Finding("deadline.over_six_months", "44", "late")
    with pytest.raises(ValueError, match="unknown finding kind"):
        Finding("certnum.length", "44", "a rule, not a finding kind")


# -- the sentences -------------------------------------------------------------------------------


@pytest.mark.parametrize("entry", list(entries()), ids=lambda e: e.id)
def test_sentences_are_real_chinese_and_english(entry: RuleText) -> None:
    assert entry.zh.strip() and entry.en.strip()
    assert _CJK.search(entry.zh), "the Chinese sentence has no Chinese"
    assert re.search(r"[A-Za-z]{2,}", entry.en), "the English sentence has no English"
    assert entry.zh.endswith("。") and entry.en.endswith("."), "whole sentences"
    for text in (entry.zh, entry.en, entry.source):
        assert not _PLACEHOLDER.search(text), text
        # Cite documents and articles, never files outside the repository.
        assert "seeds/" not in text and "shared/" not in text and "/work" not in text
    assert entry.zh != entry.en


def test_sources_cite_documents_articles_or_standards() -> None:
    cited = [e.source for e in entries() if e.source]
    assert len(cited) > 150  # most rules come from a policy document or a standard
    for source in cited:
        assert re.search(r"〔\d{4}〕\d+号|指引|RFC \d+|GB|《", source), source


def test_ids_are_dotted_lowercase_except_result_codes() -> None:
    for rule_id in CATALOGUE:
        if rule_id.startswith("result."):
            assert re.fullmatch(r"result\.[A-Z_]+", rule_id)
        elif rule_id != "format" and rule_id != "address":  # certreg contract deploy's two
            assert re.fullmatch(r"[a-z][a-z0-9_]*(\.([a-z0-9_]+|\*))+", rule_id), rule_id


# -- the API ---------------------------------------------------------------------------------------


def test_explain_an_id_a_family_and_an_unknown_id() -> None:
    entry = explain("certnum.province.node")
    assert entry.id == "certnum.province.node" and Role.RULE in entry.roles
    assert explain("request.missing") is CATALOGUE["request.*"]
    assert explain("http.405") is CATALOGUE["http.*"]
    assert explain("http.404") is CATALOGUE["http.404"]  # its own entry wins over the family
    assert lookup("no.such.rule") is None
    with pytest.raises(UnknownRuleId, match=r"'no\.such\.rule' is not in the catalogue"):
        explain("no.such.rule")
    with pytest.raises(UnknownRuleId):
        explain("request.")  # a family covers ids with a rest, not the bare prefix


def test_explain_results_checks_and_reasons() -> None:
    assert explain_result("REVOKED").id == "result.REVOKED"
    assert explain_check("status").id == "check.status"
    assert explain_reason(106).zh == "评价机构上传证书数据有错误。"
    assert reason_action(106) == ("撤销", "revocation")
    assert reason_action(601) == ("逾期上传", "late upload")
    with pytest.raises(UnknownRuleId):
        explain_reason(3)
    with pytest.raises(UnknownRuleId):
        reason_action(3)
    with pytest.raises(UnknownRuleId):
        explain_result("OUTDATED")  # not a result code
    assert explain_result("STALE").id == "result.STALE"


def test_the_catalogue_is_immutable_and_refuses_an_id_twice() -> None:
    with pytest.raises(TypeError):
        CATALOGUE["x"] = CATALOGUE["certnum.length"]  # type: ignore[index]
    with pytest.raises(AttributeError):
        CATALOGUE["certnum.length"].zh = "改"  # type: ignore[misc]
    twice = [CATALOGUE["certnum.length"], CATALOGUE["certnum.length"]]
    with pytest.raises(ValueError, match="catalogued twice"):
        Catalogue(twice)


def test_entry_json_is_what_the_api_and_the_cli_print() -> None:
    entry = explain("query.two_of_three")
    assert entry.to_json() == {
        "zh": "查询证书须提供证书编号、持证人姓名和证件号码中的至少两项。",
        "en": "A query gives at least two of certificate number, holder name and ID number.",
        "source": "中就培发〔2022〕1号 art. 20",
    }


# -- the generated copies --------------------------------------------------------------------------


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "make_rule_catalogue", ROOT / "scripts" / "make_rule_catalogue.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_pages_catalogue_is_a_fresh_generation() -> None:
    committed = (ROOT / "api" / "static" / "js" / "rules.js").read_text(encoding="utf-8")
    assert committed == _generator().render_js(), "run `make rules`"
    for rule_id in CATALOGUE:
        assert f'  "{rule_id}": {{' in committed


def test_the_rules_document_is_a_fresh_generation() -> None:
    committed = (ROOT / "docs" / "RULES.md").read_text(encoding="utf-8")
    assert committed == _generator().render_markdown(), "run `make rules`"
    for entry in entries():
        assert entry.zh in committed and entry.en in committed
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    api = (ROOT / "docs" / "API.md").read_text(encoding="utf-8")
    assert "docs/RULES.md" in readme and "(RULES.md)" in api


# -- the scan itself -------------------------------------------------------------------------------


def test_the_scan_finds_what_a_synthetic_package_raises(tmp_path: Path) -> None:
    """The scan on a package written for it: literals, helpers found by their ``rule``
    parameter, f-strings resolved through call sites, constants across modules, forwarding,
    families, and an argument it cannot follow."""
    package = tmp_path / "node"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "names.py").write_text('PREFIX = "thing"\n')
    (package / "errors.py").write_text(
        textwrap.dedent(
            """
            class InvalidInput(Exception):
                def __init__(self, field, rule, message):
                    self.rule = rule
            """
        )
    )
    (package / "rules.py").write_text(
        textwrap.dedent(
            """
            from node.errors import InvalidInput
            from node.names import PREFIX

            KIND = "size"

            def plain():
                raise InvalidInput("f", "plain.literal", "m")

            def helper(field, rule):
                raise InvalidInput(field, rule, "m")  # forwards: counted at helper's calls

            def use_helper():
                helper("f", "helper.literal")

            def text(field):
                raise InvalidInput(field, f"{field}.empty", "m")

            def texts():
                text("name")
                text("title")

            def constant():
                local = f"{PREFIX}.{KIND}"
                raise InvalidInput("f", local, "m")

            def reraise(exc):
                raise InvalidInput("f", exc.rule, "m")

            def family(kind):
                raise InvalidInput("f", f"request.{kind.upper()}", "m")

            def lost(rules):
                for rule_id in rules:
                    raise InvalidInput("f", rule_id, "m")
            """
        )
    )
    sites, unresolved = Scan(tmp_path, ("node",)).sites()
    found = set().union(*(site.ids for site in sites))
    assert found == {
        "plain.literal",
        "helper.literal",
        "name.empty",
        "title.empty",
        "thing.size",
        "request.*",
    }
    assert [(u.path, u.source) for u in unresolved] == [("node/rules.py", "rule_id")]
