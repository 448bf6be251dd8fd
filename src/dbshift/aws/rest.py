"""S3 GetObject / ListObjectsV2 and KMS Decrypt over http.client, signed with SigV4 (sigv4.py).

For short, data-heavy commands (`dbshift tlog fetch`, `dbshift s3 get`): importing botocore and
building its S3 and KMS clients is ~0.2 s of CPU before the first byte moves, longer than the
transfer of a typical batch of log copies. These three calls are all those commands make, so they
are made here, the way botocore makes them, with the same boto3-shaped results:

- credentials: the explicit keys of an AwsConfig, else AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY /
  AWS_SESSION_TOKEN, else (a profile, SSO, a role, instance metadata, ...) botocore's own chain,
  imported only then;
- endpoint: AwsConfig's (DBSHIFT_AWS_ENDPOINT_URL, AWS_ENDPOINT_URL), then AWS_ENDPOINT_URL_S3 /
  AWS_ENDPOINT_URL_KMS, path-style there; otherwise the Region's public endpoint (virtual-hosted S3
  for DNS-safe bucket names, AWS_USE_FIPS_ENDPOINT honoured) and S3's redirect to a bucket's Region;
- retries: connection failures, 5xx and throttling, up to 8 attempts with jittered backoff, never
  once a body has started (the caller restarts that object);
- errors: botocore's ClientError / EndpointConnectionError (imported on the error path only), so
  callers map error codes once for both paths;
- GetObject asks for the object's checksum (x-amz-checksum-mode) and the body verifies its length
  and CRC32 / SHA-1 / SHA-256 at the end, as botocore's StreamingChecksumBody does; CRC32 through
  ISA-L when installed (~7x zlib's on this path, where it was a third of the CPU).
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import os
import random
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote, urlsplit

from dbshift.aws.config import AwsConfig
from dbshift.aws.sigv4 import EMPTY_SHA256, Credentials, canonical_query, sign, uri_encode
from dbshift.errors import DbshiftError

MAX_ATTEMPTS = 8  # as dbshift.aws.clients' botocore config
CONNECT_TIMEOUT, READ_TIMEOUT = 10, 120
_RETRY_STATUS = frozenset({500, 502, 503, 504})
_THROTTLING = frozenset(
    {"SlowDown", "Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequestsException",
     "RequestTimeout", "RequestTimeoutException", "InternalError", "ServiceUnavailable"}
)  # fmt: skip


def _true(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() == "true"


def _dns_suffix(region: str) -> str:
    return "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"


def _virtual_host_ok(bucket: str) -> bool:
    """Bucket names that can be a host label under the TLS wildcard (no dots), as the SDKs decide."""
    return (
        3 <= len(bucket) <= 63
        and "." not in bucket
        and bucket == bucket.lower()
        and bucket[0].isalnum()
        and bucket[-1].isalnum()
        and all(c.isalnum() or c == "-" for c in bucket)
    )


class _Endpoint:
    """scheme, host[:port] and path prefix of one request target."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise DbshiftError(f"endpoint URL {url!r} is not http(s)://HOST[:PORT]; fix AWS_ENDPOINT_URL")
        self.scheme, self.netloc, self.prefix = parts.scheme, parts.netloc, parts.path.rstrip("/")


class _Connections(threading.local):
    """One keep-alive connection per (scheme, host) per thread, as urllib3's pool keeps them, with the
    prefix its request targets need ("http://host" through a plain-HTTP proxy, else none)."""

    def __init__(self) -> None:
        self.open: dict[tuple[str, str], tuple[http.client.HTTPConnection, str]] = {}


def _proxy_for(scheme: str, netloc: str) -> str | None:
    """HTTP(S)_PROXY / NO_PROXY, as botocore honours them (urllib only imported when a proxy is set)."""
    if not any(k.lower().endswith("_proxy") for k in os.environ):
        return None
    import urllib.request

    proxies = urllib.request.getproxies_environment()
    proxy = proxies.get(scheme)
    if not proxy or urllib.request.proxy_bypass_environment(netloc.split(":")[0], proxies):
        return None
    return proxy


