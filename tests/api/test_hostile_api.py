"""Hostile requests never crash, stall or leak (issue "Hostile input and contention"): deep JSON,
huge integers, lone surrogates, duplicate keys, oversized and chunked uploads, spoofed forwarded
headers, unlimited verification, echoed names and logged exception text.

One backend suffices here (SQLite, the in-process EVM): the refusals happen before any storage.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.app import create_app
from api.context import ApiSettings
from certreg.cli.serve import uvicorn_config
from node.storage import Database
from node.storage.schema import BulkJobResult, table_of
from province.node import ProvinceNode
from tests.api.conftest import Api, make_api
from tests.api.helpers import holder, row
from tests.api.test_api import _wait, refused
from tests.contract.conftest import Registry

pytestmark = [
    pytest.mark.parametrize("backend", ["sqlite"], indirect=True),
    pytest.mark.parametrize("chain", ["memory"], indirect=True),
]

DEEP = b"[" * 60_000  # under the 64 KiB body limit, 60,000 levels deep
HUGE_INTEGER = b'{"level": ' + b"7" * 4301 + b"}"


def test_deep_nesting_in_a_json_body_is_422(api: Api) -> None:
    headers = {**api.auth("issuer"), "content-type": "application/json"}
    for body in (DEEP, b'{"a":' * 10_000 + b"1" + b"}" * 10_000):
        answer = api.client.post("/v1/certificates", content=body, headers=headers)
        refused(answer, 422, "body", "json.depth")
    # Without a content type FastAPI parses JSON too: guarded the same way.
    answer = api.client.post("/v1/certificates", content=DEEP, headers=api.auth("issuer"))
    refused(answer, 422, "body", "json.depth")


def test_4301_digit_integer_is_422_or_malformed(api: Api) -> None:
    answer = api.client.post(
        "/v1/certificates",
        content=HUGE_INTEGER,
        headers={**api.auth("issuer"), "content-type": "application/json"},
    )
    refused(answer, 422, "body", "json.number")
    verified = api.client.post("/v1/verify", content=HUGE_INTEGER)
    assert verified.status_code == 200
    body = verified.json()
    assert body["result"] == "MALFORMED"
    assert "json.number" in body["checks"][0]["detail"]


def test_lone_surrogate_is_422(api: Api) -> None:
    good = row(api.node, 9)
    text = json.dumps(good).replace(json.dumps(good["holder_name"]), '"\\ud800"')
    answer = api.client.post(
        "/v1/certificates",
        content=text.encode(),
        headers={**api.auth("issuer"), "content-type": "application/json"},
    )
    refused(answer, 422, "body", "json.surrogate")
    verified = api.client.post("/v1/verify", content=b'{"a": "\\udc00"}').json()
    assert verified["result"] == "MALFORMED" and "json.surrogate" in verified["checks"][0]["detail"]


def test_duplicate_keys_are_refused(api: Api) -> None:
    good = row(api.node, 9)
    text = json.dumps(good)[:-1] + ', "level": 1}'
    answer = api.client.post(
        "/v1/certificates",
        content=text.encode(),
        headers={**api.auth("issuer"), "content-type": "application/json"},
    )
    refused(answer, 422, "body", "json.duplicate_key")
    assert api.node.status().log_size == 3


def test_an_unknown_key_is_neither_echoed_nor_stored(api: Api, database: Database) -> None:
    name = holder(9).holder_name
    good = row(api.node, 9)
    answer = api.client.post(
        "/v1/certificates", json={**good, name: "x"}, headers=api.auth("issuer")
    )
    assert answer.status_code == 422
    assert name not in answer.text
    # The same row in a bulk upload: the job's stored results do not hold the name either.
    line = json.dumps({**good, name: "x"}, ensure_ascii=False) + "\n"
    started = api.client.post(
        "/v1/certificates/bulk",
        content=line.encode(),
        headers={**api.auth("issuer"), "content-type": "application/x-ndjson"},
    )
    job = _wait(api, started.json()["id"])
    assert job["refused"] == 1 and job["results"][0]["rule"] == "intake.unknown_column"
    assert name not in json.dumps(job, ensure_ascii=False)
    with database.transaction() as session:
        stored = session.execute(select(table_of(BulkJobResult).c.result)).scalars().all()
    assert stored and name not in json.dumps(stored, ensure_ascii=False)


def test_a_deeply_nested_upload_line_is_one_refused_row(api: Api) -> None:
    lines = [json.dumps(row(api.node, 9)), "[" * 200_000, json.dumps(row(api.node, 10))]
    started = api.client.post(
        "/v1/certificates/bulk",
        content=("\n".join(lines) + "\n").encode(),
        headers={**api.auth("issuer"), "content-type": "application/x-ndjson"},
    )
    assert started.status_code == 202, started.text
    job = _wait(api, started.json()["id"])
    assert (job["state"], job["accepted"], job["refused"]) == ("done", 2, 1)
    assert (job["results"][1]["row"], job["results"][1]["rule"]) == (2, "json.depth")
    assert api.client.get("/v1/status").status_code == 200  # the server is still there


@pytest.fixture
def small_limits(database: Database, reg: Registry, tmp_path: Path) -> Iterator[Api]:
    settings = ApiSettings(
        max_body_bytes=2048,
        max_bulk_bytes=64 * 1024,
        verify_burst=3,
        verify_rate=0.01,
        static_dir=tmp_path,
    )
    yield from make_api(database, reg, tmp_path, settings)


def test_chunked_uploads_over_the_limit_are_413(small_limits: Api) -> None:
    c = small_limits.client

    def chunks(count: int) -> Iterator[bytes]:
        for _ in range(count):
            yield b"y" * 4096

    for path, count in (("/v1/certificates/bulk", 40), ("/v1/certificates", 2)):
        answer = c.post(path, content=chunks(count), headers=small_limits.auth("issuer"))
        refused(answer, 413, "body", "request.too_large")


def test_verification_is_rate_limited(small_limits: Api) -> None:
    c = small_limits.client
    for _ in range(3):
        assert c.post("/v1/verify", content=b"{}").json()["result"] == "MALFORMED"
    answer = c.post("/v1/verify", content=b"{}")
    refused(answer, 429, None, "rate.limited")
    assert int(answer.headers["Retry-After"]) >= 1


def test_an_unexpected_error_is_a_500_logged_by_type_only(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(api.node, ApiSettings(static_dir=Path("/nonexistent")))
    secret = holder(1).holder_name

    @app.get("/v1/boom")
    def boom() -> None:
        raise ValueError(f"a message quoting {secret}")

    # raise_server_exceptions: an exception reaching the server would fail the request here;
    # the server (uvicorn) would log its traceback with the message.
    with caplog.at_level(logging.DEBUG), TestClient(app, raise_server_exceptions=True) as client:
        answer = client.get("/v1/boom")
    refused(answer, 500, None, "node.error")
    logged = "\n".join(
        record.getMessage() + (str(record.exc_info) if record.exc_info else "")
        for record in caplog.records
    )
    assert "ValueError" in logged and secret not in logged and "Traceback" not in logged


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _served(node: ProvinceNode, settings: ApiSettings) -> Iterator[str]:
    import uvicorn

    port = _free_port()
    server = uvicorn.Server(uvicorn_config(create_app(node, settings), "127.0.0.1", port))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def _search_statuses(url: str, forwarded: list[str | None]) -> list[int]:
    person = holder(2)
    params = {"certificate_number": person.certificate_number, "name": person.holder_name}
    statuses = []
    with httpx.Client(base_url=url, timeout=30) as client:
        for value in forwarded:
            headers = {} if value is None else {"X-Forwarded-For": value}
            statuses.append(
                client.get("/v1/certificates/search", params=params, headers=headers).status_code
            )
    return statuses


def test_spoofed_forwarded_headers_are_ignored(api: Api, tmp_path: Path) -> None:
    spoofed: list[str | None] = [None, None] + [f"203.0.113.{i}" for i in range(1, 8)]
    settings = ApiSettings(search_rate=0.001, search_burst=2, static_dir=tmp_path)
    for url in _served(api.node, settings):
        # From a loopback peer, with no trusted proxy: one bucket whatever the header says.
        assert _search_statuses(url, spoofed) == [200, 200] + [429] * 7
    trusting = ApiSettings(
        search_rate=0.001, search_burst=2, static_dir=tmp_path, trusted_proxies=("127.0.0.1",)
    )
    for url in _served(api.node, trusting):
        # Behind a configured proxy the header names the client: one bucket per client.
        assert _search_statuses(url, ["198.51.100.1"] * 3 + ["198.51.100.2"]) == [
            200,
            200,
            429,
            200,
        ]


def test_a_4_mib_upload_is_processed_in_bounded_memory(api: Api) -> None:
    # Rows whose signature does not match (a changed name): each is parsed, checked and refused,
    # so the job walks the whole upload.
    base = row(api.node, 11)
    lines = []
    size = 0
    serial = 0
    while size < 4 * 1024 * 1024:
        serial += 1
        line = json.dumps({**base, "holder_name": f"测试{serial}"}, ensure_ascii=False) + "\n"
        lines.append(line)
        size += len(line.encode())
    body = "".join(lines).encode()
    del lines
    tracemalloc.start()
    try:
        started = api.client.post(
            "/v1/certificates/bulk",
            content=body,
            headers={**api.auth("issuer"), "content-type": "application/x-ndjson"},
        )
        assert started.status_code == 202, started.text
        job_id = started.json()["id"]
        deadline = time.monotonic() + 600
        while True:
            state = api.client.get(
                f"/v1/jobs/{job_id}", params={"limit": 1}, headers=api.auth("issuer")
            ).json()
            if state["state"] in ("done", "failed"):
                break
            assert time.monotonic() < deadline, state
            time.sleep(0.2)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (state["state"], state["processed"], state["refused"]) == ("done", serial, serial)
    # The body itself is held by the test client (allocated before tracing started).
    assert peak < 8 * 1024 * 1024, peak  # reading the whole upload at once peaked at 13 MB
    paged = api.client.get(
        f"/v1/jobs/{job_id}", params={"offset": serial - 2, "limit": 5}, headers=api.auth("issuer")
    ).json()
    assert [r["row"] for r in paged["results"]] == [serial - 1, serial]
    assert "next_offset" not in paged


def test_jobs_run_side_by_side(api: Api) -> None:
    # A long job does not hold up a one-row job (two bulk workers by default). Its rows are valid
    # certificates: refused rows (a changed name under the same signature) run so fast that the
    # whole long job could end before the short one is claimed. On SQLite the threads take
    # turns at the database (node.storage.database._WriteTurns): the long job's chunks do not
    # starve the short job's transactions.
    big = "".join(
        json.dumps(row(api.node, 1000 + i), ensure_ascii=False) + "\n" for i in range(3000)
    )
    headers = {**api.auth("issuer"), "content-type": "application/x-ndjson"}
    long_job = api.client.post("/v1/certificates/bulk", content=big.encode(), headers=headers)
    short = api.client.post(
        "/v1/certificates/bulk", content=(json.dumps(row(api.node, 13)) + "\n").encode(),
        headers=headers,
    )  # fmt: skip
    done = _wait(api, short.json()["id"])
    assert done["accepted"] == 1
    still: dict[str, Any] = api.client.get(
        f"/v1/jobs/{long_job.json()['id']}", params={"limit": 1}, headers=api.auth("issuer")
    ).json()
    assert still["state"] in ("queued", "running") and still["processed"] < 3000
