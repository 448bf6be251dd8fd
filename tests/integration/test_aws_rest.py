"""dbshift.aws.rest against the emulated AWS (moto server over HTTP), side by side with boto3 on the same
objects; and against a small local HTTP server for what moto does not do (throttling, Region redirects,
checking which credentials signed)."""

from __future__ import annotations

import contextlib
import os
import socket
import ssl
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from loopback import LoopbackServer

from dbshift.aws import rest
from dbshift.aws.clients import AwsConfig, client
from dbshift.aws.rest import KmsRest, S3Rest

KEYS = ["tlogs/a b/1", "tlogs/a+b/2", "tlogs/été/3", "tlogs/100%/4", "tlogs/x~y/5", "tlogs/q?r=s&t/6", "other/7"]


@pytest.fixture
def bucket(aws: AwsConfig) -> str:
    name = f"rest-{uuid.uuid4().hex[:12]}"
    s3 = client("s3", aws)
    s3.create_bucket(Bucket=name)
    for i, key in enumerate(KEYS):
        s3.put_object(
            Bucket=name, Key=key, Body=os.urandom(1000 + i), Metadata={"x-amz-iv": f"iv{i}", "dbresourceid": "db-1"}
        )
    return name


def _drain(body: rest.RestBody) -> bytes:
    out = bytearray()
    view = memoryview(bytearray(333))  # smaller than the objects: several reads
    while n := body.readinto(view):
        out += view[:n]
    return bytes(out)


def test_listing_pages_and_odd_keys_match_boto3(aws: AwsConfig, bucket: str) -> None:
    s3 = S3Rest(aws)
    keys, token, pages = [], None, 0
    while True:
        page = s3.list_objects_v2(Bucket=bucket, Prefix="tlogs/", MaxKeys=2, ContinuationToken=token)
        keys += [(c["Key"], c["Size"], c["ETag"]) for c in page["Contents"]]
        pages += 1
        if not page["IsTruncated"]:
            break
        token = page["NextContinuationToken"]
    expected = [
        (c["Key"], c["Size"], c["ETag"])
        for c in client("s3", aws).list_objects_v2(Bucket=bucket, Prefix="tlogs/")["Contents"]
    ]
    assert keys == expected and len(keys) == 6 and pages == 3


@pytest.mark.parametrize("key", KEYS[:6])
def test_get_object_matches_boto3(aws: AwsConfig, bucket: str, key: str) -> None:
    theirs = client("s3", aws).get_object(Bucket=bucket, Key=key)
    ours = S3Rest(aws).get_object(Bucket=bucket, Key=key, IfMatch=theirs["ETag"])
    body = ours["Body"]
    assert _drain(body) == theirs["Body"].read()
    body.verify(key)  # length and the CRC32 botocore also checks
    body.close()
    assert body.checksum is not None and body.checksum.algorithm == "crc32"
    assert (ours["ETag"], ours["ContentLength"], ours["Metadata"]) == (
        theirs["ETag"],
        theirs["ContentLength"],
        theirs["Metadata"],
    )


def test_s3_errors_carry_boto3s_codes(aws: AwsConfig, bucket: str) -> None:
    s3 = S3Rest(aws)
    for call, code in [
        (lambda: s3.get_object(Bucket=bucket, Key="tlogs/none"), "NoSuchKey"),
        (lambda: s3.get_object(Bucket=bucket, Key=KEYS[0], IfMatch='"0000"'), "PreconditionFailed"),
        (lambda: s3.get_object(Bucket=f"{bucket}-gone", Key="k"), "NoSuchBucket"),
        (lambda: s3.list_objects_v2(Bucket=f"{bucket}-gone"), "NoSuchBucket"),
    ]:
        with pytest.raises(ClientError) as err:
            call()
        assert err.value.response["Error"]["Code"] == code
    # the connection was given back after each error and still serves
    assert s3.list_objects_v2(Bucket=bucket, Prefix="other/")["Contents"][0]["Key"] == "other/7"


def test_kms_decrypt_with_context_like_boto3(aws: AwsConfig) -> None:
    kms = client("kms", aws)
    arn = kms.create_key(Description="rest")["KeyMetadata"]["Arn"]
    other = kms.create_key(Description="other")["KeyMetadata"]["Arn"]
    context = {"aws:rds:db-id": "db-REST"}
    dk = kms.generate_data_key(KeyId=arn, KeySpec="AES_256", EncryptionContext=context)
    ours = KmsRest(aws)
    assert (
        ours.decrypt(CiphertextBlob=dk["CiphertextBlob"], EncryptionContext=context, KeyId=arn)["Plaintext"]
        == (dk["Plaintext"])
    )
    for kwargs in (
        {"EncryptionContext": {"aws:rds:db-id": "db-OTHER"}},
        {"EncryptionContext": context, "KeyId": other},
    ):
        with pytest.raises(ClientError) as theirs:
            kms.decrypt(CiphertextBlob=dk["CiphertextBlob"], **kwargs)
        with pytest.raises(ClientError) as err:
            ours.decrypt(CiphertextBlob=dk["CiphertextBlob"], **kwargs)
        assert err.value.response["Error"]["Code"] == theirs.value.response["Error"]["Code"]
        assert err.value.response["Error"]["Code"] in (
            "InvalidCiphertextException",
            "IncorrectKeyException",
            "AccessDeniedException",
        )


