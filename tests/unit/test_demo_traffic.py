"""The demo's load generator: every request counted, versions over time, failures with their reason.

A local HTTP server plays the Service: it answers a version that the test switches, then is closed so that
requests fail; the report must show both, in order.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from ferry.demo.traffic import Traffic, TrafficReport


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    version = "1.0.0"


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        body = f"{self.server.version}\n".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def _wait_for(probe: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if probe():
            return
        time.sleep(0.02)
    raise AssertionError("timed out")


def test_counts_every_request_and_sees_the_versions_in_order_then_the_failures() -> None:
    server = _Server(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    traffic = Traffic("127.0.0.1", server.server_address[1], rate=200, workers=4, timeout=1).start()
    _wait_for(lambda: traffic._total >= 20)
    server.version = "1.0.1"
    seen = traffic._total
    _wait_for(lambda: traffic._total >= seen + 20)
    server.shutdown()
    server.server_close()
    failed_from = traffic._total
    _wait_for(lambda: traffic._total >= failed_from + 5)
    report = traffic.stop()

    assert report.versions() == ["1.0.0", "1.0.1"]
    assert report.failed >= 5 and report.total == len(report.answers) + report.failed
    # after the server closed: refused; a request in flight at that moment may be reset instead
    assert report.failures["ConnectionRefusedError: Connection refused"] >= 1
    assert all(reason.startswith("Connection") for reason in report.failures), report.failures
    assert report.answers == sorted(report.answers)
    assert report.rate > 0 and report.lines()[0].startswith(f"{report.total} requests in ")


def test_timeline_groups_seconds_with_the_same_versions() -> None:
    answers = [(0.1, "1.0.0"), (1.5, "1.0.0"), (2.2, "1.0.0"), (2.7, "1.0.1"), (3.1, "1.0.1"), (4.0, "1.0.1")]
    report = TrafficReport(7, Counter({"HTTP 503 draining": 1}), 5.0, answers, [3.5])
    assert report.timeline() == [
        "0-1 s: 1.0.0 (1.0.0: 2)",
        "2 s: 1.0.0 + 1.0.1 (1.0.0: 1, 1.0.1: 1)",
        "3 s: 1.0.1 + FAILED (1.0.1: 1, FAILED: 1)",
        "4 s: 1.0.1 (1.0.1: 1)",
    ]
    assert report.lines()[-1] == "  failure: HTTP 503 draining: 1"
