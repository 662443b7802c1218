"""Local receivers for the notify channels: an HTTP recorder, the fake Bot API and a real SMTP server."""

from __future__ import annotations

import datetime
import ipaddress
import json
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from support.fake_telegram import FakeTelegram, running_fake_telegram
from support.net import free_port


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class HttpRecorder:
    """Answers every POST with ``status`` and keeps what it got."""

    url: str = ""
    status: int = 200
    reply: bytes = b"ok"
    received: list[Received] = field(default_factory=list)


@pytest.fixture
def http_recorder() -> Iterator[HttpRecorder]:
    recorder = HttpRecorder()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            recorder.received.append(Received(self.path, dict(self.headers.items()), body))
            self.send_response(recorder.status)
            self.send_header("Content-Length", str(len(recorder.reply)))
            self.end_headers()
            self.wfile.write(recorder.reply)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    recorder.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield recorder
    server.shutdown()
    server.server_close()


@pytest.fixture
def fake_telegram() -> Iterator[FakeTelegram]:
    with running_fake_telegram() as fake:
        yield fake


@dataclass
class Mailbox:
    host: str
    port: int
    messages: list[Envelope] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)


class _MailHandler:
    def __init__(self, box: Mailbox) -> None:
        self.box = box

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if address in self.box.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if not session.authenticated:
            return "530 5.7.0 Authentication required"
        self.box.messages.append(envelope)
        return "250 Message accepted for delivery"


def _authenticate(server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (b"mailer", b"p@ss")
    # handled=False: aiosmtpd then answers 235 or 535 itself.
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def smtp_server() -> Iterator[Mailbox]:
    """A real SMTP server (aiosmtpd) on loopback that accepts mail only after AUTH as mailer / p@ss."""
    box = Mailbox(host="127.0.0.1", port=free_port())
    controller = Controller(
        _MailHandler(box),
        hostname=box.host,
        port=box.port,
        authenticator=_authenticate,
        # Loopback test server with no certificate: AUTH is offered without TLS. (Requiring it as
        # well makes aiosmtpd warn, so DATA checks the session logged in instead.)
        auth_require_tls=False,
    )
    controller.start()
    yield box
    controller.stop()


@dataclass
class TlsPair:
    server: ssl.SSLContext
    client: ssl.SSLContext  # trusts only the server's self-signed certificate


@pytest.fixture(scope="session")
def tls_pair(tmp_path_factory: pytest.TempPathFactory) -> TlsPair:
    """A throwaway self-signed certificate for 127.0.0.1."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert_file, key_file)
    client = ssl.create_default_context(cafile=str(cert_file))
    return TlsPair(server, client)


@pytest.fixture
def smtps_server(tls_pair: TlsPair) -> Iterator[Mailbox]:
    """Implicit TLS (smtps://): the connection is encrypted from the first byte."""
    box = Mailbox(host="127.0.0.1", port=free_port())
    controller = Controller(
        _MailHandler(box),
        hostname=box.host,
        port=box.port,
        authenticator=_authenticate,
        ssl_context=tls_pair.server,
        # aiosmtpd only counts STARTTLS as TLS; this socket is encrypted from the first byte.
        auth_require_tls=False,
    )
    controller.start()
    yield box
    controller.stop()


@pytest.fixture
def starttls_server(tls_pair: TlsPair) -> Iterator[Mailbox]:
    """Plain smtp:// that offers STARTTLS and refuses mail and AUTH before it."""
    box = Mailbox(host="127.0.0.1", port=free_port())
    controller = Controller(
        _MailHandler(box),
        hostname=box.host,
        port=box.port,
        authenticator=_authenticate,
        tls_context=tls_pair.server,
        require_starttls=True,
    )
    controller.start()
    yield box
    controller.stop()
