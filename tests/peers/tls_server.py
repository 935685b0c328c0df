#!/usr/bin/env python3
"""TLS (wss://) echo servers for the GDScript TLS suites, with certificates made on the spot.

Usage: tls_server.py --dir DIR [--host 127.0.0.1]

Writes into DIR (PEM files, EC P-256 keys, made with `cryptography`):
  ca.crt, ca.key                 "godot-websocket test CA", a private CA
  localhost.crt/.key             leaf signed by the CA: SAN DNS:localhost, IP:127.0.0.1
  localhost_only.crt/.key        leaf signed by the CA for DNS:localhost only (no IP address)
  other.crt/.key                 leaf signed by the CA for DNS:other.example only (wrong host)
  expired.crt/.key               like localhost, but it expired yesterday
  other_ca.crt, foreign.crt/.key a second CA, and a localhost leaf signed by it
Then serves wss:// on one free port per leaf certificate, all with the behaviour of
echo_server.py (by path: /echo, /close, /protocol, ...) plus `/forbidden`, which is refused with
HTTP 403 instead of 101, and `/sni`, which first sends one text message: the server name the
client sent in its TLS hello (SNI), or "" without one; then echoes. When listening it writes DIR/servers.json
  {"ports": {"ok": P, "localhost_only": P, "wronghost": P, "expired": P, "foreign": P}, "dir": DIR}
and prints exactly one line on stdout, `READY <port of "ok">`; logs go to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import http
import ipaddress
import json
import logging
import ssl
import sys
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from websockets.asyncio.server import serve

sys.path.insert(0, str(Path(__file__).resolve().parent))
from echo_server import MAX_SIZE, handler, select_subprotocol  # noqa: E402

log = logging.getLogger("tls_server")
DAY = datetime.timedelta(days=1)


def name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "godot-websocket tests")])


def make_ca(cn: str):
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder()
            .subject_name(name(cn)).issuer_name(name(cn))
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - DAY).not_valid_after(now + 30 * DAY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False,
                                         encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    return key, cert


def make_leaf(ca_key, ca_cert, cn: str, dns: list[str], ips: list[str], expired: bool = False):
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    start, end = (now - 30 * DAY, now - DAY) if expired else (now - DAY, now + 30 * DAY)
    san = [x509.DNSName(d) for d in dns] + [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
    cert = (x509.CertificateBuilder()
            .subject_name(name(cn)).issuer_name(ca_cert.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(start).not_valid_after(end)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.SubjectAlternativeName(san), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    return key, cert


def write(directory: Path, stem: str, key, cert) -> None:
    (directory / f"{stem}.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    if key is not None:
        (directory / f"{stem}.key").write_bytes(key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))


def make_certificates(directory: Path) -> dict[str, str]:
    """Writes the files listed in the docstring; returns server name -> leaf file stem."""
    directory.mkdir(parents=True, exist_ok=True)
    for old in directory.glob("*"):
        if old.is_file():
            old.unlink()
    ca_key, ca = make_ca("godot-websocket test CA")
    write(directory, "ca", ca_key, ca)
    write(directory, "localhost", *make_leaf(ca_key, ca, "localhost", ["localhost"], ["127.0.0.1"]))
    write(directory, "localhost_only", *make_leaf(ca_key, ca, "localhost", ["localhost"], []))
    write(directory, "other", *make_leaf(ca_key, ca, "other.example", ["other.example"], []))
    write(directory, "expired", *make_leaf(ca_key, ca, "localhost", ["localhost"], ["127.0.0.1"], expired=True))
    other_key, other_ca = make_ca("godot-websocket other CA")
    write(directory, "other_ca", None, other_ca)
    write(directory, "foreign", *make_leaf(other_key, other_ca, "localhost", ["localhost"], ["127.0.0.1"]))
    return {"ok": "localhost", "localhost_only": "localhost_only", "wronghost": "other", "expired": "expired", "foreign": "foreign"}


# SNI seen per TLS connection (keyed by the SSLObject, which the handler finds in the transport).
_sni: dict[int, str] = {}


def remember_sni(ssl_object, server_name, _context) -> None:
    _sni[id(ssl_object)] = server_name or ""


async def tls_handler(connection) -> None:
    ssl_object = connection.transport.get_extra_info("ssl_object")
    sni = _sni.pop(id(ssl_object), "")
    if connection.request.path.split("?")[0] == "/sni":
        await connection.send(sni)
    await handler(connection)


def process_request(connection, request):
    if request.path.split("?")[0] == "/forbidden":
        return connection.respond(http.HTTPStatus.FORBIDDEN, "forbidden by the test server\n")
    return None


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", required=True, type=Path)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args()
    logging.basicConfig(stream=sys.stderr, level=logging.INFO,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    directory = args.dir.resolve()
    leaves = make_certificates(directory)
    ports: dict[str, int] = {}
    servers = []
    for label, stem in leaves.items():
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(directory / f"{stem}.crt", directory / f"{stem}.key")
        context.sni_callback = remember_sni
        server = await serve(tls_handler, args.host, 0, ssl=context, compression=None, max_size=MAX_SIZE,
                             max_queue=None, ping_interval=None, select_subprotocol=select_subprotocol,
                             process_request=process_request)
        servers.append(server)
        ports[label] = server.sockets[0].getsockname()[1]
        log.info("%s: wss://%s:%d with %s.crt", label, args.host, ports[label], stem)
    (directory / "servers.json").write_text(json.dumps({"ports": ports, "dir": str(directory)}))
    print(f"READY {ports['ok']}", flush=True)
    await asyncio.gather(*(s.serve_forever() for s in servers))


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
