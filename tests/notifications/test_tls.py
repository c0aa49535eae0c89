"""SMTP over TLS verifies the server's certificate and fails closed, against real TLS servers on loopback."""
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from ipaddress import IPv4Address
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from smtp_server import RecordingHandler, SmtpServer, free_port
from sqlalchemy import select, update
from test_gateway import ALICE, _queue, _staff

from auditcycle.core.settings import Settings
from auditcycle.models import OutboxMessage
from auditcycle.models.enums import MessageStatus
from auditcycle.notifications.gateway import deliver


@dataclass
class Pki:
    """A test certificate authority and a server certificate it issued for 127.0.0.1."""

    ca_file: Path
    cert_file: Path
    key_file: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """Issue a CA and a server certificate that no system trust store knows."""
    folder = tmp_path_factory.mktemp("pki")
    start = datetime.now(UTC) - timedelta(days=1)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (x509.CertificateBuilder().subject_name(_name("auditcycle test CA")).issuer_name(_name("auditcycle test CA"))
               .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(start).not_valid_after(start + timedelta(days=30))
               .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
               .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                            content_commitment=False, key_encipherment=False, data_encipherment=False,
                                            key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
               .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(_name("127.0.0.1")).issuer_name(ca_cert.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(start).not_valid_after(start + timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(IPv4Address("127.0.0.1")),
                                                        x509.DNSName("localhost")]), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    pki = Pki(folder / "ca.pem", folder / "server.pem", folder / "server.key")
    pki.ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    pki.cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pki.key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
    return pki


class TlsSmtpServer(SmtpServer):
    """The loopback SMTP server, speaking implicit TLS ("ssl") or requiring STARTTLS ("starttls")."""

    def __init__(self, pki: Pki, mode: str) -> None:
        self.handler = RecordingHandler()
        self.port = free_port()
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(pki.cert_file, pki.key_file)
        if mode == "ssl":
            self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port, ssl_context=context)
        else:
            self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port, tls_context=context,
                                         require_starttls=True)


def _settings(port: int, security: str, ca_file: Path | None = None) -> Settings:
    return Settings(database_url="sqlite://", smtp_host="127.0.0.1", smtp_port=port, smtp_security=security,
                    smtp_ca_file=ca_file)


def _row(session) -> OutboxMessage:
    session.expire_all()
    return session.scalars(select(OutboxMessage)).one()


@pytest.mark.parametrize("security", ["ssl", "starttls"])
def test_untrusted_certificate_is_refused_and_the_mail_is_held(session, engine, pki, security) -> None:
    _staff(session)
    _queue(session, ALICE)

    with TlsSmtpServer(pki, security) as server:
        report = deliver(engine=engine, settings=_settings(server.port, security))
        received = list(server.received)

    row = _row(session)
    assert (report.sent, report.held, report.failed) == (0, 1, 0)
    assert received == []
    assert (row.status, row.attempts, row.sent_at) == (MessageStatus.PENDING, 0, None)
    assert "certificate that could not be verified" in row.last_error
    assert "nothing was sent" in row.last_error


@pytest.mark.parametrize("security", ["ssl", "starttls"])
def test_held_mail_is_delivered_once_the_issuing_ca_is_trusted(session, engine, pki, security) -> None:
    _staff(session)
    _queue(session, ALICE)

    with TlsSmtpServer(pki, security) as server:
        refused = deliver(engine=engine, settings=_settings(server.port, security))
        with engine.begin() as conn:  # the operator's fix takes longer than the hold's retry interval
            conn.execute(update(OutboxMessage).values(next_attempt_at=datetime.now(UTC) - timedelta(seconds=1)))
        accepted = deliver(engine=engine, settings=_settings(server.port, security, ca_file=pki.ca_file))
        received = list(server.received)

    row = _row(session)
    assert (refused.held, accepted.sent, accepted.held) == (1, 1, 0)
    assert [r.rcpt_tos for r in received] == [[ALICE.email]]
    assert (row.status, row.attempts, row.last_error) == (MessageStatus.SENT, 1, None)


def test_starttls_asked_for_but_not_offered_sends_nothing_in_clear(session, engine, smtp_server) -> None:
    _staff(session)
    _queue(session, ALICE)

    report = deliver(engine=engine, settings=_settings(smtp_server.port, "starttls"))

    row = _row(session)
    assert (report.sent, report.held) == (0, 1)
    assert smtp_server.received == []
    assert row.status == MessageStatus.PENDING
    assert "does not offer STARTTLS" in row.last_error


def test_ca_file_that_does_not_exist_is_a_clear_settings_error(tmp_path) -> None:
    missing = tmp_path / "council-ca.pem"

    with pytest.raises(ValueError, match="smtp_ca_file names .*council-ca.pem, which is not a file"):
        Settings(database_url="sqlite://", smtp_ca_file=missing)
