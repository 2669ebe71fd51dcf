"""Delivering webhooks: signed like Authsignal, retried with backoff, claimed safely by several
workers, nothing lost when the receiver is down for a while, and not a byte sent to an address off
the public internet unless the operator allows private networks."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socketserver
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError

from app.extensions import db
from app.models import WebhookDelivery
from app.models.base import utcnow
from app.services.delivery import endpoints, events, worker
from app.services.delivery.worker import MAX_ATTEMPTS, RETRY_DELAYS, HttpSender, SendResult, claim_due, deliver_due, retry_delay
from app.services.tenancy.api_keys import create_api_key
from tests.api.test_webhooks_outbox import add_endpoint, track
from tests.conftest import PUBLIC_URL
from tests.servers import free_port


def delivery(app) -> WebhookDelivery:
    with app.app_context():
        return db.session.execute(select(WebhookDelivery)).scalar_one()


class Recorder:
    """A fake sender: answers with the given status codes in turn, remembering every request."""

    def __init__(self, *codes: int | None):
        self.codes = list(codes)
        self.requests: list[tuple[str, bytes, dict]] = []

    def __call__(self, url, body, headers):
        self.requests.append((url, body, headers))
        code = self.codes.pop(0) if len(self.codes) > 1 else self.codes[0]
        return SendResult(code, None if code and code < 300 else f"HTTP {code}")


def independent_verify(body: bytes, header: str, key: str, *, now: int, tolerance_minutes: int = 5) -> dict:
    """The receiver's check, written here from Authsignal's docs rather than taken from app code."""
    items = [item.split("=", 1) for item in header.split(",")]
    timestamp = int(next(v for k, v in items if k == "t"))
    signatures = [v for k, v in items if k == "v2"]
    assert timestamp >= now - tolerance_minutes * 60, "Timestamp is outside the tolerance zone."
    mac = hmac.new(key.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).digest()
    expected = base64.b64encode(mac).decode().replace("=", "")
    assert any(hmac.compare_digest(expected, s) for s in signatures), "Signature mismatch."
    return json.loads(body)


# -- the request --------------------------------------------------------------------------------------


def test_the_request_is_the_envelope_signed_with_the_tenants_key(app, api, tenant, settings):
    endpoint = add_endpoint(app, tenant.id)
    tracked = track(api)
    sender = Recorder(200)
    now = utcnow()

    with app.app_context():
        report = deliver_due(settings=settings, now=now, send=sender)

    assert report.sent == 1
    [(url, body, headers)] = sender.requests
    assert url == "https://hooks.example/in"
    assert headers["Content-Type"] == "application/json"
    event = independent_verify(body, headers["X-Signature-V2"], tenant.api_key, now=int(now.timestamp()))
    assert list(event) == ["version", "id", "source", "time", "tenantId", "type", "data"]
    assert event["version"] == 1 and event["source"] == PUBLIC_URL and event["tenantId"] == tenant.id
    assert event["type"] == "action.created" and event["data"]["idempotencyKey"] == tracked["idempotencyKey"]
    assert headers["X-Signature-V2"].startswith(f"t={int(now.timestamp())},v2=")
    done = delivery(app)
    assert (done.status, done.attempts, done.last_response_code, done.endpoint_id) == ("delivered", 1, 200, endpoint)


def test_two_active_keys_give_two_signatures_and_revoked_keys_none(app, api, tenant, settings):
    add_endpoint(app, tenant.id)
    with app.app_context():
        _, second = create_api_key(tenant.id, name="second", settings=settings)
        revoked, third = create_api_key(tenant.id, name="revoked", settings=settings)
        revoked.revoked_at = utcnow()
        db.session.commit()
    track(api)
    sender = Recorder(200)

    with app.app_context():
        deliver_due(settings=settings, now=utcnow(), send=sender)

    [(_, body, headers)] = sender.requests
    header = headers["X-Signature-V2"]
    assert header.count("v2=") == 2
    now = int(utcnow().timestamp())
    independent_verify(body, header, tenant.api_key, now=now)
    independent_verify(body, header, second, now=now)
    with pytest.raises(AssertionError, match="Signature mismatch"):
        independent_verify(body, header, third, now=now)


def test_the_body_is_the_same_bytes_on_every_attempt(app, api, tenant, settings):
    add_endpoint(app, tenant.id)
    track(api)
    sender = Recorder(503, 200)
    now = utcnow()

    with app.app_context():
        deliver_due(settings=settings, now=now, send=sender)
        deliver_due(settings=settings, now=now + timedelta(minutes=2), send=sender)

    first, second = sender.requests
    assert first[1] == second[1]
    assert first[2]["X-Signature-V2"] != second[2]["X-Signature-V2"]  # signed afresh: a new timestamp


# -- retries ------------------------------------------------------------------------------------------


def test_the_backoff_schedule_is_eight_attempts_over_about_a_day():
    assert MAX_ATTEMPTS == 8
    assert [retry_delay(n, rand=0.5) for n in range(1, MAX_ATTEMPTS)] == list(RETRY_DELAYS)
    assert timedelta(hours=20) < sum(RETRY_DELAYS, timedelta()) < timedelta(hours=26)
    for n in range(1, MAX_ATTEMPTS):
        base = RETRY_DELAYS[n - 1]
        assert base * 0.9 == retry_delay(n, rand=0.0) and retry_delay(n, rand=0.999) < base * 1.1


def test_failures_are_retried_on_schedule_then_marked_failed(app, api, tenant, settings):
    add_endpoint(app, tenant.id)
    track(api)
    sender = Recorder(500)
    now = utcnow()

    with app.app_context():
        for attempt in range(1, MAX_ATTEMPTS + 1):
            assert deliver_due(settings=settings, now=now - timedelta(seconds=1), send=sender).attempted == 0  # not due
            report = deliver_due(settings=settings, now=now, send=sender, rand=lambda: 0.5)
            assert report.attempted == 1
            row = db.session.execute(select(WebhookDelivery)).scalar_one()
            db.session.refresh(row)
            assert row.attempts == attempt and row.last_response_code == 500 and row.last_error == "HTTP 500"
            if attempt < MAX_ATTEMPTS:
                assert row.status == "pending" and report.retrying == 1
                assert row.next_attempt_at == now + RETRY_DELAYS[attempt - 1]
                now = row.next_attempt_at
            else:
                assert row.status == "failed" and row.next_attempt_at is None and report.failed == 1

        assert deliver_due(settings=settings, now=now + timedelta(days=30), send=sender).attempted == 0
    assert len(sender.requests) == MAX_ATTEMPTS


def test_a_success_after_failures_stops_the_retries(app, api, tenant, settings):
    add_endpoint(app, tenant.id)
    track(api)
    sender = Recorder(None, 502, 204)
    now = utcnow()

    with app.app_context():
        for _ in range(3):
            deliver_due(settings=settings, now=now, send=sender, rand=lambda: 0.5)
            now += timedelta(days=1)
        assert deliver_due(settings=settings, now=now + timedelta(days=5), send=sender).attempted == 0

    done = delivery(app)
    assert (done.status, done.attempts, done.last_response_code, done.last_error) == ("delivered", 3, 204, None)


# -- claims -------------------------------------------------------------------------------------------


def test_a_claimed_delivery_is_not_claimed_again_until_its_lease_runs_out(app, api, tenant):
    add_endpoint(app, tenant.id)
    track(api)
    now = utcnow()

    with app.app_context():
        _, first = claim_due(now=now)
        _, second = claim_due(now=now + timedelta(minutes=1))
        _, after_lease = claim_due(now=now + worker.LEASE + timedelta(seconds=1))

    assert len(first) == 1 and second == [] and after_lease == first


def test_a_worker_whose_lease_ran_out_cannot_overwrite_the_new_holders_outcome(app, api, tenant, settings):
    add_endpoint(app, tenant.id)
    track(api)
    now = utcnow()
    with app.app_context():
        stale_token, [delivery_id] = claim_due(now=now)
        later = now + worker.LEASE + timedelta(seconds=1)
        assert deliver_due(settings=settings, now=later, send=Recorder(200)).sent == 1
        job = worker._Job(delivery_id=delivery_id, attempts=0, url="x", tenant_id=tenant.id, body="{}")
        worker._record(job, stale_token, SendResult(500, "late"), now=later, rand=0.5)

    done = delivery(app)
    assert (done.status, done.attempts, done.last_response_code) == ("delivered", 1, 200)


def test_a_success_the_database_failed_to_record_is_recorded_once_it_is_back_not_sent_again(
    app, api, tenant, settings, monkeypatch
):
    """PostgreSQL restarting between the receiver's 2xx and the worker's write: the worker keeps the
    outcome and writes it when the database answers, instead of leaving the claim to run out and the
    event to be sent a second time."""
    add_endpoint(app, tenant.id)
    track(api)
    record, tries, waits = worker._record, [], []

    def record_after_a_restart(*args, **kwargs):
        tries.append(1)
        if len(tries) < 3:
            raise OperationalError("UPDATE webhook_delivery ...", {}, Exception("server closed the connection"))
        return record(*args, **kwargs)

    monkeypatch.setattr(worker, "_record", record_after_a_restart)
    monkeypatch.setattr(worker.time, "sleep", waits.append)
    sender, now = Recorder(204), utcnow()
    with app.app_context():
        report = deliver_due(settings=settings, now=now, send=sender)
        after_the_lease = deliver_due(settings=settings, now=now + worker.LEASE + timedelta(seconds=1), send=sender)

    assert (report.sent, after_the_lease.attempted, len(sender.requests)) == (1, 0, 1)
    assert (len(tries), waits) == (3, [worker.RECORD_RETRY_SECONDS] * 2)
    done = delivery(app)
    assert (done.status, done.attempts, done.last_response_code) == ("delivered", 1, 204)


def test_a_claim_the_database_failed_right_after_is_given_back_not_left_to_its_lease(
    app, api, tenant, settings, monkeypatch
):
    """PostgreSQL stopping just after a worker's claim committed: nothing was sent, and once the
    database answers the rows are due again at once, not five minutes later when the lease runs out."""
    add_endpoint(app, tenant.id)
    track(api)
    load = worker._load_jobs

    def load_as_the_database_stops(*args, **kwargs):
        monkeypatch.setattr(worker, "_load_jobs", load)
        raise OperationalError("SELECT webhook_delivery ...", {}, Exception("server closed the connection"))

    monkeypatch.setattr(worker, "_load_jobs", load_as_the_database_stops)
    sender, now = Recorder(204), utcnow()
    with app.app_context():
        with pytest.raises(OperationalError):
            deliver_due(settings=settings, now=now, send=sender)
        given_back = delivery(app)
        report = deliver_due(settings=settings, now=now, send=sender)

    assert (given_back.status, given_back.locked_until, given_back.claim_token) == ("pending", None, None)
    assert (report.sent, len(sender.requests)) == (1, 1)


def test_two_workers_never_claim_the_same_delivery(app, api, tenant):
    add_endpoint(app, tenant.id)
    add_endpoint(app, tenant.id)
    for _ in range(20):
        track(api)
    now = utcnow()
    barrier = threading.Barrier(2)
    claimed: list[list[int]] = [[], []]
    errors: list[BaseException] = []

    def worker(index: int) -> None:
        try:
            with app.app_context():
                barrier.wait()
                while True:
                    _, ids = claim_due(now=now, limit=3)
                    if not ids:
                        break
                    claimed[index].extend(ids)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert not errors
    everything = claimed[0] + claimed[1]
    assert len(everything) == 40 and len(set(everything)) == 40
    with app.app_context():
        all_ids = set(db.session.execute(select(WebhookDelivery.id)).scalars())
    assert set(everything) == all_ids


def test_two_concurrent_workers_deliver_each_delivery_exactly_once(app, api, tenant, settings):
    add_endpoint(app, tenant.id)
    for _ in range(12):
        track(api)
    now = utcnow()
    sender = Recorder(200)
    lock = threading.Lock()

    def send(url, body, headers):
        with lock:
            return sender(url, body, headers)

    def worker() -> None:
        with app.app_context():
            while deliver_due(settings=settings, now=now, limit=2, send=send).attempted:
                pass

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    ids = [json.loads(body)["id"] for _, body, _ in sender.requests]
    assert len(ids) == 12 and len(set(ids)) == 12


# -- a real receiver that is down for a while ---------------------------------------------------------


class Receiver:
    """An HTTP server on 127.0.0.1 that answers 500 or 200 and verifies what it accepts.

    Its clock is the wall clock, or the worker's pretend clock when a test sends X-Test-Now.
    """

    def __init__(self, port: int, key: str):
        self.key, self.status, self.accepted, self.refused = key, 500, [], 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802  (http.server's name)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if receiver.status == 200:
                    event = independent_verify(body, self.headers["X-Signature-V2"], receiver.key,
                                               now=int(self.headers.get("X-Test-Now") or time.time()))
                    receiver.accepted.append(event)
                else:
                    receiver.refused += 1
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_a_receiver_that_is_down_for_a_while_loses_nothing(app, api, tenant, private_networks_allowed):
    settings = private_networks_allowed  # the receiver is on 127.0.0.1
    port = free_port()
    add_endpoint(app, tenant.id, url=f"http://127.0.0.1:{port}/webhooks")
    tracked = track(api)
    real_sender = worker.HttpSender(allow_private_networks=settings.webhook_allow_private_networks)
    now = utcnow()

    def send(url, body, headers):  # the real HTTP sender; the receiver checks against the worker's clock
        return real_sender(url, body, {**headers, "X-Test-Now": str(int(now.timestamp()))})

    with app.app_context():
        # 1. Nothing listens on the port: connection refused.
        assert deliver_due(settings=settings, now=now, send=send).retrying == 1
        assert "ConnectionError" in delivery(app).last_error
        # 2. The receiver is up but failing.
        receiver = Receiver(port, tenant.api_key)
        try:
            now += timedelta(minutes=2)
            assert deliver_due(settings=settings, now=now, send=send).retrying == 1
            assert receiver.refused == 1 and delivery(app).last_response_code == 500
            # Not due yet: the next attempt waits about five minutes.
            assert deliver_due(settings=settings, now=now + timedelta(minutes=1), send=send).attempted == 0
            # 3. The receiver recovers.
            receiver.status = 200
            now += timedelta(minutes=6)
            assert deliver_due(settings=settings, now=now, send=send).sent == 1
            # 4. Nothing more is sent, however long we wait.
            now += timedelta(days=2)
            assert deliver_due(settings=settings, now=now, send=send).attempted == 0
        finally:
            receiver.close()
            real_sender.close()

    [event] = receiver.accepted
    assert event["type"] == "action.created" and event["data"]["idempotencyKey"] == tracked["idempotencyKey"]
    done = delivery(app)
    assert (done.status, done.attempts, done.last_response_code) == ("delivered", 3, 200)


def test_redirects_are_not_followed(app, api, tenant, private_networks_allowed):
    settings = private_networks_allowed  # the receiver is on 127.0.0.1
    port = free_port()

    class Redirect(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            self.send_response(307)
            self.send_header("Location", "https://elsewhere.example/")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Redirect)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    add_endpoint(app, tenant.id, url=f"http://127.0.0.1:{port}/")
    track(api)
    try:
        with app.app_context():
            assert deliver_due(settings=settings, now=utcnow()).retrying == 1
    finally:
        server.shutdown()
        server.server_close()
    assert delivery(app).last_response_code == 307


# -- private networks (TOLLGATE_WEBHOOK_ALLOW_PRIVATE_NETWORKS off, as in production and these tests) -----


class Listener:
    """A bare TCP service on 127.0.0.1 that keeps every byte each connection sent it: what an internal
    service (a database, an admin port, the metadata service) would see of the worker."""

    def __init__(self):
        self.received: list[bytes] = []
        received = self.received

        class Handler(socketserver.BaseRequestHandler):
            def handle(self):
                self.request.settimeout(2)
                data = b""
                try:
                    while chunk := self.request.recv(4096):
                        data += chunk
                except TimeoutError:  # a client still waiting for an answer: it sent what it meant to
                    pass
                received.append(data)

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def connections(self) -> list[bytes]:
        """What each connection sent, once one has ended (each is handled in a thread of its own)."""
        deadline = time.monotonic() + 5
        while not self.received and time.monotonic() < deadline:
            time.sleep(0.01)
        return list(self.received)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def listener():
    running = Listener()
    yield running
    running.close()


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "[::ffff:127.0.0.1]", "2130706433"])
def test_an_endpoint_on_this_machine_gets_a_closed_connection_and_not_one_byte(app, api, tenant, settings, listener,
                                                                               host):
    # Saved before this check existed, or while the setting was on: the worker checks every connection anyway.
    add_endpoint(app, tenant.id, url=f"http://{host}:{listener.port}/hook")
    track(api)
    now = utcnow()
    assert settings.webhook_allow_private_networks is False

    with app.app_context():
        report = deliver_due(settings=settings, now=now, rand=lambda: 0.5)

    assert listener.connections() == [b""]
    assert report.retrying == 1  # a refusal is a failed attempt like any other, retried on the same schedule
    refused = delivery(app)
    assert (refused.status, refused.attempts, refused.last_response_code) == ("pending", 1, None)
    assert refused.next_attempt_at == now + RETRY_DELAYS[0]
    assert refused.last_error.startswith("DestinationNotAllowed: nothing was sent; ")
    assert "leads to an address off the public internet" in refused.last_error


def test_a_public_name_whose_dns_answer_is_private_is_refused_before_the_tls_handshake(app, api, tenant, settings,
                                                                                        listener, dns):
    url = f"https://hooks.example:{listener.port}/in"
    endpoints.validate_endpoint(endpoints.EndpointInput(url=url, event_types=[events.ACTION_CREATED]),
                               allow_private_networks=False)  # a public name passes when saved: no DNS then
    add_endpoint(app, tenant.id, url=url)
    track(api)
    dns["hooks.example"] = "127.0.0.1"  # rebinding: by delivery time the name points inside

    with app.app_context():
        assert deliver_due(settings=settings, now=utcnow()).retrying == 1

    assert listener.connections() == [b""]  # not even a TLS ClientHello
    refused = delivery(app)
    assert refused.last_error == ("DestinationNotAllowed: nothing was sent; hooks.example leads to an address off the "
                                  "public internet (loopback, private, link-local or reserved).")
    assert "127.0.0.1" not in refused.last_error  # whoever typed the URL does not learn internal addresses


def deliver_to_a_receiver(app, tenant, port: int, *, settings) -> list[dict]:
    """Run the worker once against a receiver that accepts on ``port``; what it received."""
    receiver = Receiver(port, tenant.api_key)
    receiver.status = 200
    try:
        with app.app_context():
            assert deliver_due(settings=settings, now=utcnow()).sent == 1
    finally:
        receiver.close()
    return receiver.accepted


def test_with_private_networks_allowed_a_name_on_this_machine_is_delivered(app, api, tenant, private_networks_allowed):
    port = free_port()
    add_endpoint(app, tenant.id, url=f"http://localhost:{port}/hook")
    tracked = track(api)
    [event] = deliver_to_a_receiver(app, tenant, port, settings=private_networks_allowed)
    assert event["data"]["idempotencyKey"] == tracked["idempotencyKey"]
    assert (delivery(app).status, delivery(app).last_error) == ("delivered", None)


def test_proxies_from_the_environment_are_ignored(app, api, tenant, private_networks_allowed, listener, monkeypatch):
    # Through a proxy the worker's peer would be the proxy: the address check would judge the wrong host.
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.setenv(name, f"http://127.0.0.1:{listener.port}")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    port = free_port()
    add_endpoint(app, tenant.id, url=f"http://127.0.0.1:{port}/hook")
    track(api)
    assert len(deliver_to_a_receiver(app, tenant, port, settings=private_networks_allowed)) == 1
    assert listener.received == []


def test_a_company_ca_bundle_from_the_environment_is_still_used(monkeypatch, tmp_path):
    # Ignoring the environment is about proxies and credentials; receivers behind a company CA still work.
    bundle = tmp_path / "company-ca.pem"
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))

    with HttpSender(allow_private_networks=False) as sender:
        assert sender._http.verify == str(bundle)


def test_a_tenant_without_an_active_key_waits_and_retries(app, api, tenant, settings):
    add_endpoint(app, tenant.id)
    track(api)
    with app.app_context():
        from app.models import ApiKey

        db.session.execute(update(ApiKey).values(revoked_at=utcnow()))
        db.session.commit()
        sender = Recorder(200)
        assert deliver_due(settings=settings, now=utcnow(), send=sender).retrying == 1
    assert sender.requests == [] and "no active API key" in delivery(app).last_error


# -- the worker process ---------------------------------------------------------------------------------


def test_deliver_once_command(app, api, tenant, private_networks_allowed):
    port = free_port()
    add_endpoint(app, tenant.id, url=f"http://127.0.0.1:{port}/")
    track(api)

    result = app.test_cli_runner().invoke(args=["webhooks", "deliver-once"])

    assert result.exit_code == 0, result.output
    assert "0 delivered, 1 to retry, 0 failed." in result.output


def test_the_worker_loop_delivers_until_stopped(app, api, tenant, private_networks_allowed):
    from app.webhook_worker import run_worker

    settings = private_networks_allowed  # the receiver is on 127.0.0.1
    port = free_port()
    add_endpoint(app, tenant.id, url=f"http://127.0.0.1:{port}/hook")
    tracked = track(api)
    receiver = Receiver(port, tenant.api_key)
    receiver.status = 200
    stop = threading.Event()
    lines: list[str] = []

    def work() -> None:
        with app.app_context():
            run_worker(settings=settings, interval=0.05, stop=stop, echo=lines.append)

    worker = threading.Thread(target=work)
    try:
        worker.start()
        for _ in range(200):
            if receiver.accepted:
                break
            time.sleep(0.05)
    finally:
        stop.set()
        worker.join(timeout=10)
        receiver.close()

    assert not worker.is_alive()
    [event] = receiver.accepted
    assert event["data"]["idempotencyKey"] == tracked["idempotencyKey"]
    assert "webhooks: 1 delivered, 0 to retry, 0 failed" in lines
