"""A real SMTP server for the tests: aiosmtpd (from PyPI; `cargo xtask test` installs it beside
moto and names its Python in EMPORIUM_TEST_PYTHON), set up the way a mail provider's submission
port is: STARTTLS required before anything else, AUTH (PLAIN or LOGIN) required before MAIL.

It makes its own certificate authority and a server certificate for 127.0.0.1 and localhost
(written to SPOOL/ca.pem for the shop to trust), and writes every message it accepts to
SPOOL/<n>.eml exactly as received, with SPOOL/<n>.rcpt listing the envelope's recipients.
SPOOL/ready appears once it listens.

    python smtp_server.py --port PORT --spool DIR --user USER --password PASSWORD
"""

import argparse
import datetime
import ipaddress
import itertools
import os
import ssl
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def certificates(spool):
    """A CA and a server certificate signed by it; returns the server's (cert, key) paths."""
    now = datetime.datetime.now(datetime.timezone.utc)
    start, end = now - datetime.timedelta(days=1), now + datetime.timedelta(days=30)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Emporium test mail CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True,
                crl_sign=True, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    cert_path, key_path = os.path.join(spool, "server.pem"), os.path.join(spool, "server.key")
    with open(cert_path, "wb") as f:
        f.write(cert.public_bytes(pem))
    with open(key_path, "wb") as f:
        f.write(
            key.private_bytes(
                pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
    with open(os.path.join(spool, "ca.pem.part"), "wb") as f:
        f.write(ca.public_bytes(pem))
    os.rename(os.path.join(spool, "ca.pem.part"), os.path.join(spool, "ca.pem"))
    return cert_path, key_path


class Spool:
    def __init__(self, spool):
        self.spool = spool
        self.count = itertools.count(1)

    async def handle_DATA(self, server, session, envelope):
        n = next(self.count)
        base = os.path.join(self.spool, str(n))
        with open(base + ".rcpt", "w") as f:
            f.write("\n".join(envelope.rcpt_tos))
        with open(base + ".part", "wb") as f:
            f.write(envelope.original_content)
        os.rename(base + ".part", base + ".eml")
        return "250 Message accepted for delivery"


def main():
    args = argparse.ArgumentParser()
    args.add_argument("--port", type=int, required=True)
    args.add_argument("--spool", required=True)
    args.add_argument("--user", required=True)
    args.add_argument("--password", required=True)
    a = args.parse_args()
    cert, key = certificates(a.spool)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)

    def authenticate(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == a.user.encode()
            and auth_data.password == a.password.encode()
        )
        # `handled=False`: the server answers a failure with 535 itself.
        return AuthResult(success=ok, handled=False)

    controller = Controller(
        Spool(a.spool),
        hostname="127.0.0.1",
        port=a.port,
        tls_context=context,
        require_starttls=True,
        authenticator=authenticate,
        auth_required=True,
        auth_require_tls=True,
    )
    controller.start()
    open(os.path.join(a.spool, "ready"), "w").close()
    threading.Event().wait()


if __name__ == "__main__":
    main()
