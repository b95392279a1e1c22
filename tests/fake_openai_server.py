"""A scriptable OpenAI-compatible server on 127.0.0.1, for fault-handling tests."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeOpenAIServer:
    """Answers POST /v1/chat/completions with scripted statuses, delays and texts.

    Attributes:
        statuses: Status code per request in arrival order (200 after the list runs out).
        delay: Seconds to wait before answering each request.
        reply: Text of successful answers (may use {n}, the request number).
        bodies: The JSON bodies received.
        reject_fields: Body fields answered with HTTP 400 naming the field, as hosted APIs
            answer fields they do not know.
        max_in_flight: The most requests handled at the same time.
    """

    def __init__(
        self,
        statuses=(),
        delay=0.0,
        reply="What does it cost? [DECISION: maybe]",
        reject_fields=(),
    ):
        self.statuses = list(statuses)
        self.reject_fields = tuple(reject_fields)
        self.delay = delay
        self.reply = reply
        self.bodies: list[dict] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                with server._lock:
                    number = len(server.bodies)
                    server.bodies.append(body)
                    status = server.statuses[number] if number < len(server.statuses) else 200
                    message = f"scripted status {status}"
                    refused = [f for f in server.reject_fields if f in body]
                    if refused:
                        status = 400
                        message = f"Unrecognized request argument supplied: {refused[0]}"
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                try:
                    time.sleep(server.delay)
                    if status == 200:
                        payload = {
                            "id": f"c{number}",
                            "object": "chat.completion",
                            "created": 0,
                            "model": body.get("model", ""),
                            "choices": [
                                {
                                    "index": 0,
                                    "finish_reason": "stop",
                                    "message": {
                                        "role": "assistant",
                                        "content": server.reply.format(n=number),
                                    },
                                }
                            ],
                        }
                    else:
                        payload = {"error": {"message": message, "type": "test"}}
                    data = json.dumps(payload).encode()
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                finally:
                    with server._lock:
                        server.in_flight -= 1

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._server.shutdown()
        self._server.server_close()
