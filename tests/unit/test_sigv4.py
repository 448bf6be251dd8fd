"""dbshift.aws.sigv4 signs exactly as botocore does: the same requests signed both ways, compared byte for byte."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from urllib.parse import quote, urlsplit

import pytest
from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotoCredentials

from dbshift.aws.sigv4 import EMPTY_SHA256, Credentials, sign

CASES = [
    # service, method, url (path already encoded as it goes on the wire), query, headers, body, token
    ("s3", "GET", "http://127.0.0.1:4566/bucket/tlogs/5.F00/5.F00.12.1700000012", {}, {}, b"", None),
    (
        "s3",
        "GET",
        "https://bucket.s3.eu-west-1.amazonaws.com/a%20key/with%2Bplus/%C3%A9t%C3%A9~x",
        {},
        {"x-amz-checksum-mode": "ENABLED", "if-match": '"0123abcd"'},
        b"",
        "session-token/+=",
    ),
    (
        "s3",
        "GET",
        "https://s3.us-east-1.amazonaws.com/my.bucket",
        {"list-type": "2", "prefix": "t/7 x/", "max-keys": "9", "continuation-token": "a+b/c=", "encoding-type": "u"},
        {},
        b"",
        None,
    ),
    (
        "kms",
        "POST",
        "https://kms.eu-west-1.amazonaws.com/",
        {},
        {"content-type": "application/x-amz-json-1.1", "x-amz-target": "TrentService.Decrypt"},
        b'{"CiphertextBlob": "AAEC", "EncryptionContext": {"aws:rds:db-id": "db-ABC"}}',
        "tok",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("service", "method", "url", "query", "headers", "body", "token"), CASES)
def test_same_signature_as_botocore(
    service: str, method: str, url: str, query: dict[str, str], headers: dict[str, str], body: bytes, token: str | None
) -> None:
    region = urlsplit(url).hostname.split(".")[-3] if "amazonaws" in url else "us-east-1"  # type: ignore[union-attr]
    qs = "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in query.items())
    request = AWSRequest(method=method, url=url + (f"?{qs}" if qs else ""), data=body, headers=dict(headers))
    auth_cls = S3SigV4Auth if service == "s3" else SigV4Auth
    payload = hashlib.sha256(body).hexdigest() if body else EMPTY_SHA256
    if service == "s3":
        request.headers["X-Amz-Content-SHA256"] = payload  # what botocore's S3 client sets before signing
    auth_cls(
        BotoCredentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", token), service, region
    ).add_auth(request)
    when = datetime.strptime(request.headers["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    parts = urlsplit(url)
    ours = sign(
        method,
        parts.netloc,
        parts.path,
        query,
        headers,
        payload,
        Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", token),
        region,
        service,
        when,
    )
    assert ours["authorization"] == request.headers["Authorization"]
    if token:
        assert ours["x-amz-security-token"] == token


def test_signature_depends_on_every_input() -> None:
    """A signature that ignored one of its inputs would still pass a single comparison."""
    creds = Credentials("AKID", "secret")
    when = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    base = ("GET", "h", "/b/k", {"a": "1"}, {"x-amz-checksum-mode": "ENABLED"}, EMPTY_SHA256, creds, "eu-west-1", "s3")
    first = sign(*base, now=when)["authorization"]
    variants = [
        ("PUT", *base[1:]),
        (base[0], "h2", *base[2:]),
        (*base[:2], "/b/k2", *base[3:]),
        (*base[:3], {"a": "2"}, *base[4:]),
        (*base[:4], {"x-amz-checksum-mode": "DISABLED"}, *base[5:]),
        (*base[:5], hashlib.sha256(b"x").hexdigest(), *base[6:]),
        (*base[:6], Credentials("AKID", "other"), *base[7:]),
        (*base[:7], "us-east-1", base[8]),
    ]
    signatures = {sign(*v, now=when)["authorization"] for v in variants}  # type: ignore[arg-type]
    assert first not in signatures and len(signatures) == len(variants)
    assert sign(*base, now=when.replace(day=23))["authorization"] != first  # type: ignore[arg-type]