def _client_error(status: int, code: str, message: str, headers: dict[str, str], operation: str) -> Exception:
    from botocore.exceptions import ClientError

    return ClientError(
        {
            "Error": {"Code": code, "Message": message},
            "ResponseMetadata": {"HTTPStatusCode": status, "HTTPHeaders": headers},
        },
        operation,
    )


class _Rest:
    """What S3Rest and KmsRest share: credentials, connections, signing, retries."""

    service = ""

    def __init__(self, config: AwsConfig | None = None) -> None:
        cfg = config or AwsConfig()
        self.region = cfg.resolved_region()
        explicit = cfg.resolved_endpoint() or os.environ.get(f"AWS_ENDPOINT_URL_{self.service.upper()}")
        self.endpoint = _Endpoint(explicit) if explicit else None
        self._static = self._static_credentials(cfg)
        self._chain: Any = None
        self._lock = threading.Lock()
        self._cfg = cfg
        self._conns = _Connections()
        self._bucket_regions: dict[str, str] = {}

    @staticmethod
    def _static_credentials(cfg: AwsConfig) -> Credentials | None:
        if cfg.access_key_id and cfg.secret_access_key:
            return Credentials(cfg.access_key_id, cfg.secret_access_key)
        if cfg.profile:  # an explicit profile wins over the environment's keys, as in botocore
            return None
        key, secret = os.environ.get("AWS_ACCESS_KEY_ID"), os.environ.get("AWS_SECRET_ACCESS_KEY")
        if key and secret:
            return Credentials(key, secret, os.environ.get("AWS_SESSION_TOKEN") or None)
        return None

    def credentials(self) -> Credentials:
        if self._static is not None:
            return self._static
        with self._lock:
            if self._chain is None:
                import botocore.session

                session = botocore.session.Session(profile=self._cfg.profile)
                self._chain = session.get_credentials()
                if self._chain is None:
                    raise DbshiftError(
                        "no AWS credentials: set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or run "
                        "with an instance or task role"
                    )
        frozen = self._chain.get_frozen_credentials()  # refreshes temporary credentials when due
        return Credentials(frozen.access_key, frozen.secret_key, frozen.token)

    def _connection(self, scheme: str, netloc: str) -> tuple[http.client.HTTPConnection, str]:
        """The thread's connection to scheme://netloc and the prefix of its request targets. Through a
        proxy: HTTPS tunnels with CONNECT (TLS and its checks end to end), plain HTTP sends absolute URLs."""
        known = self._conns.open.get((scheme, netloc))
        if known is None:
            proxy = _proxy_for(scheme, netloc)
            target = urlsplit(proxy).netloc if proxy else netloc
            prefix = ""
            if scheme == "https":
                import ssl

                ctx = ssl.create_default_context(cafile=os.environ.get("AWS_CA_BUNDLE") or None)
                conn: http.client.HTTPConnection = http.client.HTTPSConnection(
                    target, timeout=CONNECT_TIMEOUT, context=ctx
                )
                if proxy:
                    conn.set_tunnel(netloc)
            else:
                conn = http.client.HTTPConnection(target, timeout=CONNECT_TIMEOUT)
                prefix = f"http://{netloc}" if proxy else ""
            known = self._conns.open[(scheme, netloc)] = (conn, prefix)
        return known

    def release(self, scheme: str, netloc: str, conn: http.client.HTTPConnection, reusable: bool) -> None:
        if not reusable:
            conn.close()
            if self._conns.open.get((scheme, netloc), (None, ""))[0] is conn:
                del self._conns.open[(scheme, netloc)]

    def answer(self, resp: http.client.HTTPResponse, ep: _Endpoint, conn: http.client.HTTPConnection) -> bytes:
        """A small response's whole body; its connection goes back for reuse."""
        raw = resp.read()
        self.release(ep.scheme, ep.netloc, conn, not resp.will_close)
        return raw

    def send(
        self,
        operation: str,
        method: str,
        target: Callable[[str], tuple[_Endpoint, str]],
        query: dict[str, str],
        headers: dict[str, str],
        body: bytes = b"",
        error: Callable[[int, bytes, dict[str, str]], tuple[str, str]] | None = None,
        bucket: str | None = None,
    ) -> tuple[http.client.HTTPResponse, _Endpoint, http.client.HTTPConnection]:
        """One signed request, retried; the response with its status 2xx and its body unread.
        `target(region)` gives the endpoint and the encoded path (S3 may move to the bucket's Region)."""
        region = self._bucket_regions.get(bucket, self.region) if bucket else self.region
        payload = hashlib.sha256(body).hexdigest() if body else EMPTY_SHA256
        qs = canonical_query(query)  # the signed form is a valid wire form too
        redirected = False
        attempt = 0
        while True:
            attempt += 1
            ep, path = target(region)
            signed = sign(method, ep.netloc, path, query, headers, payload, self.credentials(), region, self.service)
            conn, prefix = self._connection(ep.scheme, ep.netloc)
            try:
                conn.request(method, prefix + path + (f"?{qs}" if qs else ""), body=body or None, headers=signed)
                conn.sock.settimeout(READ_TIMEOUT)
                resp = conn.getresponse()
            except (OSError, http.client.HTTPException) as exc:
                self.release(ep.scheme, ep.netloc, conn, False)
                if attempt < MAX_ATTEMPTS:
                    _backoff(attempt)
                    continue
                from botocore.exceptions import EndpointConnectionError

                raise EndpointConnectionError(endpoint_url=f"{ep.scheme}://{ep.netloc}", error=exc) from exc
            if 200 <= resp.status < 300:
                return resp, ep, conn
            raw = self.answer(resp, ep, conn)
            hdrs = {k.lower(): v for k, v in resp.getheaders()}
            code, message = error(resp.status, raw, hdrs) if error else (str(resp.status), "")
            bucket_region = hdrs.get("x-amz-bucket-region")
            if not redirected and bucket_region and bucket_region != region and resp.status in (301, 307, 400):
                # S3: the bucket lives in another Region; sign for it (and go to its endpoint unless one is set)
                region, redirected = bucket_region, True
                if bucket:
                    self._bucket_regions[bucket] = region
                continue
            if (resp.status in _RETRY_STATUS or code in _THROTTLING) and attempt < MAX_ATTEMPTS:
                _backoff(attempt)
                continue
            raise _client_error(resp.status, code, message, hdrs, operation)


