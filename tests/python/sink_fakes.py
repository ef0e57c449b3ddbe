"""Loopback receivers for the sink tests.

Elasticsearch and Loki cannot be installed here, so small fakes stand in for them: they check
the wire format kevents documents (docs/sinks.md) and answer like the real APIs, including
Elasticsearch's per-item bulk failures and 429s. The syslog receiver checks RFC 5424 messages
in RFC 6587 octet-counting frames. The NATS helper speaks the NATS text protocol to a real
`nats-server -js` to read back what JetStream stored.
"""

import base64
import hashlib
import hmac
import json
import re
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeHttp:
    """An HTTP server on a loopback port (HTTPS with an `ssl.SSLContext`); subclasses implement
    `handle`."""

    def __init__(self, tls=None, port=0):
        fake = self
        self.lock = threading.Lock()
        self.errors = []  # wire-format violations, asserted empty by tests
        self.down = False  # answer 503 to everything (a sink outage)

        class Handler(BaseHTTPRequestHandler):
            def _serve(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                if fake.down:
                    status, payload, ctype = 503, b'{"error":"unavailable"}', "application/json"
                else:
                    status, payload, ctype = fake.handle(self.command, self.path, self.headers, body)
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_POST = do_PUT = do_GET = _serve

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        if tls is not None:
            # A failed handshake raises from accept(), which the server skips.
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        scheme = "http" if tls is None else "https"
        self.url = f"{scheme}://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def check(self, condition, message):
        if not condition:
            with self.lock:
                self.errors.append(message)
        return condition

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def _json(status, value):
    return status, json.dumps(value).encode(), "application/json"


class FakeElasticsearch(FakeHttp):
    """`PUT /_index_template/<name>` and `POST /_bulk` with `create` actions.

    Documents are kept per (index, _id); a second `create` of an `_id` answers 409 like ES.
    `reject_reason`: events with this reason get a per-item 400 mapper_parsing_exception.
    `throttle_next`: the next N bulk requests answer 429 as a whole. `item_429`: every Nth
    item of a bulk gets a per-item 429 once.
    """

    def __init__(self, reject_reason="Poison", item_429=0):
        self.docs = {}
        self.templates = {}
        self.conflicts = 0
        self.bulk_requests = 0
        self.throttle_next = 0
        self.item_429 = item_429
        self.throttled_ids = set()
        self.reject_reason = reject_reason
        super().__init__()

    def handle(self, method, path, headers, body):
        if method == "PUT" and path.startswith("/_index_template/"):
            template = json.loads(body)
            self.check(template.get("index_patterns"), "template without index_patterns")
            self.check("mappings" in template.get("template", {}), "template without mappings")
            self.templates[path.rsplit("/", 1)[1]] = template
            return _json(200, {"acknowledged": True})
        if method == "POST" and path == "/_bulk":
            return self.bulk(headers, body)
        return _json(404, {"error": f"no route {method} {path}"})

    def bulk(self, headers, body):
        self.check(headers.get("Content-Type") == "application/x-ndjson", "bulk content type")
        self.check(body.endswith(b"\n"), "bulk body must end with a newline")
        with self.lock:
            self.bulk_requests += 1
            if self.throttle_next > 0:
                self.throttle_next -= 1
                return _json(429, {"error": {"type": "es_rejected_execution_exception"}, "status": 429})
        lines = body.decode().splitlines()
        if not self.check(len(lines) % 2 == 0, "bulk lines come in action/document pairs"):
            return _json(400, {"error": "odd line count"})
        items, errors = [], False
        for position, (action_line, doc_line) in enumerate(zip(lines[::2], lines[1::2])):
            action, doc = json.loads(action_line), json.loads(doc_line)
            meta = action.get("create")
            self.check(meta and meta.get("_index") and meta.get("_id"), f"bad action {action_line}")
            index, doc_id = meta["_index"], meta["_id"]
            self.check(re.fullmatch(r"kevents-\d{4}\.\d{2}\.\d{2}", index), f"index {index}")
            for field in ("@timestamp", "message", "event", "kubernetes", "orchestrator"):
                self.check(field in doc, f"document without {field}")
            with self.lock:
                if self.item_429 and position % self.item_429 == 0 and doc_id not in self.throttled_ids:
                    self.throttled_ids.add(doc_id)
                    errors = True
                    items.append({"create": {"_index": index, "_id": doc_id, "status": 429,
                                             "error": {"type": "es_rejected_execution_exception", "reason": "queue full"}}})
                elif doc.get("event", {}).get("reason") == self.reject_reason:
                    errors = True
                    items.append({"create": {"_index": index, "_id": doc_id, "status": 400,
                                             "error": {"type": "mapper_parsing_exception", "reason": "failed to parse field [message]"}}})
                elif (index, doc_id) in self.docs:
                    self.conflicts += 1
                    errors = True
                    items.append({"create": {"_index": index, "_id": doc_id, "status": 409,
                                             "error": {"type": "version_conflict_engine_exception"}}})
                else:
                    self.docs[(index, doc_id)] = doc
                    items.append({"create": {"_index": index, "_id": doc_id, "status": 201, "result": "created"}})
        return _json(200, {"took": 1, "errors": errors, "items": items})


class FakeLoki(FakeHttp):
    """`POST /loki/api/v1/push` (JSON). Entries are kept per stream; an identical (timestamp,
    line) in the same stream is dropped like Loki does. `throttle_next` requests answer 429."""

    LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")

    def __init__(self):
        self.streams = {}
        self.throttle_next = 0
        self.pushes = 0
        super().__init__()

    def handle(self, method, path, headers, body):
        if (method, path) != ("POST", "/loki/api/v1/push"):
            return _json(404, {"error": "not found"})
        self.check(headers.get("Content-Type") == "application/json", "push content type")
        with self.lock:
            self.pushes += 1
            if self.throttle_next > 0:
                self.throttle_next -= 1
                return 429, b"Ingestion rate limit exceeded", "text/plain"
        push = json.loads(body)
        for stream in push.get("streams", []):
            labels = stream.get("stream", {})
            self.check(0 < len(labels) <= 15, f"label count {labels}")
            for name, value in labels.items():
                self.check(self.LABEL.fullmatch(name) and isinstance(value, str) and value, f"label {name}={value!r}")
            key = tuple(sorted(labels.items()))
            for entry in stream.get("values", []):
                self.check(isinstance(entry, list) and len(entry) == 2, f"entry {entry}")
                ts, line = entry
                self.check(isinstance(ts, str) and ts.isdigit() and len(ts) >= 19, f"timestamp {ts!r}")
                with self.lock:
                    self.streams.setdefault(key, set()).add((ts, line))
        return 204, b"", "text/plain"

    def lines(self):
        with self.lock:
            return [json.loads(line) for entries in self.streams.values() for _, line in entries]


class WebhookReceiver(FakeHttp):
    """Records every POST body; checks the HMAC signature when a secret is given. `fail_first`:
    the first N requests are recorded but answered 503 (`failed` holds their bodies)."""

    def __init__(self, secret=None, tls=None, port=0, fail_first=0):
        self.secret = secret
        self.bodies = []
        self.failed = []
        self.fail_first = fail_first
        self.headers = []
        super().__init__(tls, port)

    def handle(self, method, path, headers, body):
        if self.secret is not None:
            expected = "sha256=" + hmac.new(self.secret.encode(), body, hashlib.sha256).hexdigest()
            self.check(headers.get("X-Kevents-Signature") == expected, "bad signature")
        with self.lock:
            self.headers.append({k.lower(): v for k, v in headers.items()})
            if self.fail_first > 0:
                self.fail_first -= 1
                self.failed.append(json.loads(body))
                return 503, b"try later", "text/plain"
            self.bodies.append(json.loads(body))
        return 200, b"ok", "text/plain"


RFC5424 = re.compile(
    r"<(?P<pri>\d{1,3})>1 (?P<ts>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?(Z|[+-]\d\d:\d\d)) "
    r"(?P<host>[!-~]{1,255}) (?P<app>[!-~]{1,48}) (?P<procid>[!-~]{1,128}) (?P<msgid>[!-~]{1,32}) "
    r"(?P<sd>-|(\[[^ \]=\"]+( [^ =\]\"]+=\"([^\"\\\]]|\\.)*\")*\])+)( (?P<msg>.*))?",
    re.S,
)


class SyslogReceiver:
    """A TCP (or, with an `ssl.SSLContext`, TLS) syslog receiver that parses octet-counting
    frames and RFC 5424 messages."""

    def __init__(self, tls=None):
        self.tls = tls
        self.messages = []
        self.errors = []
        self.lock = threading.Lock()
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen()
        self.address = f"127.0.0.1:{self.listener.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._read, args=(conn,), daemon=True).start()

    def _read(self, conn):
        buffer = b""
        if self.tls is not None:
            try:
                conn = self.tls.wrap_socket(conn, server_side=True)
            except OSError as e:
                self.errors.append(f"TLS handshake: {e}")
                return
        with conn:
            while True:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                buffer += chunk
                while b" " in buffer:
                    length, rest = buffer.split(b" ", 1)
                    if not length.isdigit():
                        self.errors.append(f"bad frame length {length[:20]!r}")
                        return
                    if len(rest) < int(length):
                        break
                    message, buffer = rest[: int(length)], rest[int(length):]
                    self._parse(message.decode("utf-8"))

    def _parse(self, text):
        match = RFC5424.fullmatch(text)
        with self.lock:
            if match is None:
                self.errors.append(f"not RFC 5424: {text[:200]!r}")
                return
            sd = dict(re.findall(r' (\w+)="((?:[^"\\]|\\.)*)"', match["sd"]))
            self.messages.append({**match.groupdict(), "params": sd})

    def close(self):
        self.listener.close()


class NatsClient:
    """Just enough of the NATS protocol to read a JetStream stream back."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.file = self.sock.makefile("rb")
        self.file.readline()  # INFO
        self.sock.sendall(b'CONNECT {"verbose":false,"headers":true}\r\nSUB _INBOX.test.* 1\r\n')
        self.seq = 0

    def request(self, subject, payload):
        self.seq += 1
        data = json.dumps(payload).encode()
        self.sock.sendall(f"PUB {subject} _INBOX.test.{self.seq} {len(data)}\r\n".encode() + data + b"\r\n")
        while True:
            line = self.file.readline().decode().strip()
            if line == "PING":
                self.sock.sendall(b"PONG\r\n")
            elif line.startswith("MSG") or line.startswith("HMSG"):
                size = int(line.split()[-1])
                body = self.file.read(size + 2)[:size]
                if line.split()[1] == f"_INBOX.test.{self.seq}":
                    return json.loads(body[body.find(b"{"):])

    def stream_messages(self, stream):
        info = self.request(f"$JS.API.STREAM.INFO.{stream}", {})
        state = info["state"]
        messages = []
        for seq in range(state["first_seq"], state["last_seq"] + 1):
            reply = self.request(f"$JS.API.STREAM.MSG.GET.{stream}", {"seq": seq})
            message = reply["message"]
            headers = base64.b64decode(message.get("hdrs", "")).decode()
            messages.append({"subject": message["subject"], "headers": headers,
                             "data": json.loads(base64.b64decode(message["data"]))})
        return messages

    def close(self):
        self.sock.close()