# --- a local S3 stand-in for what moto cannot be made to do -----------------------------------------------

LISTING = (
    b'<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
    b"<Name>b</Name><Prefix></Prefix><KeyCount>1</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated>"
    b"<Contents><Key>k</Key><Size>3</Size><ETag>&quot;e&quot;</ETag></Contents></ListBucketResult>"
)


class FakeS3:
    """Answers each request with the next scripted (status, headers, body); the last one repeats.
    Records every request's Authorization header."""

    def __init__(self, script: list[tuple[int, dict[str, str], bytes]], tls: ssl.SSLContext | None = None) -> None:
        self.script, self.auth = script, []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                fake.auth.append(self.headers.get("Authorization", ""))
                status, headers, body = fake.script[min(len(fake.auth), len(fake.script)) - 1]
                self.send_response(status)
                for k, v in {**headers, "Content-Length": str(len(body))}.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def no_wait(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The retry backoff, recorded instead of slept (it grows to seconds)."""
    waits: list[int] = []
    monkeypatch.setattr(rest, "_backoff", waits.append)
    return waits


@pytest.fixture
def fake_s3() -> Iterator[type[FakeS3]]:
    made: list[FakeS3] = []

    def make(script: list[tuple[int, dict[str, str], bytes]], tls: ssl.SSLContext | None = None) -> FakeS3:
        made.append(FakeS3(script, tls))
        return made[-1]

    yield make  # type: ignore[misc]
    for f in made:
        f.close()


SLOW_DOWN = (503, {}, b"<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>")


def test_throttling_is_retried_then_succeeds(fake_s3, no_wait: list[int]) -> None:  # type: ignore[no-untyped-def]
    fake = fake_s3([SLOW_DOWN, SLOW_DOWN, (200, {}, LISTING)])
    page = S3Rest(AwsConfig(endpoint_url=fake.url, access_key_id="a", secret_access_key="s")).list_objects_v2(
        Bucket="b"
    )
    assert [c["Key"] for c in page["Contents"]] == ["k"] and len(fake.auth) == 3 and no_wait == [1, 2]


def test_throttling_gives_up_after_max_attempts(fake_s3, no_wait: list[int]) -> None:  # type: ignore[no-untyped-def]
    fake = fake_s3([SLOW_DOWN])
    with pytest.raises(ClientError) as err:
        S3Rest(AwsConfig(endpoint_url=fake.url, access_key_id="a", secret_access_key="s")).list_objects_v2(Bucket="b")
    assert err.value.response["Error"]["Code"] == "SlowDown" and len(fake.auth) == rest.MAX_ATTEMPTS


def test_redirect_to_the_buckets_region_is_signed_for_it_and_remembered(fake_s3) -> None:  # type: ignore[no-untyped-def]
    moved = (301, {"x-amz-bucket-region": "eu-west-2"}, b"<Error><Code>PermanentRedirect</Code></Error>")
    fake = fake_s3([moved, (200, {}, LISTING)])
    s3 = S3Rest(AwsConfig(endpoint_url=fake.url, region="us-east-1", access_key_id="a", secret_access_key="s"))
    s3.list_objects_v2(Bucket="b")
    s3.list_objects_v2(Bucket="b")
    assert ["/us-east-1/s3/" in a for a in fake.auth] == [True, False, False]
    assert all("/eu-west-2/s3/" in a for a in fake.auth[1:])


def test_credentials_from_the_environment_then_from_botocores_chain(  # type: ignore[no-untyped-def]
    fake_s3, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = fake_s3([(200, {}, LISTING)])
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDFROMENV")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    S3Rest(AwsConfig(endpoint_url=fake.url)).list_objects_v2(Bucket="b")
    creds = tmp_path / "credentials"
    creds.write_text("[default]\naws_access_key_id = AKIDFROMFILE\naws_secret_access_key = s\n", encoding="utf-8")
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(creds))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    S3Rest(AwsConfig(endpoint_url=fake.url)).list_objects_v2(Bucket="b")
    assert [a.split("Credential=")[1].split("/")[0] for a in fake.auth] == ["AKIDFROMENV", "AKIDFROMFILE"]


def _self_signed(tmp_path: Path) -> tuple[ssl.SSLContext, Path]:
    """A server context for 127.0.0.1 and the certificate a client must trust for it."""
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "dbshift test")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert_path, key_path)
    return ctx, cert_path


def test_https_verifies_the_certificate_against_aws_ca_bundle(  # type: ignore[no-untyped-def]
    fake_s3, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_wait: list[int]
) -> None:
    server_ctx, cert = _self_signed(tmp_path)
    fake = fake_s3([(200, {}, LISTING)], tls=server_ctx)
    config = AwsConfig(endpoint_url=fake.url, access_key_id="a", secret_access_key="s")
    monkeypatch.setenv("AWS_CA_BUNDLE", str(cert))
    assert S3Rest(config).list_objects_v2(Bucket="b")["Contents"][0]["Key"] == "k"
    # Not trusted: refused (every attempt), never sent in the clear or unverified.
    monkeypatch.delenv("AWS_CA_BUNDLE")  # the system's roots only
    with pytest.raises(EndpointConnectionError) as err:
        S3Rest(config).list_objects_v2(Bucket="b")
    assert isinstance(err.value.kwargs["error"], ssl.SSLCertVerificationError)
    assert len(fake.auth) == 1


class Proxy(LoopbackServer):
    """An HTTP proxy: CONNECT tunnels and absolute-form requests, each request line recorded."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        super().__init__()

    def handle(self, client_sock: socket.socket) -> None:
        head = b""
        while b"\r\n\r\n" not in head and (data := client_sock.recv(65536)):
            head += data
        line, _, rest = head.partition(b"\r\n")
        method, target, version = line.decode().split(" ")
        self.seen.append(f"{method} {target}")
        if method == "CONNECT":
            upstream = socket.create_connection(tuple(target.rsplit(":", 1)))  # type: ignore[arg-type]
            client_sock.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            rest = rest.partition(b"\r\n\r\n")[2]
        else:
            parts = urlsplit(target)
            upstream = socket.create_connection((parts.hostname, parts.port))
            origin = parts.path + (f"?{parts.query}" if parts.query else "")
            rest = f"{method} {origin} {version}\r\n".encode() + rest
        if rest:
            upstream.sendall(rest)
        for a, b in ((client_sock, upstream), (upstream, client_sock)):
            threading.Thread(target=_pipe, args=(a, b), daemon=True).start()


def _pipe(src: socket.socket, dst: socket.socket) -> None:
    try:
        while data := src.recv(65536):
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for sock in (src, dst):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


def test_proxies_from_the_environment(  # type: ignore[no-untyped-def]
    fake_s3, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for var in [k for k in os.environ if k.lower().endswith("_proxy")]:
        monkeypatch.delenv(var)
    server_ctx, cert = _self_signed(tmp_path)
    monkeypatch.setenv("AWS_CA_BUNDLE", str(cert))
    plain, tls = fake_s3([(200, {}, LISTING)]), fake_s3([(200, {}, LISTING)], tls=server_ctx)
    proxy = Proxy()
    try:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        for fake in (plain, tls):
            config = AwsConfig(endpoint_url=fake.url, access_key_id="a", secret_access_key="s")
            assert S3Rest(config).list_objects_v2(Bucket="b")["Contents"][0]["Key"] == "k"
        plain_port, tls_port = (urlsplit(f.url).port for f in (plain, tls))
        assert proxy.seen[0].startswith(f"GET http://127.0.0.1:{plain_port}/b?")  # absolute-form
        assert proxy.seen[1] == f"CONNECT 127.0.0.1:{tls_port}"  # a tunnel: TLS checked end to end
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        S3Rest(AwsConfig(endpoint_url=plain.url, access_key_id="a", secret_access_key="s")).list_objects_v2(Bucket="b")
        assert len(proxy.seen) == 2 and len(plain.auth) == 2
    finally:
        proxy.close()


def test_endpoint_that_refuses_connections(no_wait: list[int]) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    with pytest.raises(EndpointConnectionError):
        S3Rest(AwsConfig(endpoint_url=f"http://127.0.0.1:{port}", access_key_id="a", secret_access_key="s")).get_object(
            Bucket="b", Key="k"
        )
    assert len(no_wait) == rest.MAX_ATTEMPTS - 1


@pytest.mark.parametrize(
    ("bucket", "region", "fips", "expected"),
    [
        ("tlogs-bucket", "eu-west-1", False, "https://tlogs-bucket.s3.eu-west-1.amazonaws.com/a%20b"),
        ("my.dotted.bucket", "eu-west-1", False, "https://s3.eu-west-1.amazonaws.com/my.dotted.bucket/a%20b"),
        ("tlogs-bucket", "cn-north-1", False, "https://tlogs-bucket.s3.cn-north-1.amazonaws.com.cn/a%20b"),
        ("tlogs-bucket", "us-gov-west-1", True, "https://tlogs-bucket.s3-fips.us-gov-west-1.amazonaws.com/a%20b"),
    ],
)
def test_public_endpoints(bucket: str, region: str, fips: bool, expected: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("AWS_ENDPOINT_URL", "DBSHIFT_AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_USE_FIPS_ENDPOINT", "true" if fips else "false")
    ep, path = S3Rest(AwsConfig(region=region))._target(bucket, "a b")(region)
    assert f"{ep.scheme}://{ep.netloc}{path}" == expected
