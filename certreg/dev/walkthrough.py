"""The cross-province walkthrough (docs/DEV.md) against a running ``certreg dev up``.

1. **issue**: two certificates of a Guangdong (44) organisation, signed with the data set's
   issuer key, are submitted through Guangdong's API (``POST /v1/certificates``, the issuer's
   API key) and anchored by Guangdong's worker; their bundles are fetched from Guangdong's API.
2. **isolate Guangdong**: its API server and worker are stopped (by PID) and its SQLite database
   is moved out of its place (and made mode 000), so that nothing can read it unnoticed: opening
   the node would create a new, empty file at the old path.
3. **Henan names Guangdong unreachable**: Henan's search for the first certificate (by its
   number, which routes to Guangdong) answers no match and ``unanswered: {"44":
   "unreachable"}``: the caller is told Guangdong is down, not that the certificate is unknown.
   **verify through Henan**: the first bundle, ``POST /v1/verify`` on Henan's (41) API: VALID.
4. **verify offline**: ``certreg snapshot`` of the chain, then ``certreg verify BUNDLE --snapshot``
   (no network at all): VALID.
5. **restore Guangdong**: no file appeared at the database's path and the moved file's bytes are
   unchanged (SHA-256), so Guangdong's database was not touched; it is put back and Guangdong's
   API and worker are started again.
   **an employer platform queries across provinces**: the sharing partner of Henan's agreement
   (``certreg dev up`` records it) asks Henan's API about the first certificate by number and by
   name + ID number, with its ``businessCode`` and ``itemCode``: Henan forwards both to
   Guangdong, which checks the agreement itself and answers with the name in full and the ID
   number masked, as the agreement says; the holder, proving all three fields to Guangdong,
   sees the platform's reads with their purpose and case number in Guangdong's access log.
6. **revoke**: Guangdong's issuer revokes the first certificate through Guangdong's API; once its
   worker has anchored the entry and written the status, Henan answers REVOKED and a fresh
   offline snapshot says REVOKED.
7. **correct**: Guangdong's operator corrects the second certificate's holder name (reason 401,
   data guide art. 14) with a re-signed row; the old bundle verifies SUPERSEDED and the
   successor's bundle VALID, through Henan and offline.
8. **admit Beijing by vote**: a fourth province, 11 北京, joins by majority vote: Guangdong's
   operator proposes it through Guangdong's API (``POST /v1/consortium/proposals``, with
   Beijing's fresh operator account), Henan approves with ``certreg consortium approve --dir``
   (its node's key), and Hunan executes through its API; Beijing's node (``DIR/nodes/11``,
   talking to Guangdong's chain endpoint) then files an organisation, takes in three
   certificates and anchors them: checkpoint 0 of log 11 is on chain. On a later run Beijing is
   a member already and only its anchored log is checked.
9. **witnessing**: each of Guangdong, Henan and Hunan runs ``certreg node witness --once`` (its
   running worker also witnesses every few seconds): each checks every member's final
   checkpoints against the tree it witnessed before (manifest, entry signatures, RFC 9162
   consistency) and cosigns them with its checkpoint-signing key, then collects the other
   members' statements from their APIs; Henan's ``GET /v1/cosignatures`` then shows
   Guangdong's latest checkpoint cosigned by all three and ``witnessed`` (a threshold of the
   members), with no refusal.
10. **audit**: ``certreg audit`` replays the chain and every manifest from genesis, with
   Guangdong's access-log export checked against the heads its manifests anchored: clean (on a
   second run, but for the certificates step 11 backdated before).
11. **a backdated certificate is disputed**: Beijing's node takes in a certificate whose receipt
    its operator dates 400 days back (issued two days before that: on time as recorded) and
    anchors it today; Henan's ``POST /v1/verify`` re-runs the public rules and answers DISPUTED
    (anchored more than six months after the issue date).
12. **audit statements reach verifiers through a signed snapshot**: ``certreg audit --publish``
    with Henan's operator key finds that certificate and nothing else, stores one statement per
    province in IPFS and references each on chain; Henan's ``GET /v1/snapshot`` is signed by
    Henan and cosigned by the peers that rebuilt it (a majority of the trust root's members) and
    carries the statements; ``certreg verify --trust-root --snapshot`` then trusts it: the
    corrected certificate is VALID, the backdated one DISPUTED.

Each step prints what it did and its outcome; :func:`run_walkthrough` returns the steps and stops
at the first that does not hold (Guangdong is restored whatever happens). The certificates are
synthetic (made-up names, ID numbers that are nobody's); nothing printed carries personal data.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import hashlib
import io
import json
import os
import random
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import requests

from certreg.dev.consortium import DevState, _Run, _Say, load_keys, load_state, node_dir
from certreg.dev.processes import DevError, ProcessRecord, is_ours, read_records, stop
from node.core.time import china_date
from node.storage.files import write_private_json

ISSUER_PROVINCE = "44"
VERIFIER_PROVINCE = "41"
#: The province the walkthrough admits by vote (11 北京).
NEW_PROVINCE = "11"
REVOKE_REASON = 106  # ERRONEOUS_UPLOAD (node/core/rules/reasons.py, misconduct guide)
CORRECT_REASON = 401  # HOLDER_NAME_ERROR (data guide art. 14)
WAIT_SECONDS = 90.0
UNAVAILABLE_RETRIES = 20
#: The steps, in order (the walkthrough holds when every one does).
STEP_NAMES = (
    "issue in Guangdong",
    "isolate Guangdong",
    "Henan names Guangdong unreachable",
    "verify through Henan",
    "verify offline",
    "Guangdong untouched, restored",
    "an employer platform queries across provinces",
    "revoke",
    "correct",
    "admit Beijing by vote",
    "witnessing",
    "audit",
    "a backdated certificate is disputed",
    "audit statements reach verifiers through a signed snapshot",
)
#: What the auditor finds about the certificate the walkthrough backdated (Beijing, on a run
#: before): anchored more than six months after its issue date.
BACKDATED_KINDS = frozenset({"deadline.over_six_months"})
#: How far back the backdated certificate's receipt is dated (over six months before today).
BACKDATED_DAYS = 400
#: Suffix of Guangdong's database files while they are moved aside.
AWAY = ".walkthrough-away"
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平"


@dataclasses.dataclass(frozen=True, slots=True)
class Step:
    """One walkthrough step: what it did and whether it held."""

    name: str
    ok: bool
    detail: str

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


class StepFailed(Exception):
    """A step did not hold (the message says what was expected and what came)."""


@dataclasses.dataclass
class _Issued:
    """A certificate the walkthrough issued (its signed row stays in memory only)."""

    number: str
    commitment: str
    row: dict[str, Any]
    bundle: dict[str, Any] | None = None


class Walkthrough:
    """The walkthrough's state between steps (see the module docstring)."""

    def __init__(self, directory: Path, say: Callable[[str], None]) -> None:
        self.directory = directory.resolve()
        state = load_state(self.directory)
        if state is None or not state.ready:
            raise DevError(f"no consortium in {self.directory}: run certreg dev up first")
        self.state: DevState = state
        self.keys = load_keys(self.directory)
        self.say = say
        self.out = self.directory / "walkthrough"
        self.out.mkdir(exist_ok=True)
        self.environment = _calendar_environment(self.directory)
        self.first: _Issued | None = None
        self.second: _Issued | None = None
        self.successor: _Issued | None = None
        self._moved: list[tuple[Path, Path, str]] | None = None
        self.backdated_bundle_json: dict[str, Any] = {}

    # -- plumbing -------------------------------------------------------------------------

    def _url(self, province: str, path: str) -> str:
        return f"{self.state.api_url(province)}{path}"

    def _headers(self, province: str, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[province][role]}"}

    def _post(self, province: str, path: str, body: Any, role: str | None = None) -> Any:
        headers = self._headers(province, role) if role else {}
        reply = requests.post(self._url(province, path), json=body, headers=headers, timeout=60)
        return reply

    def _get(self, province: str, path: str, role: str | None = None) -> requests.Response:
        headers = self._headers(province, role) if role else {}
        return requests.get(self._url(province, path), headers=headers, timeout=60)

    def _verify_henan(self, bundle: dict[str, Any]) -> str:
        reply = self._post(VERIFIER_PROVINCE, "/v1/verify", bundle)
        for _ in range(UNAVAILABLE_RETRIES):
            # 503 node.unavailable: Henan's snapshot of the chain could not be brought forward
            # this time (seen while the chain mines a block mid-replay); it asks for a retry.
            if reply.status_code != 503:
                break
            time.sleep(0.5)
            reply = self._post(VERIFIER_PROVINCE, "/v1/verify", bundle)
        if reply.status_code != 200:
            raise StepFailed(f"Henan's /v1/verify answered {reply.status_code}: {reply.text[:300]}")
        result: str = reply.json()["result"]
        return result

    def _certreg(
        self, *args: str, secrets: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """``certreg ARGS`` in the walkthrough's environment (with ``secrets`` added: values a
        command reads as ``env:NAME``, never on its command line)."""
        environment = self.environment
        if secrets:
            environment = {**(self.environment or os.environ), **secrets}
        return subprocess.run(
            [sys.executable, "-m", "certreg", *args],
            capture_output=True,
            env=environment,
            text=True,
            timeout=600,
            check=False,
        )

    def _store_arguments(self) -> list[str]:
        """Where ``certreg audit`` reads manifests and statements: the consortium's IPFS node,
        else its shared manifest folder."""
        if self.state.ipfs_url is not None:
            return ["--ipfs", self.state.ipfs_url]
        return ["--manifests", str(self.directory / "manifests")]

    def _snapshot(self, name: str) -> Path:
        path = self.out / name
        done = self._certreg(
            "snapshot", "--rpc", self.state.chain_url, "--contract", self.state.contract_address,
            "-o", str(path), "--quiet",
        )  # fmt: skip
        if done.returncode != 0:
            raise StepFailed(f"certreg snapshot exited {done.returncode}: {done.stderr[-500:]}")
        return path

    def _verify_offline(self, bundle: dict[str, Any], name: str, snapshot: Path) -> str:
        path = self.out / name
        write_private_json(path, bundle)
        done = self._certreg("verify", str(path), "--snapshot", str(snapshot), "--json", "--quiet")
        if done.returncode not in (0, 1):
            raise StepFailed(f"certreg verify exited {done.returncode}: {done.stderr[-500:]}")
        result: str = json.loads(done.stdout)["result"]
        return result

    def _wait(self, what: str, check: Callable[[], bool]) -> None:
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            if check():
                return
            time.sleep(0.5)
        raise StepFailed(f"timed out after {WAIT_SECONDS:.0f} s waiting for {what}")

    def _bundle(self, commitment: str) -> dict[str, Any] | None:
        """The bundle from Guangdong's API once anchored (None before)."""
        reply = self._get(ISSUER_PROVINCE, f"/v1/certificates/{commitment}/bundle", "operator")
        if reply.status_code == 200:
            value: dict[str, Any] = reply.json()
            return value
        return None

    def _anchored_bundle(self, commitment: str) -> dict[str, Any]:
        found: list[dict[str, Any]] = []

        def anchored() -> bool:
            status = self._get(ISSUER_PROVINCE, f"/v1/certificates/{commitment}/status")
            if status.status_code != 200 or status.json().get("checkpoint_index") is None:
                return False
            bundle = self._bundle(commitment)
            if bundle is not None:
                found.append(bundle)
            return bool(found)

        self._wait(f"Guangdong's worker to anchor {commitment[:16]}…", anchored)
        return found[0]

    # -- certificates ------------------------------------------------------------------------

    def _issuer(self) -> Any:
        """The data set's Guangdong issuer whose API key ``up`` created, with its private key.

        The organisations are generated again from the recorded seed (the data set is
        deterministic) and checked against the filing Guangdong serves.
        """
        from certreg.dev import dataset

        code = self.keys[ISSUER_PROVINCE]["issuer_organisation"]
        index = list(self.state.api_ports).index(ISSUER_PROVINCE)
        organisations = dataset.synthetic_organisations(
            ISSUER_PROVINCE, self.state.organisations_per_province, seed=self.state.seed + index
        )
        [organisation] = [o for o in organisations if o.filing.code == code]
        served = self._get(ISSUER_PROVINCE, f"/v1/organisations/{code}").json()
        from node.core.crypto.signatures import get_suite

        public = get_suite(organisation.suite).public_key(organisation.private_key).hex()
        if public not in json.dumps(served):
            raise StepFailed(
                f"organisation {code}: the regenerated issuer key is not the filed one"
            )
        return organisation

    def _template(self, code: str) -> tuple[dict[str, Any], dict[tuple[int, int], int]]:
        """A data-set row of ``code`` (for its scope and names) and its highest serial per
        (year, level)."""
        from node.core.rules.certnum import parse_certificate_number

        template: dict[str, Any] | None = None
        top: dict[tuple[int, int], int] = {}
        path = self.directory / "data" / ISSUER_PROVINCE / "submissions.jsonl"
        with path.open(encoding="utf-8") as rows:
            for line in rows:
                row = json.loads(line)
                if row["organisation_code"] != code:
                    continue
                template = template or row
                number = parse_certificate_number(row["certificate_number"])
                key = (int(row["issue_date"][:4]), int(row["level"]))
                top[key] = max(top.get(key, 0), number.serial)
        if template is None:
            raise StepFailed(f"the data set has no certificate of {code}")
        return template, top

    def _issue(self, organisation: Any, label: str) -> _Issued:
        """Sign a new certificate of ``organisation`` issued today and submit it through
        Guangdong's API; the serial is the next free one (a used serial is refused with
        ``serial.duplicate`` and the next is tried, so no serial is skipped)."""
        from certreg.dev.sample import synthetic_id_number
        from node.core.certificate import Certificate
        from node.core.formats.snapshot import Network
        from node.core.issuer import sign_certificate, submission_row

        code = organisation.filing.code
        template, top = self._template(code)
        today = china_date(dt.datetime.now(dt.UTC))
        level = int(template["level"])
        serial = top.get((today.year, level), 0) + 1
        rng = random.Random(f"walkthrough|{label}|{time.time_ns()}")
        network = Network(
            chain_id=self.state.chain_id,
            contract=bytes.fromhex(self.state.contract_address[2:]),
        )
        key_id = int(template["key_id"])
        for _ in range(200):
            fields = {
                name: template[name]
                for name in (
                    "id_type", "occupation_name", "occupation_code", "work_type_name",
                    "work_type_code", "organisation_name", "organisation_code",
                )
            }  # fmt: skip
            certificate = Certificate(
                holder_name=rng.choice(_SURNAMES) + rng.choice(_GIVEN) + rng.choice(_GIVEN),
                id_number=synthetic_id_number(rng),
                level=level,
                certificate_number=f"{code}{today.year % 100:02d}{level}{serial:06d}",
                issue_date=today.isoformat(),
                **{**fields, "id_type": "resident_id"},
            )
            salted, signature = sign_certificate(
                certificate,
                network,
                suite=template["signature_suite"],
                private_key=organisation.private_key,
                key_id=key_id,
            )
            row = submission_row(salted, signature)
            reply = self._post(ISSUER_PROVINCE, "/v1/certificates", row, "issuer")
            if reply.status_code == 201:
                body = reply.json()
                return _Issued(body["certificate_number"], body["commitment"], row)
            problem = reply.json() if reply.headers.get("content-type", "").endswith("json") else {}
            if problem.get("rule") == "serial.duplicate":
                serial += 1
                continue
            raise StepFailed(
                f"Guangdong refused the certificate: {reply.status_code} "
                f"{problem.get('field')} {problem.get('rule')}"
            )
        raise StepFailed("no free serial found")

    # -- the steps ----------------------------------------------------------------------

    def issue(self) -> str:
        organisation = self._issuer()
        self.first = self._issue(organisation, "first")
        self.second = self._issue(organisation, "second")
        self.first.bundle = self._anchored_bundle(self.first.commitment)
        self.second.bundle = self._anchored_bundle(self.second.commitment)
        return (
            f"{self.first.number} and {self.second.number} issued by {organisation.filing.code} "
            "through Guangdong's API, anchored by its worker, bundles fetched"
        )

    def _database(self) -> Path:
        from province.config import load_config

        url = load_config(node_dir(self.directory, ISSUER_PROVINCE)).database
        if not url.startswith("sqlite:///"):
            raise StepFailed(f"Guangdong's database is not a SQLite file: {url.split(':')[0]}")
        return Path(url.removeprefix("sqlite:///"))

    def isolate(self) -> str:
        records = read_records(self.directory)
        names = {f"api-{ISSUER_PROVINCE}", f"worker-{ISSUER_PROVINCE}"}
        report = stop([r for r in records if r.name in names])
        _write_records(self.directory, [r for r in records if r.name not in names])
        database = self._database()
        # The database with its WAL and shared-memory files, moved aside together (a WAL may
        # hold committed transactions not yet in the main file).
        moved: list[tuple[Path, Path, str]] = []
        for path in _sqlite_files(database):
            if path.exists():
                away = path.with_name(path.name + AWAY)
                moved.append((path, away, hashlib.sha256(path.read_bytes()).hexdigest()))
                os.replace(path, away)
                os.chmod(away, 0o000)
        self._moved = moved
        moved_names = ", ".join(p.name for p, _, _ in moved)
        return "; ".join(report) + f"; {moved_names} moved aside and made mode 000"

    def _search(self, province: str, params: dict[str, str], key: str | None = None) -> Any:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        url = self._url(province, "/v1/certificates/search")
        for _ in range(UNAVAILABLE_RETRIES):
            reply = requests.get(url, params=params, headers=headers, timeout=60)
            if reply.status_code != 429:  # the public search is rate limited per client
                break
            time.sleep(float(reply.headers.get("Retry-After", "1")))
        if reply.status_code != 200:
            raise StepFailed(
                f"{province}'s search answered {reply.status_code}: {reply.text[:300]}"
            )
        return reply.json()

    def guangdong_down(self) -> str:
        assert self.first is not None
        number = self.first.number
        query = {"certificate_number": number, "name": self.first.row["holder_name"]}
        got = self._search(VERIFIER_PROVINCE, query)
        if got.get("unanswered") != {ISSUER_PROVINCE: "unreachable"} or got.get("matches"):
            raise StepFailed(f"Henan's answer while Guangdong is down: {got}")
        return f"Henan's search for {number}: no match, unanswered {got['unanswered']}"

    def partner(self) -> str:
        assert self.first is not None
        row = self.first.row
        key = self.keys[VERIFIER_PROVINCE]["partner"]
        audit = {
            "username": "王招聘",
            "itemName": "入职技能核验",
            "itemCode": "ZP-001",
            "businessCode": f"ZP-{self.first.number[-6:]}",
            "UseFor": "招聘核验",
        }
        shown = []
        for query in (
            {"certificate_number": self.first.number, "name": row["holder_name"]},
            {"name": row["holder_name"], "id_number": row["id_number"]},
        ):
            got = self._search(VERIFIER_PROVINCE, {**query, **audit}, key)
            found = [m for m in got["matches"] if m["commitment"] == self.first.commitment]
            if not found or got["unanswered"]:
                raise StepFailed(f"the platform's query through Henan gave {got['unanswered']}")
            fields = found[0].get("certificate") or {}
            masked = "*" in str(fields.get("id_number"))
            if fields.get("holder_name") != row["holder_name"] or not masked:
                raise StepFailed("the platform did not see what its agreement says")
            shown.append(" + ".join(sorted(query)))
        holder = {
            "certificate_number": self.first.number,
            "name": row["holder_name"],
            "id_number": row["id_number"],
        }
        url = self._url(ISSUER_PROVINCE, "/v1/holder/access-log")
        reads = requests.get(url, params=holder, timeout=60)
        if reads.status_code != 200:
            raise StepFailed(f"the holder's access log: {reads.status_code} {reads.text[:300]}")
        platform = [
            r
            for r in reads.json()["reads"]
            if r["role"] == "partner" and r["businessCode"] == audit["businessCode"]
        ]
        if len(platform) != 2 or {r["via"] for r in platform} != {VERIFIER_PROVINCE}:
            raise StepFailed(f"Guangdong's access log holds {platform}")
        agreement = self.keys[VERIFIER_PROVINCE]["partner_agreement"]
        return (
            f"the employer platform of agreement {agreement} asked Henan by "
            + " and by ".join(shown)
            + "; Guangdong answered (name in full, ID number masked) and its access log shows "
            f"the holder both reads with businessCode {audit['businessCode']}"
        )

    def verify_henan(self) -> str:
        assert self.first is not None and self.first.bundle is not None
        result = self._verify_henan(self.first.bundle)
        if result != "VALID":
            raise StepFailed(f"Henan answered {result}, expected VALID")
        return f"POST {self.state.api_url(VERIFIER_PROVINCE)}/v1/verify: VALID"

    def verify_offline(self) -> str:
        assert self.first is not None and self.first.bundle is not None
        snapshot = self._snapshot("snapshot-1.json")
        result = self._verify_offline(self.first.bundle, "first.json", snapshot)
        if result != "VALID":
            raise StepFailed(f"offline verification gave {result}, expected VALID")
        return f"certreg verify {self.out.name}/first.json --snapshot {snapshot.name}: VALID"

    def restore(self) -> str:
        """Check the moved database was not touched, put it back, restart Guangdong."""
        if self._moved is None:
            return "nothing to restore"
        moved, self._moved = self._moved, None
        database = moved[0][0]
        appeared = [p.name for p in _sqlite_files(database) if p.exists()]
        for path in _sqlite_files(database):  # keep the evidence out of the way
            if path.exists():
                os.replace(path, path.with_name(path.name + ".unexpected"))
        changed = []
        for path, away, digest in moved:
            os.chmod(away, 0o600)
            if hashlib.sha256(away.read_bytes()).hexdigest() != digest:
                changed.append(path.name)
            os.replace(away, path)
        self._restart_guangdong()
        if appeared:
            raise StepFailed(f"something opened Guangdong's database: {appeared} appeared")
        if changed:
            raise StepFailed(f"Guangdong's database changed while moved aside: {changed}")
        return (
            "no file appeared at Guangdong's database paths and the moved files' bytes are "
            "unchanged (SHA-256); database restored, Guangdong's API and worker restarted"
        )

    def _restart_guangdong(self) -> None:
        records = [r for r in read_records(self.directory) if is_ours(r)]
        run = _Run(self.directory, self.state, _Say(quiet=True), self.environment)
        run.records = records
        api = run.start_api(ISSUER_PROVINCE)
        run.start_worker(ISSUER_PROVINCE)
        run.wait_api(ISSUER_PROVINCE, api)

    def revoke(self) -> str:
        assert self.first is not None and self.first.bundle is not None
        path = f"/v1/certificates/{self.first.commitment}/revoke"
        reply = self._post(ISSUER_PROVINCE, path, {"reason": REVOKE_REASON}, "issuer")
        if reply.status_code != 200:
            raise StepFailed(f"Guangdong refused the revocation: {reply.status_code} {reply.text}")
        bundle = self.first.bundle
        self._wait("Henan to see the revocation", lambda: self._verify_henan(bundle) == "REVOKED")
        snapshot = self._snapshot("snapshot-2.json")
        result = self._verify_offline(bundle, "first.json", snapshot)
        if result != "REVOKED":
            raise StepFailed(f"the fresh offline snapshot gives {result}, expected REVOKED")
        return (
            f"{self.first.number} revoked by its issuer (reason {REVOKE_REASON}); Henan: REVOKED; "
            f"offline with {snapshot.name}: REVOKED"
        )

    def correct(self) -> str:
        from node.core.certificate import FIELD_NAMES, Certificate
        from node.core.formats.snapshot import Network
        from node.core.issuer import sign_certificate, submission_row

        assert self.second is not None and self.second.bundle is not None
        organisation = self._issuer()
        row = self.second.row
        fields = {k: row[k] for k in FIELD_NAMES}
        name = str(fields["holder_name"])
        fields["holder_name"] = name[:-1] + ("强" if name[-1] != "强" else "伟")
        network = Network(
            chain_id=self.state.chain_id, contract=bytes.fromhex(self.state.contract_address[2:])
        )
        salted, signature = sign_certificate(
            Certificate(**fields),
            network,
            suite=row["signature_suite"],
            private_key=organisation.private_key,
            key_id=int(row["key_id"]),
        )
        corrected = submission_row(salted, signature)
        body = {
            "row": corrected,
            "reason": CORRECT_REASON,
            "requested_by": "walkthrough",
        }
        path = f"/v1/certificates/{self.second.commitment}/correct"
        reply = self._post(ISSUER_PROVINCE, path, body, "operator")
        if reply.status_code != 201:
            raise StepFailed(f"Guangdong refused the correction: {reply.status_code} {reply.text}")
        successor = reply.json()["commitment"]
        old = self.second.bundle
        self._wait("Henan to see the supersession", lambda: self._verify_henan(old) == "SUPERSEDED")
        new = self._anchored_bundle(successor)
        self.successor = _Issued(self.second.number, successor, corrected, new)
        henan_new = self._verify_henan(new)
        snapshot = self._snapshot("snapshot-3.json")
        offline_old = self._verify_offline(old, "second.json", snapshot)
        offline_new = self._verify_offline(new, "second-corrected.json", snapshot)
        got = (henan_new, offline_old, offline_new)
        if got != ("VALID", "SUPERSEDED", "VALID"):
            raise StepFailed(
                f"expected Henan VALID for the successor, offline SUPERSEDED / VALID; got {got}"
            )
        return (
            f"{self.second.number} corrected (reason {CORRECT_REASON}): old version SUPERSEDED "
            "(Henan and offline), successor VALID (Henan and offline)"
        )

    def admit(self) -> str:
        """Beijing (11) joins by a vote of the founders, then anchors its first checkpoint."""
        from anchor.chain import RegistryClient, connect

        reader = RegistryClient.connect(
            self.state.chain_url, self.state.contract_address, sender="0x" + "00" * 20
        )
        folder = node_dir(self.directory, NEW_PROVINCE)
        if reader.is_member(int(NEW_PROVINCE)):
            count = reader.checkpoint_count(int(NEW_PROVINCE))
            if count < 1 or not (folder / "node.json").is_file():
                raise StepFailed(f"{NEW_PROVINCE} is a member without an anchored log")
            return f"{NEW_PROVINCE} 北京 is a member already; its log has {count} checkpoint(s)"
        operator_key = "0x" + os.urandom(32).hex()
        from eth_account import Account

        operator = Account.from_key(operator_key).address
        w3 = connect(self.state.chain_url)
        funding = w3.eth.send_transaction(
            {"from": w3.eth.accounts[0], "to": operator, "value": w3.to_wei(1000, "ether")}
        )
        w3.eth.wait_for_transaction_receipt(funding, timeout=WAIT_SECONDS)
        body = {"kind": "admit", "province": NEW_PROVINCE, "operators": [operator]}
        reply = self._post(ISSUER_PROVINCE, "/v1/consortium/proposals", body, "operator")
        if reply.status_code != 201:
            raise StepFailed(f"Guangdong's proposal: {reply.status_code} {reply.text[:300]}")
        proposal = reply.json()["id"]
        done = self._certreg(
            "consortium", "approve", str(proposal),
            "--dir", str(node_dir(self.directory, VERIFIER_PROVINCE)), "--json",
        )  # fmt: skip
        if done.returncode != 0 or json.loads(done.stdout)["state"] != "ready":
            raise StepFailed(f"Henan's approval: {done.stdout[-300:]} {done.stderr[-300:]}")
        reply = self._post("43", f"/v1/consortium/proposals/{proposal}/execute", {}, "operator")
        if reply.status_code != 200 or reply.json()["state"] != "executed":
            raise StepFailed(f"Hunan's execution: {reply.status_code} {reply.text[:300]}")
        if not reader.is_member(int(NEW_PROVINCE)):
            raise StepFailed(f"{NEW_PROVINCE} is not a member after the vote")
        anchored = self._beijing_anchors(folder, operator_key)
        return (
            f"proposal {proposal} (admit {NEW_PROVINCE} 北京 with operator {operator}): proposed "
            f"by Guangdong's API, approved by Henan's `certreg consortium approve`, executed by "
            f"Hunan's API; Beijing's node filed an organisation, took in {anchored} "
            "certificates and anchored them: checkpoint 0 of log 11 is on chain"
        )

    def _beijing_anchors(self, folder: Path, operator_key: str) -> int:
        """Beijing's node: ``node.json``, one organisation filed, certificates anchored."""
        from certreg.dev import dataset
        from certreg.dev.consortium import _ingest, _provisional_calendar, _write_submissions
        from node.core.formats.snapshot import Network
        from province.config import load_config, new_config, write_config
        from province.node import ProvinceNode

        config = new_config(
            folder,
            province=NEW_PROVINCE,
            rpc=self.state.chain_url,
            contract=self.state.contract_address,
            operator_key=operator_key,
            ipfs=self.state.ipfs_url,
            batch_size=1000,
            max_age_seconds=2.0,
            engine=self.state.engine,
        )
        if config.manifest_directory is not None:  # the consortium's shared folder
            config = dataclasses.replace(config, manifest_directory=self.directory / "manifests")
        write_config(config, folder)
        calendar = _provisional_calendar(self.directory, _Say(quiet=True), None).workdays
        organisations = dataset.synthetic_organisations(NEW_PROVINCE, 1, seed=self.state.seed)
        network = Network(
            chain_id=self.state.chain_id, contract=bytes.fromhex(self.state.contract_address[2:])
        )
        today = china_date(dt.datetime.now(dt.UTC))
        count = 3
        submissions = _write_submissions(
            self.directory / "data" / NEW_PROVINCE, organisations, network, count,
            self.state.seed, today, calendar,
        )  # fmt: skip
        node = ProvinceNode.open(load_config(folder), calendar=calendar)
        try:
            node.organisations.file(organisations[0].filing, actor="walkthrough")
            _ingest(node, submissions, count, today, _Say(quiet=True))
            _anchor_everything(node)
            status = node.status()
            on_chain = node.client.checkpoint_count(int(NEW_PROVINCE))
        finally:
            node.close()
        if on_chain < 1 or status.anchored_size != count:
            raise StepFailed(
                f"Beijing anchored {status.anchored_size} of {count} ({on_chain} checkpoints)"
            )
        return count

    def backdated(self) -> str:
        """Beijing takes in a certificate received (as its operator records) 400 days ago and
        anchors it today: Henan's verification re-runs the rules and disputes it."""
        number, received = self._beijing_backdated(node_dir(self.directory, NEW_PROVINCE))
        bundle = self.backdated_bundle_json
        reply = self._post(VERIFIER_PROVINCE, "/v1/verify", bundle)
        verdict = reply.json() if reply.status_code == 200 else {}
        kinds = [d.get("kind") for d in verdict.get("disputes", [])]
        if verdict.get("result") != "DISPUTED" or "deadline.over_six_months" not in kinds:
            raise StepFailed(f"Henan answered {reply.status_code} {reply.text[:400]}")
        return (
            f"Beijing took in {number} (received {received}, as its operator recorded) and "
            f"anchored it today; Henan's POST /v1/verify: DISPUTED "
            f"({', '.join(str(k) for k in kinds)})"
        )

    def _beijing_backdated(self, folder: Path) -> tuple[str, str]:
        """One certificate of Beijing's organisation, received ``BACKDATED_DAYS`` ago, taken
        in and anchored by Beijing's node (its bundle kept); its number and receipt day."""
        from certreg.dev import dataset
        from certreg.dev.consortium import _provisional_calendar
        from node.core.formats.snapshot import Network
        from node.core.formats.submissions import read_submission
        from province.config import load_config
        from province.node import ProvinceNode

        calendar = _provisional_calendar(self.directory, _Say(quiet=True), None).workdays
        organisations = dataset.synthetic_organisations(NEW_PROVINCE, 1, seed=self.state.seed)
        network = Network(
            chain_id=self.state.chain_id, contract=bytes.fromhex(self.state.contract_address[2:])
        )
        received = china_date(dt.datetime.now(dt.UTC)) - dt.timedelta(days=BACKDATED_DAYS)
        record = self.out / "backdated.json"
        node = ProvinceNode.open(load_config(folder), calendar=calendar)
        try:
            if record.is_file():
                # A run before backdated one: it is verified again (a second one would leave
                # a gap in the organisation's serials).
                kept = json.loads(record.read_text(encoding="utf-8"))
                bundle = node.bundles.bundle(bytes.fromhex(kept["commitment"]))
                self.backdated_bundle_json = bundle.to_json()
                return str(kept["number"]), str(kept["received"])
            [row] = dataset.synthetic_submissions(
                organisations, network, 1, seed=self.state.seed, received_on=received,
                calendar=calendar, late_share=0.0,
            )  # fmt: skip
            [outcome] = node.intake.iter_per_row(
                read_submission(io.BytesIO(row.line.encode("utf-8")), "jsonl"),
                received_on=received,
                actor="walkthrough",
            )
            if outcome.accepted is None:
                raise StepFailed(f"Beijing refused the row: {outcome.error}")
            commitment = outcome.accepted.commitment
            _anchor_everything(node)
            status = node.status()
            if status.anchored_size != status.log_size:
                raise StepFailed("Beijing did not anchor the backdated certificate")
            self.backdated_bundle_json = node.bundles.bundle(commitment).to_json()
        finally:
            node.close()
        facts = {
            "commitment": commitment.hex(),
            "number": row.certificate_number,
            "received": received.isoformat(),
        }
        record.write_text(json.dumps(facts) + "\n", encoding="ascii")
        return row.certificate_number, received.isoformat()

    def signed_snapshot(self) -> str:
        """``certreg audit --publish``; Henan's signed snapshot carries the statements and is
        trusted with the trust root: the successor VALID, the backdated certificate DISPUTED."""
        from province.config import load_config

        assert self.successor is not None and self.successor.bundle is not None
        store = self._store_arguments()
        henan = load_config(node_dir(self.directory, VERIFIER_PROVINCE))
        report_path = self.out / "audit-published.json"
        done = self._certreg(
            "audit", "--rpc", self.state.chain_url, "--contract", self.state.contract_address,
            *store, "--report", str(report_path),
            "--publish", "--key", "env:CERTREG_WALKTHROUGH_AUDITOR_KEY",
            secrets={"CERTREG_WALKTHROUGH_AUDITOR_KEY": henan.operator_private_key() or ""},
        )  # fmt: skip
        published = [line for line in done.stdout.splitlines() if line.startswith("published")]
        try:
            report = json.loads(report_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            report = {}
        if done.returncode != 1 or not _backdated_findings(report) or not published:
            raise StepFailed(f"certreg audit --publish exited {done.returncode}: findings "
                             f"{report.get('finding_counts')} {done.stderr[-600:]}")  # fmt: skip
        snapshot = self._wait_for_statements(len(published))
        signers = [s["province"] for s in snapshot["signatures"]]
        path = self.out / "snapshot-henan.json"
        path.write_text(json.dumps(snapshot), encoding="ascii")
        root = self.directory / "trust-root.json"
        results = {}
        for name, bundle in (("successor", self.successor.bundle),
                             ("backdated", self.backdated_bundle_json)):  # fmt: skip
            bundle_path = self.out / f"{name}-trusted.json"
            write_private_json(bundle_path, bundle)
            done = self._certreg("verify", str(bundle_path), "--snapshot", str(path),
                                 "--trust-root", str(root), "--json", "--quiet")  # fmt: skip
            if done.returncode not in (0, 1):
                raise StepFailed(f"certreg verify exited {done.returncode}: {done.stderr[-500:]}")
            results[name] = json.loads(done.stdout)
        if (results["successor"]["result"], results["backdated"]["result"]) != (
            "VALID",
            "DISPUTED",
        ):
            raise StepFailed(
                f"with the trust root: successor {results['successor']['result']}, backdated "
                f"{results['backdated']['result']}"
            )
        return (
            f"certreg audit --publish: {len(published)} statements (Beijing's names the "
            f"backdated certificate); Henan's /v1/snapshot signed by {', '.join(signers)} and "
            f"carrying {len(snapshot['audits'])} statements; certreg verify --trust-root: the "
            "corrected certificate VALID, the backdated one DISPUTED"
        )

    def _wait_for_statements(self, count: int) -> dict[str, Any]:
        """Henan's signed snapshot once it carries the ``count`` statements just published."""
        found: dict[str, Any] = {}

        def carried() -> bool:
            nonlocal found
            reply = self._get(VERIFIER_PROVINCE, "/v1/snapshot")
            found = reply.json() if reply.status_code == 200 else {}
            return len(found.get("audits", ())) >= count and len(found.get("signatures", ())) >= 2

        self._wait("Henan's snapshot to carry the statements", carried)
        return found

    def witnessing(self) -> str:
        provinces = (ISSUER_PROVINCE, VERIFIER_PROVINCE, "43")
        cosigned = refused = 0
        for _ in range(2):  # the second round collects what the others cosigned in the first
            for province in provinces:
                done = self._certreg(
                    "node", "witness", "--dir", str(node_dir(self.directory, province)),
                    "--once", "--json", "--quiet",
                )  # fmt: skip
                if done.returncode != 0:
                    raise StepFailed(
                        f"certreg node witness of {province} exited {done.returncode}: "
                        f"{done.stderr[-500:]}"
                    )
                counts = json.loads(done.stdout.splitlines()[-1])
                cosigned += counts["cosigned"]
                refused += counts["refused"]
        status = self._get(ISSUER_PROVINCE, "/v1/status").json()
        latest = int(status["checkpoints"]) - 1
        while latest > 0:  # the latest confirmed one (a newer one waits for its block)
            listed = self._get(ISSUER_PROVINCE, f"/v1/checkpoints/{latest}").json()
            if listed.get("state") == "confirmed":
                break
            latest -= 1
        reply = self._get(VERIFIER_PROVINCE, f"/v1/cosignatures?province=44&index={latest}")
        if reply.status_code != 200:
            raise StepFailed(f"Henan's /v1/cosignatures answered {reply.status_code}")
        body = reply.json()
        views = body["checkpoints"]
        if refused or len(views) != 1 or not views[0]["witnessed"] or views[0]["refused_by"]:
            raise StepFailed(f"Guangdong's checkpoint {latest} is not witnessed: {views}")
        if not set(provinces) <= set(views[0]["cosigned_by"]):
            raise StepFailed(f"Guangdong's checkpoint {latest} cosigned by {views[0]}")
        cids = sorted(s["cid"] for s in body["statements"])
        return (
            f"{cosigned} cosignatures made in this step, none refused; Henan shows Guangdong's "
            f"checkpoint {latest} cosigned by {', '.join(views[0]['cosigned_by'])} (threshold "
            f"{body['threshold']} of {len(body['members'])} members): witnessed; statements "
            f"published as {', '.join(cids)}"
        )

    def audit(self) -> str:
        report_path = self.out / "audit.json"
        export = self._get(ISSUER_PROVINCE, "/v1/access-log/export", "auditor")
        if export.status_code != 200:
            raise StepFailed(f"Guangdong's access-log export: {export.status_code}")
        export_path = self.out / "access-log-44.jsonl"
        export_path.write_text(export.text, encoding="ascii")
        store = self._store_arguments()
        done = self._certreg(
            "audit", "--rpc", self.state.chain_url, "--contract", self.state.contract_address,
            *store, "--json", "--report", str(report_path),
            "--access-log", f"{ISSUER_PROVINCE}={export_path}",
        )  # fmt: skip
        try:
            report = json.loads(report_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise StepFailed(
                f"certreg audit exited {done.returncode}: {done.stderr[-800:]}"
            ) from None
        counts = report.get("counts", {})
        earlier = _backdated_findings(report)
        if done.returncode not in (0, 1) or (not report.get("clean") and earlier is None):
            raise StepFailed(
                f"certreg audit exited {done.returncode}: findings {report.get('finding_counts')}"
            )
        records = len(export.text.splitlines())
        clean = "clean" if not earlier else f"clean but for {earlier} backdated by a run before"
        return (
            f"certreg audit: {clean}; {counts.get('provinces')} provinces, "
            f"{counts.get('checkpoints')} checkpoints, {counts.get('entries')} entries, "
            f"{counts.get('status_changes')} status changes replayed from genesis; Guangdong's "
            f"{records} access records reach every anchored head"
        )


def _backdated_findings(report: dict[str, Any]) -> int | None:
    """The number of findings of an audit report when every one is about a certificate the
    walkthrough backdated in Beijing (None when another finding is there)."""
    findings = report.get("findings", [])
    if all(f.get("province") == NEW_PROVINCE and f.get("kind") in BACKDATED_KINDS
           for f in findings):  # fmt: skip
        return len(findings)
    return None


def _anchor_everything(node: Any) -> None:
    """Anchor what the node took in: one pass sends the checkpoint; on an engine that waits
    for confirmations (Clique) later passes confirm it once final."""
    deadline = time.monotonic() + WAIT_SECONDS
    node.anchor_all()
    while (status := node.status()).anchored_size < status.log_size:
        if time.monotonic() > deadline:
            return
        time.sleep(0.5)
        node.anchor_once(force=True)


def _sqlite_files(database: Path) -> list[Path]:
    return [database, *(database.with_name(database.name + s) for s in ("-wal", "-shm"))]


def _write_records(directory: Path, records: list[ProcessRecord]) -> None:
    from certreg.dev.processes import write_records

    write_records(directory, records)


@contextlib.contextmanager
def _restored(walk: Walkthrough) -> Iterator[None]:
    """Put Guangdong back whatever happens (a failed step must not leave it moved aside)."""
    try:
        yield
    finally:
        if walk._moved is not None:
            with contextlib.suppress(Exception):
                walk.restore()


def _calendar_environment(directory: Path) -> dict[str, str] | None:
    """The environment of the processes the walkthrough starts (``certreg audit``, Guangdong's
    services again): the working-day calendar files ``dev up`` wrote for the consortium, if it
    wrote any (provisional years of the synthetic data, province/calendars.py), named in
    ``CERTREG_CALENDAR`` so they count the same working days as the nodes; None: this
    process's environment as it is."""
    from province.calendars import environment_with

    made = sorted(
        (directory / "calendar").glob("*-*.json"), key=lambda p: int(p.stem.rsplit("-", 1)[1])
    )
    return environment_with(made) if made else None


def run_walkthrough(
    directory: Path, *, say: Callable[[str], None] = lambda line: print(line, flush=True)
) -> list[Step]:
    """Run the walkthrough against the consortium in ``directory``; return its steps (it stops
    at the first step that does not hold). Raises DevError when no consortium is up there."""
    walk = Walkthrough(directory, say)
    actions = (
        walk.issue, walk.isolate, walk.guangdong_down, walk.verify_henan, walk.verify_offline,
        walk.restore, walk.partner, walk.revoke, walk.correct, walk.admit, walk.witnessing,
        walk.audit, walk.backdated, walk.signed_snapshot,
    )  # fmt: skip
    plan: list[tuple[str, Callable[[], str]]] = list(zip(STEP_NAMES, actions, strict=True))
    steps: list[Step] = []
    with _restored(walk):
        for name, action in plan:
            try:
                detail = action()
            except Exception as exc:  # any failure ends the walkthrough as a failed step
                text = str(exc) if isinstance(exc, StepFailed) else f"{type(exc).__name__}: {exc}"
                steps.append(Step(name, False, text))
                say(f"[FAIL] {name}: {text}")
                break
            steps.append(Step(name, True, detail))
            say(f"[ ok ] {name}: {detail}")
    return steps