def _backoff(attempt: int) -> None:
    time.sleep(random.uniform(0, min(20.0, 0.05 * 2**attempt)))


def _s3_error(status: int, raw: bytes, headers: dict[str, str]) -> tuple[str, str]:
    """Code and Message of an S3 XML error; the status as the code when there is no body (botocore's rule)."""
    if raw:
        import xml.etree.ElementTree as ET

        try:
            root = ET.fromstring(raw)
            code = root.findtext("Code") or root.findtext("{*}Code")
            if code:
                return code, root.findtext("Message") or root.findtext("{*}Message") or ""
        except ET.ParseError:
            pass
    return str(status), http.client.responses.get(status, "")


class _Checksum:
    """The object's full checksum from x-amz-checksum-* (composite multipart ones are skipped, as
    botocore skips them); CRC32C and CRC64NVME need botocore's CRT extra and are not checked here."""

    def __init__(self, algorithm: str, expected: str) -> None:
        self.algorithm, self.expected = algorithm, expected
        self._crc = 0
        self._hash: Any = None
        if algorithm == "crc32":
            self._crc32 = _crc32()
        else:
            self._hash = hashlib.new(algorithm)

    @classmethod
    def of(cls, headers: dict[str, str]) -> _Checksum | None:
        if headers.get("x-amz-checksum-type", "FULL_OBJECT").upper() == "COMPOSITE":
            return None
        for algorithm in ("crc32", "sha1", "sha256"):
            value = headers.get(f"x-amz-checksum-{algorithm}")
            if value and "-" not in value:
                return cls(algorithm, value)
        return None

    def update(self, data: memoryview) -> None:
        if self._hash is None:
            self._crc = self._crc32(data, self._crc)
        else:
            self._hash.update(data)

    def b64digest(self) -> str:
        digest = self._crc.to_bytes(4, "big") if self._hash is None else self._hash.digest()
        return base64.b64encode(digest).decode("ascii")


