"""A client that names itself by a client ID metadata document and authenticates with
`private_key_jwt`, as ChatGPT does: its document and key set are served over https on loopback
by this test (with a CA of its own, which the server trusts through SSL_CERT_FILE), and authlib
signs the client assertions (RFC 7523). The oauth project runs once more for it, with
OAUTH_CIMD_ALLOW_PRIVATE_HOSTS=true, the setting the generated README names for this."""

from __future__ import annotations

import datetime
import http.server
import ipaddress
import json
import ssl
import threading

import httpx
import pytest
from authlib.integrations.httpx_client import OAuth2Client
from authlib.jose import JsonWebKey
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

import mcp_flow
from support import Server, Target, answer_pages, free_port, new_user, query_of

pytestmark = pytest.mark.tool("authlib-cimd")


def _certificates(folder):
    """A CA, and a certificate for 127.0.0.1 it signed; returns (CA file, cert file, key file)."""
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "external suite CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
          .not_valid_after(now + datetime.timedelta(hours=2))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(hours=2))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    paths = folder / "ca.pem", folder / "cert.pem", folder / "key.pem"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return paths


class _Documents(http.server.BaseHTTPRequestHandler):
    pages: dict[str, dict] = {}
    served: list[str] = []

    def do_GET(self):  # noqa: N802 (the standard library's name)
        self.served.append(self.path)
        page = self.pages.get(self.path)
        body = json.dumps(page).encode() if page is not None else b"{}"
        self.send_response(200 if page is not None else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Cache-Control", "max-age=300")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def client_site(tmp_path_factory):
    """https://127.0.0.1:PORT serving the client's document and key set; yields (base, CA file, key)."""
    folder = tmp_path_factory.mktemp("cimd")
    ca, cert, key_file = _certificates(folder)
    port = free_port()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), _Documents)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key_file)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    signing_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    yield f"https://127.0.0.1:{port}", ca, signing_key
    server.shutdown()


@pytest.mark.parametrize("name", ["oauth"])
def test_a_metadata_document_client_with_private_key_jwt_signs_in_and_calls_tools(
    name, project_for, client_site, log_dir, record_property,
):
    base, ca, signing_key = client_site
    client_id, redirect_uri = f"{base}/oauth/client.json", f"{base}/connector/oauth/callback"
    pem = signing_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    jwk = JsonWebKey.import_key(pem, {"kid": "k1", "use": "sig"}).as_dict(is_private=False)
    _Documents.pages = {
        "/oauth/client.json": {
            "client_id": client_id, "client_name": "A ChatGPT-like client", "redirect_uris": [redirect_uri],
            "token_endpoint_auth_method": "private_key_jwt", "jwks_uri": f"{base}/oauth/jwks.json",
        },
        "/oauth/jwks.json": {"keys": [jwk]},
    }
    project = project_for(name)
    extra = {"OAUTH_CIMD_ALLOW_PRIVATE_HOSTS": "true", "SSL_CERT_FILE": str(ca), "RATE_LIMIT_PER_MINUTE": "1000000"}
    server = Server(project, "oauth-cimd", extra)
    target = Target("oauth-cimd", "oauth", server)
    target.user, target.password = new_user(project, extra)
    server.start(log_dir)
    try:
        meta = httpx.get(target.url + "/.well-known/oauth-authorization-server", timeout=10).json()
        assert meta["client_id_metadata_document_supported"] is True
        token_url = meta["token_endpoint"]
        local_token_url = target.url + "/oauth/token"
        oauth = OAuth2Client(
            client_id=client_id, client_secret=pem, redirect_uri=redirect_uri, scope="read write",
            token_endpoint_auth_method=PrivateKeyJWT(token_url, headers={"kid": "k1"}, alg="RS256"),
            code_challenge_method="S256", timeout=20,
        )
        verifier = "v" * 43 + "-pkce-verifier"
        url, state = oauth.create_authorization_url(meta["authorization_endpoint"], code_verifier=verifier,
                                                    resource=mcp_flow.public_base(target) + "/mcp")
        back = answer_pages(url, target.url, target.user, target.password)
        assert query_of(back)["state"] == state
        token = oauth.fetch_token(local_token_url, authorization_response=back, state=state, code_verifier=verifier,
                                  resource=mcp_flow.public_base(target) + "/mcp")
        assert token["refresh_token"]
        # The document and the key set came from the client's site, once each (cached).
        assert _Documents.served.count("/oauth/client.json") == 1 and "/oauth/jwks.json" in _Documents.served
        r = httpx.post(target.url + "/mcp", timeout=10, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
                       headers={"Authorization": f"Bearer {token['access_token']}", "Accept": "application/json, text/event-stream"})
        assert r.status_code == 200 and r.json()["result"]["tools"], r.text
        # A second assertion for the refresh: authlib makes a new jti each time.
        refreshed = oauth.refresh_token(local_token_url, refresh_token=token["refresh_token"])
        assert refreshed["access_token"] != token["access_token"]
    finally:
        server.stop()
    record_property("detail", "document + JWKS over https on loopback; authlib's RFC 7523 assertion; PKCE + resource; tools/list; refresh")
