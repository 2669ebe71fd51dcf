"""HTTP calls to the instances, every one recorded (when, where, what came back), and the fault
windows they are judged against: a connection error or a 5xx is expected only inside a window of
the instance it was sent to (or of the database); anywhere else it is a failure of the run."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import requests

TIMEOUT = 15  # seconds; a request that hangs longer counts as an error


@dataclass(frozen=True)
class Call:
    instance: str
    method: str
    path: str
    status: int | None  # None: no answer (connection refused or reset, timeout)
    error: str | None
    started: float
    ended: float
    retry_after: str | None
    error_code: str | None  # the JSON error's errorCode, when the answer was one


@dataclass
class Window:
    name: str
    affects: str  # an instance's name, or "*" for all (the database)
    start: float
    end: float | None = None

    def covers(self, call: Call) -> bool:
        end = self.end if self.end is not None else float("inf")
        return (self.affects in ("*", call.instance)) and call.started <= end and call.ended >= self.start


@dataclass
class Recorder:
    calls: list[Call] = field(default_factory=list)
    windows: list[Window] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, call: Call) -> None:
        with self.lock:
            self.calls.append(call)

    def open_window(self, name: str, affects: str) -> Window:
        window = Window(name, affects, time.time())
        with self.lock:
            self.windows.append(window)
        return window

    def in_a_window(self, call: Call) -> bool:
        return any(window.covers(call) for window in self.windows)


class Instances:
    """The instances by name (``A``, ``B``), and calls to them that are recorded."""

    def __init__(self, urls: dict[str, str], api_key: str, recorder: Recorder):
        self.urls, self.api_key, self.recorder = urls, api_key, recorder

    def other(self, name: str) -> str:
        return "B" if name == "A" else "A"

    def request(self, instance: str, method: str, path: str, *, api: bool = True, **kwargs) -> requests.Response | None:
        if api:
            kwargs.setdefault("auth", (self.api_key, ""))
        started = time.time()
        response, error = None, None
        try:
            response = requests.request(method, self.urls[instance] + path, timeout=TIMEOUT, allow_redirects=False,
                                        **kwargs)
        except requests.RequestException as exc:
            error = type(exc).__name__
        code = None
        if response is not None and response.headers.get("Content-Type", "").startswith("application/json"):
            try:
                body = response.json()
                code = body.get("errorCode") if isinstance(body, dict) else None
            except ValueError:
                pass
        self.recorder.add(Call(instance, method, path, response.status_code if response is not None else None, error,
                               started, time.time(), response.headers.get("Retry-After") if response is not None else None,
                               code))
        return response

    def track(self, instance: str, user: str, **attributes) -> requests.Response | None:
        return self.request(instance, "POST", f"/v1/users/{user}/actions/withdraw-funds", json=attributes)