def _crc32() -> Callable[[Any, int], int]:
    try:
        from isal.isal_zlib import crc32
    except ImportError:  # same values, about 7x slower
        from zlib import crc32
    return crc32


class RestBody:
    """A GetObject body: readinto straight from the socket; verify() at the end checks the byte count
    against Content-Length and the checksum; close() gives the connection back only when drained."""

    def __init__(self, owner: _Rest, ep: _Endpoint, conn: http.client.HTTPConnection, resp: http.client.HTTPResponse,
                 length: int | None, checksum: _Checksum | None) -> None:  # fmt: skip
        self._owner, self._ep, self._conn, self._resp = owner, ep, conn, resp
        self.length, self.checksum = length, checksum
        self.received = 0
        self._done = False

    def readinto(self, view: memoryview) -> int:
        n = self._resp.readinto(view)
        if n:
            if self.checksum is not None:
                self.checksum.update(view[:n])
            self.received += n
        else:
            self._done = True
        return n

    def verify(self, name: str) -> None:
        """At the end of the body: the length, then the checksum."""
        if self.length is not None and self.received != self.length:
            raise DbshiftError(
                f"{name}: truncated download: the connection ended after {self.received} of {self.length} bytes; "
                "run the command again"
            )
        if self.checksum is not None and self.checksum.b64digest() != self.checksum.expected:
            raise DbshiftError(
                f"{name}: the bytes received do not match the object's S3 checksum (expected "
                f"{self.checksum.algorithm} {self.checksum.expected}, got {self.checksum.b64digest()}); they were "
                "damaged in transit: run the command again"
            )

    def close(self) -> None:
        reusable = self._done and self.length is not None and self.received == self.length
        reusable = reusable and not self._resp.will_close
        if not reusable:
            self._resp.close()
        self._owner.release(self._ep.scheme, self._ep.netloc, self._conn, reusable)


