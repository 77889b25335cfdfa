"""Backends for the end-to-end tests that probe real services: HTTP servers on loopback
addresses (threads of the test process), a port free on several addresses, and polling."""

import http.server
import os
import socket
import ssl
import threading
import time


# Fast probe settings shared by the health and policy tests, and the failover bounds they
# imply: interval x fall (or rise) + timeout, plus a second for scheduling and queries.
# SCALE stretches the settings, the slack and the waits alike: the sanitizer build runs its
# tests beside the Release build on two cores, where a threaded Python backend was seen to
# take longer than 0.4 s to answer a healthy probe, so tests/CMakeLists.txt sets
# STEERDNS_TEST_TIME_SCALE=3 there. The bound asserted stays the same formula.
SCALE = float(os.environ.get("STEERDNS_TEST_TIME_SCALE", "1"))
INTERVAL, TIMEOUT, RISE, FALL = round(0.5 * SCALE, 3), round(0.4 * SCALE, 3), 2, 2
SLACK = round(1.0 * SCALE, 3)
TIMING = {"interval": INTERVAL, "timeout": TIMEOUT, "rise": RISE, "fall": FALL}
DOWN_BOUND = INTERVAL * FALL + TIMEOUT + SLACK
UP_BOUND = INTERVAL * RISE + TIMEOUT + SLACK


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def do_GET(self):  # noqa: N802
        mode = self.server.mode  # type: ignore[attr-defined]
        host = self.headers.get("Host", "").split(":")[0]
        if mode in ("500", "503"):
            status, body = int(mode), b"broken"
        elif mode == "wrongbody":
            status, body = 200, b"nope"
        elif self.server.want_host and host != "www.example.com":  # type: ignore[attr-defined]
            status, body = 421, b"wrong host"
        elif self.path in ("/healthz", "/"):
            status, body = 200, b"ok"
        else:
            status, body = 404, b"no such path"
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):  # keep the test output readable
        pass


class KeepAliveHandler(Handler):
    """HTTP/1.1: the connection stays open for the client's next request."""
    protocol_version = "HTTP/1.1"

    def do_GET(self):  # noqa: N802
        self.server.requests += 1  # type: ignore[attr-defined]
        super().do_GET()


class CountingServer(http.server.ThreadingHTTPServer):
    """Counts the TCP connections it accepts; drop() closes the open ones, as a restarted
    server would."""
    connections = 0
    requests = 0

    def get_request(self):
        conn = super().get_request()
        self.connections += 1
        self.__dict__.setdefault("accepted", []).append(conn[0])
        return conn

    def drop(self) -> None:
        for sock in self.__dict__.get("accepted", []):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class HttpBackend:
    """keepalive=True answers HTTP/1.1 and keeps connections open; `connections` and
    `requests` count what it accepted (kept across stop/start)."""

    def __init__(self, addr: str, port: int, mode: str = "ok", want_host: bool = True,
                 tls: ssl.SSLContext = None, keepalive: bool = False):
        self.addr, self.port, self.mode, self.want_host, self.tls = addr, port, mode, want_host, tls
        self.keepalive = keepalive
        self.httpd = None
        self.thread = None
        self.counted = (0, 0)  # of the servers stopped so far

    @property
    def connections(self) -> int:
        return self.counted[0] + (self.httpd.connections if self.httpd else 0)

    @property
    def requests(self) -> int:
        return self.counted[1] + (self.httpd.requests if self.httpd else 0)

    def start(self) -> None:
        httpd = CountingServer((self.addr, self.port),
                               KeepAliveHandler if self.keepalive else Handler)
        httpd.daemon_threads = True
        httpd.mode = self.mode  # type: ignore[attr-defined]
        httpd.want_host = self.want_host  # type: ignore[attr-defined]
        if self.tls is not None:
            httpd.socket = self.tls.wrap_socket(httpd.socket, server_side=True)
        self.httpd = httpd
        self.thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)
        self.thread.start()

    def stop(self) -> None:
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.httpd.drop()
            self.counted = (self.connections, self.requests)
            self.httpd = None


def common_port(addrs: list) -> int:
    """A TCP port free on every address in `addrs`."""
    for _ in range(100):
        probe = socket.socket()
        probe.bind((addrs[0], 0))
        port = probe.getsockname()[1]
        probe.close()
        ok = True
        for a in addrs:
            s = socket.socket()
            try:
                s.bind((a, port))
            except OSError:
                ok = False
            finally:
                s.close()
        if ok:
            return port
    raise RuntimeError("no common free port")


def listening_socket(addr: str, port: int, backlog: int = 64,
                     timeout: float = 0.1) -> socket.socket:
    """A TCP socket listening on addr:port (SO_REUSEADDR), its accept() bounded by timeout."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(backlog)
    s.settimeout(timeout)
    return s


def wait_until(cond, timeout: float, step: float = 0.05):
    """Seconds until cond() held, or None."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if cond():
            return time.monotonic() - start
        time.sleep(step)
    return None
