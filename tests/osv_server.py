"""A small OSV-compatible server on 127.0.0.1 for pip-audit's ``--osv-url``, serving recorded advisories.

It answers ``POST /v1/query`` like api.osv.dev: the advisories whose ``affected`` entry names
the package and lists the version. ``mode`` makes it misbehave for the failure tests.
"""

from __future__ import annotations

import datetime
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def load_records(folder: Path) -> list[dict[str, Any]]:
    yaml = YAML(typ="safe")
    records = []
    for path in sorted(folder.rglob("*")):
        if path.suffix == ".json":
            records.append(json.loads(path.read_text()))
        elif path.suffix in (".yaml", ".yml"):
            records.append(yaml.load(path.read_text()))
    return records


def _jsonable(value: Any) -> Any:
    """YAML timestamps as OSV writes them: RFC 3339 in UTC with a 'Z'."""
    if isinstance(value, datetime.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(datetime.timezone.utc).replace(tzinfo=None)
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, datetime.date):
        return value.isoformat() + "T00:00:00Z"
    raise TypeError(type(value).__name__)


class OsvServer:
    def __init__(self, records: list[dict[str, Any]]):
        self.records = records
        self.mode = "normal"  # normal | garbage | error
        self.queries: list[dict[str, Any]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                server.queries.append(body)
                if server.mode == "error":
                    self._send(500, b'{"code": 13, "message": "internal error"}')
                elif server.mode == "garbage":
                    self._send(200, b"<html>this is not the OSV API</html>")
                else:
                    vulns = server.matching(body["package"]["name"], body["version"])
                    self._send(200, json.dumps({"vulns": vulns} if vulns else {}, default=_jsonable).encode())

            def _send(self, status: int, payload: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1/query"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def matching(self, name: str, version: str) -> list[dict[str, Any]]:
        found = []
        for record in self.records:
            for affected in record.get("affected", []):
                package = affected.get("package", {})
                if _canonical(package.get("name", "")) == _canonical(name) and version in affected.get("versions", []):
                    found.append(record)
                    break
        return found

    def __enter__(self) -> OsvServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
