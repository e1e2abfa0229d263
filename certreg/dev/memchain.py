"""The in-process EVM (eth-tester + py-evm) behind a small loopback JSON-RPC endpoint.

``certreg dev up --ephemeral`` runs the chain in this one background process instead of anvil:
nothing is written to disk, and the chain vanishes when the process stops. Serving it over
JSON-RPC on 127.0.0.1 lets every other process of the consortium (API servers, workers,
``certreg verify --rpc``, ``certreg snapshot``, ``certreg audit``) reach the same chain.

Requests go through web3's own request and result formatting for eth-tester
(``w3.manager.request_blocking``) and the results are turned back into JSON-RPC's wire form:
integers as hex quantities, bytes as hex data. Requests are served one at a time (eth-tester is
not thread-safe). Usage: ``python -m certreg.dev.memchain --port P``; it stops on SIGTERM.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from collections.abc import Mapping, Sequence
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

from web3 import EthereumTesterProvider, Web3
from web3.exceptions import ContractLogicError

from anchor import keep_recursion_limit
from anchor.chain import is_tester_revert, revert_bytes

MAX_BODY = 8 * 1024 * 1024
ZERO_ADDRESS = "0x" + "00" * 20


def to_wire(value: Any) -> Any:
    """A web3 result in JSON-RPC's encoding: ints as ``0x`` quantities, bytes as ``0x`` data."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return hex(value)
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    if isinstance(value, Mapping):
        return {str(k): to_wire(v) for k, v in value.items()}
    if isinstance(value, Sequence):
        return [to_wire(v) for v in value]
    return value


class MemoryChain:
    """One eth-tester chain answering JSON-RPC request objects, one request at a time."""

    def __init__(self) -> None:
        self.w3 = Web3(EthereumTesterProvider())
        keep_recursion_limit()  # the in-process EVM imports py-evm (see anchor/__init__.py)
        self._lock = threading.Lock()

    def _caller(self, call: dict[str, Any]) -> dict[str, Any]:
        """Read-only clients call views from the zero address; eth-tester checks that a call's
        sender can afford its gas, which the zero address cannot, so such calls are made from
        the first development account (views do not depend on the caller)."""
        sender = str(call.get("from") or ZERO_ADDRESS).lower()
        if sender != ZERO_ADDRESS:
            return call
        return {**call, "from": self.w3.eth.accounts[0]}

    def answer(self, request: Any) -> dict[str, Any]:
        """The JSON-RPC response object of one request object."""
        ident = request.get("id") if isinstance(request, dict) else None
        if not isinstance(request, dict) or not isinstance(request.get("method"), str):
            return _error(ident, -32600, "invalid request")
        params = request.get("params", [])
        if request["method"] == "eth_call" and params and isinstance(params[0], dict):
            params = [self._caller(params[0]), *params[1:]]
        try:
            with self._lock:
                result = self.w3.manager.request_blocking(request["method"], params)
        except Exception as exc:  # every failure is the request's error, not the server's
            if isinstance(exc, ContractLogicError) or is_tester_revert(exc):
                # A revert, with its data as a JSON-RPC node sends it (code 3, hex data), so that
                # the client decodes the contract's custom error.
                return _error(ident, 3, "execution reverted", "0x" + revert_bytes(exc).hex())
            return _error(ident, -32000, f"{type(exc).__name__}: {exc}")
        return {"jsonrpc": "2.0", "id": ident, "result": to_wire(result)}


def _error(ident: Any, code: int, message: str, data: str | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if data is not None:
        error["data"] = data
    return {"jsonrpc": "2.0", "id": ident, "error": error}


def make_server(port: int, chain: MemoryChain | None = None) -> HTTPServer:
    """An HTTP server on 127.0.0.1:``port`` answering JSON-RPC POSTs (single and batch)."""
    memory = chain or MemoryChain()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                self.send_error(413)
                return
            try:
                request = json.loads(self.rfile.read(length))
            except ValueError:
                reply: Any = _error(None, -32700, "parse error")
            else:
                if isinstance(request, list):
                    reply = [memory.answer(r) for r in request]
                else:
                    reply = memory.answer(request)
            body = json.dumps(reply).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # no access log: requests carry no personal data, but there are many

    return HTTPServer(("127.0.0.1", port), Handler)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m certreg.dev.memchain")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    server = make_server(args.port)

    def _stop(_signum: int, _frame: object) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    print(f"in-process EVM on http://127.0.0.1:{args.port}", flush=True)
    server.serve_forever()
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
