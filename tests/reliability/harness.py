"""A real gunicorn server on 127.0.0.1 and simulated staff talking to it over HTTP."""

from __future__ import annotations

import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path

CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
VENV_BIN = Path(sys.executable).parent
GUNICORN_CONF = Path(__file__).resolve().parents[2] / "gunicorn.conf.py"
# Every server started and not yet stopped: the conftest kills what a failed test left behind.
RUNNING: list[Server] = []


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    """gunicorn serving the app; ``kill9`` kills the master and every worker at once."""

    env: dict[str, str]
    workers: int = 4
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen | None = None

    def start(self, timeout: float = 30.0) -> None:
        gunicorn = VENV_BIN / "gunicorn"
        self.proc = subprocess.Popen(  # noqa: S603
            [
                str(gunicorn),
                "--config",
                str(GUNICORN_CONF),
                "--workers",
                str(self.workers),
                "--bind",
                f"127.0.0.1:{self.port}",
                "--timeout",
                "60",
                "--graceful-timeout",
                "5",
                "--log-level",
                "warning",
                "constituent:create_app()",
            ],
            env=self.env,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=open(self.log_path, "ab"),
        )
        RUNNING.append(self)
        try:
            self._wait_until_serving(timeout)
        except BaseException:
            self.kill9()  # never leave a half-started server behind
            raise

    @property
    def log_path(self) -> Path:
        return Path(self.env["CONSTITUENT_INSTANCE_PATH"]) / "gunicorn.log"

    def _wait_until_serving(self, timeout: float) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                status, _, _ = Browser(self).request("GET", "/login")
                if status == 200:
                    return
            except OSError:
                pass
            if self.proc.poll() is not None:
                raise RuntimeError("gunicorn exited during start-up; see gunicorn.log")
            time.sleep(0.2)
        raise RuntimeError("gunicorn did not answer in time")

    def kill9(self) -> None:
        """Kill the master and every worker (the whole process group) at once."""
        if self.proc and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(10)
        if self in RUNNING:
            RUNNING.remove(self)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                pass
        self.kill9()  # workers the master left behind, and the bookkeeping


def kill_all() -> None:
    """Kill every server still running (a failed test's teardown)."""
    for server in list(RUNNING):
        server.kill9()


class Browser:
    """One staffer's cookies over plain http.client (keeps the load test dependency-free)."""

    def __init__(
        self, server: Server, timeout: float = 30.0, headers: dict[str, str] | None = None
    ) -> None:
        self.server = server
        self.cookies: dict[str, str] = {}
        self.timeout = timeout
        self.headers = dict(headers or {})  # sent with every request (e.g. X-Forwarded-For)

    def request(
        self, method: str, path: str, data: dict | None = None
    ) -> tuple[int, dict[str, str], str]:
        status, headers, body = self.request_bytes(method, path, data)
        return status, headers, body.decode("utf-8", "replace")

    def request_bytes(
        self, method: str, path: str, data: dict | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        if data is None:
            return self.send(method, path)
        body = urllib.parse.urlencode(data, doseq=True).encode()
        return self.send(method, path, body, "application/x-www-form-urlencoded")

    def send(
        self, method: str, path: str, body: bytes | None = None, content_type: str | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=self.timeout)
        headers = {
            **self.headers,
            "Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items()),
        }
        if content_type:
            headers["Content-Type"] = content_type
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            answer = response.read()
            for header in response.headers.get_all("Set-Cookie") or []:
                cookie = SimpleCookie()
                cookie.load(header)
                for key, morsel in cookie.items():
                    self.cookies[key] = morsel.value
            return response.status, dict(response.headers), answer
        finally:
            conn.close()

    def post_files(
        self, path: str, data: dict, files: dict[str, tuple[str, bytes]], token_from: str
    ) -> tuple[int, dict[str, str], str]:
        """A multipart form post: ``files`` maps a field to (filename, content)."""
        data = {**data, "csrf_token": self.token(token_from)}
        boundary = "constituent" + os.urandom(8).hex()
        parts: list[bytes] = []
        for name, values in data.items():
            for value in values if isinstance(values, list) else [values]:
                parts.append(
                    f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                    f"{value}\r\n".encode()
                )
        for name, (filename, content) in files.items():
            head = (
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'
            )
            parts.append(head.encode() + content + b"\r\n")
        body = b"".join(parts) + f"--{boundary}--\r\n".encode()
        status, headers, raw = self.send(
            "POST", path, body, f"multipart/form-data; boundary={boundary}"
        )
        return status, headers, raw.decode("utf-8", "replace")

    def token(self, path: str) -> str:
        status, _, text = self.request("GET", path)
        match = CSRF_RE.search(text)
        if not match:
            raise RuntimeError(f"no CSRF token on {path} (status {status})")
        return match.group(1)

    def post(
        self, path: str, data: dict, token_from: str | None = None
    ) -> tuple[int, dict[str, str], str]:
        data = {**data, "csrf_token": self.token(token_from or path)}
        return self.request("POST", path, data)

    def login(self, email: str, password: str) -> None:
        status, headers, _ = self.post("/login", {"email": email, "password": password})
        if status != 302:
            raise RuntimeError(f"sign-in of {email} answered {status}")


def report_line(line: str) -> None:
    """Print a figure, and append it to $CONSTITUENT_REPORT_DIR/reliability.txt."""
    print("\n" + line)
    folder = Path(os.environ.get("CONSTITUENT_REPORT_DIR") or tempfile.gettempdir())
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "reliability.txt", "a", encoding="utf-8") as fh:
        fh.write(line + "\n")


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]