class S3Rest(_Rest):
    """list_objects_v2 and get_object, with boto3's argument and result names."""

    service = "s3"

    def _target(self, bucket: str, key: str = "") -> Callable[[str], tuple[_Endpoint, str]]:
        encoded = uri_encode(key)

        def target(region: str) -> tuple[_Endpoint, str]:
            if self.endpoint is not None:
                return self.endpoint, f"{self.endpoint.prefix}/{bucket}" + (f"/{encoded}" if key else "")
            host = "s3-fips" if _true("AWS_USE_FIPS_ENDPOINT") else "s3"
            suffix = _dns_suffix(region)
            if _virtual_host_ok(bucket):
                return _Endpoint(f"https://{bucket}.{host}.{region}.{suffix}"), f"/{encoded}"
            return _Endpoint(f"https://{host}.{region}.{suffix}"), f"/{bucket}" + (f"/{encoded}" if key else "")

        return target

    def list_objects_v2(
        self, Bucket: str, Prefix: str = "", MaxKeys: int = 1000, ContinuationToken: str | None = None
    ) -> dict[str, Any]:
        import xml.etree.ElementTree as ET

        query = {"list-type": "2", "encoding-type": "url", "max-keys": str(MaxKeys), "prefix": Prefix}
        if ContinuationToken:
            query["continuation-token"] = ContinuationToken
        root = ET.fromstring(
            self.answer(
                *self.send("ListObjectsV2", "GET", self._target(Bucket), query, {}, error=_s3_error, bucket=Bucket)
            )
        )
        ns = root.tag[: root.tag.index("}") + 1] if root.tag.startswith("{") else ""
        encoded = (root.findtext(f"{ns}EncodingType") or "") == "url"

        def text(el: ET.Element, tag: str) -> str:
            value = el.findtext(f"{ns}{tag}") or ""
            return unquote(value) if encoded and tag == "Key" else value

        page: dict[str, Any] = {
            "Contents": [
                {"Key": text(c, "Key"), "Size": int(text(c, "Size") or 0), "ETag": text(c, "ETag")}
                for c in root.iter(f"{ns}Contents")
            ],
            "IsTruncated": text(root, "IsTruncated") == "true",
        }
        if page["IsTruncated"]:
            page["NextContinuationToken"] = text(root, "NextContinuationToken")
        return page

    def get_object(self, Bucket: str, Key: str, IfMatch: str | None = None) -> dict[str, Any]:
        headers = {"x-amz-checksum-mode": "ENABLED"}
        if IfMatch:
            headers["if-match"] = IfMatch
        resp, ep, conn = self.send(
            "GetObject", "GET", self._target(Bucket, Key), {}, headers, error=_s3_error, bucket=Bucket
        )
        hdrs = {k.lower(): v for k, v in resp.getheaders()}
        length = int(hdrs["content-length"]) if "content-length" in hdrs else None
        return {
            "Body": RestBody(self, ep, conn, resp, length, _Checksum.of(hdrs)),
            "ContentLength": length,
            "ETag": hdrs.get("etag", ""),
            "Metadata": {k[len("x-amz-meta-") :]: v for k, v in hdrs.items() if k.startswith("x-amz-meta-")},
        }


class KmsRest(_Rest):
    """decrypt, with boto3's argument and result names."""

    service = "kms"

    def _target(self, region: str) -> tuple[_Endpoint, str]:
        if self.endpoint is not None:
            return self.endpoint, self.endpoint.prefix or "/"
        host = "kms-fips" if _true("AWS_USE_FIPS_ENDPOINT") else "kms"
        return _Endpoint(f"https://{host}.{region}.{_dns_suffix(region)}"), "/"

    def decrypt(
        self, CiphertextBlob: bytes, EncryptionContext: dict[str, str] | None = None, KeyId: str | None = None
    ) -> dict[str, Any]:
        request: dict[str, Any] = {"CiphertextBlob": base64.b64encode(CiphertextBlob).decode("ascii")}
        if EncryptionContext:
            request["EncryptionContext"] = EncryptionContext
        if KeyId:
            request["KeyId"] = KeyId
        headers = {"content-type": "application/x-amz-json-1.1", "x-amz-target": "TrentService.Decrypt"}
        body = json.dumps(request).encode("utf-8")
        answer = json.loads(
            self.answer(*self.send("Decrypt", "POST", self._target, {}, headers, body, error=_json_error))
        )
        return {"Plaintext": base64.b64decode(answer["Plaintext"]), "KeyId": answer.get("KeyId")}


def _json_error(status: int, raw: bytes, headers: dict[str, str]) -> tuple[str, str]:
    """Code and message of an AWS JSON-protocol error (__type may carry a namespace: ns#Code)."""
    try:
        doc = json.loads(raw or b"{}")
    except ValueError:
        doc = {}
    code = str(doc.get("__type") or headers.get("x-amzn-errortype", "") or status).split("#")[-1].split(":")[0]
    return code, str(doc.get("message") or doc.get("Message") or "")
