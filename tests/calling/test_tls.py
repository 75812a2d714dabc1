"""TLS backends: grpcs:// with a CA bundle, an authority override, and mutual TLS.

Certificates are generated here: a CA, a server certificate for `localhost`, 127.0.0.1 and
`backend.internal` (or only the latter), and a client certificate for mutual TLS.
"""

from __future__ import annotations

import datetime
import ipaddress
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from grpc_transcoder_tools import example_backend
from grpc_transcoder_tools.local_server import LambdaContext

from grpc_transcoder.loading.registry import Registry
from tests.conftest import Handler
from tests.event_builder import Source, build, response_json

PING = build(Source.HTTP_API, "GET", "/v1/debug/ping", query=[("text", "over tls")])


@dataclass(frozen=True)
class Pem:
    cert: bytes
    key: bytes


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _issue(
    subject: str,
    issuer: tuple[x509.Name, ec.EllipticCurvePrivateKey] | None,
    extensions: list[tuple[x509.ExtensionType, bool]],
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    issuer_name, issuer_key = issuer or (_name(subject), key)
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
    )
    for extension, critical in extensions:
        builder = builder.add_extension(extension, critical=critical)
    return builder.sign(issuer_key, hashes.SHA256()), key


def _pem(cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> Pem:
    return Pem(
        cert.public_bytes(serialization.Encoding.PEM),
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )


@dataclass(frozen=True)
class Pki:
    ca: Pem
    server: Pem  # localhost, 127.0.0.1 and backend.internal
    internal_only: Pem  # only backend.internal
    client: Pem


def _leaf(
    ca: tuple[x509.Certificate, ec.EllipticCurvePrivateKey],
    names: list[x509.GeneralName],
    usage: x509.ObjectIdentifier,
) -> Pem:
    cert, key = _issue(
        "leaf",
        (ca[0].subject, ca[1]),
        [
            (x509.SubjectAlternativeName(names), False),
            (x509.ExtendedKeyUsage([usage]), False),
            (x509.BasicConstraints(ca=False, path_length=None), True),
        ],
    )
    return _pem(cert, key)


@pytest.fixture(scope="module")
def pki() -> Pki:
    ca = _issue("test CA", None, [(x509.BasicConstraints(ca=True, path_length=0), True)])
    server_usage = ExtendedKeyUsageOID.SERVER_AUTH
    everything: list[x509.GeneralName] = [
        x509.DNSName("localhost"),
        x509.DNSName("backend.internal"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
    ]
    return Pki(
        ca=_pem(*ca),
        server=_leaf(ca, everything, server_usage),
        internal_only=_leaf(ca, [x509.DNSName("backend.internal")], server_usage),
        client=_leaf(ca, [x509.DNSName("transcoder")], ExtendedKeyUsageOID.CLIENT_AUTH),
    )


@pytest.fixture(scope="module")
def pem_files(pki: Pki, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("pki")
    files = {
        "ca": pki.ca.cert,
        "client_cert": pki.client.cert,
        "client_key": pki.client.key,
    }
    for name, data in files.items():
        (folder / f"{name}.pem").write_bytes(data)
    return {name: str(folder / f"{name}.pem") for name in files}


StartTls = Callable[..., int]


@pytest.fixture
def start_tls(registry: Registry) -> Iterator[StartTls]:
    """Start the example backend with TLS; returns its port."""
    running: list[example_backend.RunningBackend] = []

    def start(server: Pem, *, client_ca: bytes | None = None, reflection: bool = False) -> int:
        credentials = grpc.ssl_server_credentials(
            [(server.key, server.cert)],
            root_certificates=client_ca,
            require_client_auth=client_ca is not None,
        )
        backend = example_backend.start(
            "127.0.0.1:0", registry=registry, credentials=credentials, reflection=reflection
        )
        running.append(backend)
        return backend.port

    yield start
    for backend in running:
        backend.stop()


def _ping(handler: Handler, context: LambdaContext) -> dict[str, object]:
    return handler(PING, context)


def test_tls_with_a_ca_bundle(
    pki: Pki,
    pem_files: dict[str, str],
    start_tls: StartTls,
    make_library_handler: Callable[..., Handler],
    context: LambdaContext,
) -> None:
    port = start_tls(pki.server)
    handler = make_library_handler(
        backends=(("*", f"grpcs://localhost:{port}"),), tls_ca_file=pem_files["ca"]
    )
    response = _ping(handler, context)
    assert response["statusCode"] == 200
    assert response_json(response) == {"text": "over tls"}


def test_descriptors_by_reflection_over_tls_use_the_backends_tls_settings(
    pki: Pki,
    pem_files: dict[str, str],
    start_tls: StartTls,
    make_library_handler: Callable[..., Handler],
    context: LambdaContext,
) -> None:
    port = start_tls(pki.server, reflection=True)
    target = f"grpcs://localhost:{port}"
    handler = make_library_handler(
        descriptors=(target,), backends=(("*", target),), tls_ca_file=pem_files["ca"]
    )
    response = _ping(handler, context)
    assert (response["statusCode"], response_json(response)) == (200, {"text": "over tls"})
    # Without the CA the reflection call cannot be trusted: not ready, naming the location.
    untrusted = make_library_handler(descriptors=(target,), backends=(("*", target),))
    refused = _ping(untrusted, context)
    assert refused["statusCode"] == 503
    assert f"{target}: server reflection" in response_json(refused)["message"]


def test_system_roots_do_not_trust_a_private_ca(
    pki: Pki,
    start_tls: StartTls,
    make_library_handler: Callable[..., Handler],
    context: LambdaContext,
) -> None:
    port = start_tls(pki.server)
    handler = make_library_handler(backends=(("*", f"grpcs://localhost:{port}"),))
    response = _ping(handler, context)
    assert response["statusCode"] == 503
    assert str(port) not in response_json(response)["message"]


@pytest.mark.parametrize(
    ("server_name", "status"),
    [
        pytest.param("backend.internal", 200, id="override"),
        pytest.param("", 503, id="address-does-not-match"),
    ],
)
def test_server_name_override(
    pki: Pki,
    pem_files: dict[str, str],
    start_tls: StartTls,
    make_library_handler: Callable[..., Handler],
    context: LambdaContext,
    server_name: str,
    status: int,
) -> None:
    port = start_tls(pki.internal_only)
    handler = make_library_handler(
        backends=(("*", f"grpcs://127.0.0.1:{port}"),),
        tls_ca_file=pem_files["ca"],
        tls_server_name=server_name,
    )
    assert _ping(handler, context)["statusCode"] == status


@pytest.mark.parametrize(
    ("with_client_cert", "status"),
    [
        pytest.param(True, 200, id="client-certificate"),
        pytest.param(False, 503, id="no-client-certificate"),
    ],
)
def test_mutual_tls(
    pki: Pki,
    pem_files: dict[str, str],
    start_tls: StartTls,
    make_library_handler: Callable[..., Handler],
    context: LambdaContext,
    with_client_cert: bool,
    status: int,
) -> None:
    port = start_tls(pki.server, client_ca=pki.ca.cert)
    client = (
        {"tls_cert_file": pem_files["client_cert"], "tls_key_file": pem_files["client_key"]}
        if with_client_cert
        else {}
    )
    handler = make_library_handler(
        backends=(("*", f"grpcs://localhost:{port}"),), tls_ca_file=pem_files["ca"], **client
    )
    assert _ping(handler, context)["statusCode"] == status


def test_plaintext_to_a_tls_backend_is_unavailable(
    pki: Pki,
    start_tls: StartTls,
    make_library_handler: Callable[..., Handler],
    context: LambdaContext,
) -> None:
    port = start_tls(pki.server)
    handler = make_library_handler(backends=(("*", f"grpc://localhost:{port}"),))
    assert _ping(handler, context)["statusCode"] == 503


def test_unreadable_ca_file_is_a_503_naming_the_setting(
    make_library_handler: Callable[..., Handler], context: LambdaContext, tmp_path: Path
) -> None:
    handler = make_library_handler(tls_ca_file=str(tmp_path / "missing.pem"))
    response = _ping(handler, context)
    assert response["statusCode"] == 503
    assert "TRANSCODER_TLS_CA_FILE" in response_json(response)["message"]
