"""The shared DR cutover: point the application's DNS name at the recovered resource, or say where it is.

Every dr_<service> role ends with `dr_recovered` (a `Recovered`). With a hosted zone and a record name the
cutover UPSERTs a simple CNAME (TTL 60 by default, so clients follow within a minute) and waits until Route 53
reports the change INSYNC; it reads the record first and changes nothing when it already points there.
Without them it only reports the endpoint for the application's configuration.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from dbshift.dr import Clients
from dbshift.dr.waits import wait_until
from dbshift.errors import ConfigError, DbshiftError

SERVICES = ("rds", "aurora", "redshift", "elasticache")
MAX_TTL = 2147483647  # Route 53's limit for TTL


@dataclass(frozen=True)
class Recovered:
    """What a dr_<service> role recovered (its `dr_recovered` fact)."""

    service: str
    region: str
    resource_id: str
    endpoint: str = ""
    port: int = 0
    engine: str = ""

    @classmethod
    def from_dict(cls, value: dict[str, Any] | None) -> Recovered:
        value = value or {}
        fix = (
            "end the dr_<service> role with set_fact dr_recovered: {service, region, resource_id, endpoint, port, "
            "engine} (see roles/dr_verify/README.md)"
        )
        service = str(value.get("service") or "")
        if service not in SERVICES:
            raise ConfigError(f"dr_recovered.service is {service!r}, not one of {', '.join(SERVICES)}: {fix}")
        if not value.get("region"):
            raise ConfigError(f"dr_recovered.region is missing for {service}: {fix}")
        try:
            port = int(value.get("port") or 0)
        except (TypeError, ValueError):
            raise ConfigError(f"dr_recovered.port is {value.get('port')!r}, not a number: {fix}") from None
        return cls(
            service=service,
            region=str(value["region"]),
            resource_id=str(value.get("resource_id") or ""),
            endpoint=str(value.get("endpoint") or ""),
            port=port,
            engine=str(value.get("engine") or ""),
        )

    @property
    def label(self) -> str:
        return f"{self.service} {self.resource_id or '(no resource id)'} in {self.region}"

    @property
    def address(self) -> str:
        return f"{self.endpoint}:{self.port}" if self.endpoint and self.port else self.endpoint


@dataclass
class CutoverResult:
    changed: bool
    action: str  # "upsert" (done or, in check mode, would be), "unchanged", "print"
    endpoint: str
    port: int
    message: str
    record_name: str | None = None
    zone_id: str | None = None
    zone_name: str | None = None
    ttl: int | None = None
    previous: list[str] = field(default_factory=list)  # "CNAME value (TTL n)" found before the change
    change_id: str | None = None
    change_status: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def fqdn(name: str) -> str:
    """DNS names compare case-insensitively and Route 53 answers with a trailing dot."""
    return name.strip().lower().rstrip(".") + "."


def zone_id_of(value: str) -> str:
    """Z123… from Z123… or /hostedzone/Z123… (both forms appear in consoles, Terraform and the API)."""
    return value.strip().removeprefix("/hostedzone/")


def hosted_zone(route53: Any, zone_id: str) -> dict[str, Any]:
    try:
        return route53.get_hosted_zone(Id=zone_id)["HostedZone"]
    except ClientError as err:
        if err.response.get("Error", {}).get("Code") in ("NoSuchHostedZone", "InvalidInput"):
            raise ConfigError(
                f"hosted zone {zone_id!r} does not exist (Route 53: {err.response['Error'].get('Message', '')}): "
                "set dr_cutover_zone_id to the Id of an existing zone (aws route53 list-hosted-zones-by-name, or "
                "the dr_target Terraform module's output), or leave dr_cutover_zone_id and dr_cutover_record_name "
                "empty to print the endpoint instead"
            ) from None
        raise


def require_in_zone(record_name: str, zone: dict[str, Any]) -> None:
    name, zone_name = fqdn(record_name), fqdn(zone["Name"])
    if name == zone_name:
        raise ConfigError(
            f"record name {record_name!r} is the apex of zone {zone_name} ({zone_id_of(zone['Id'])}), where DNS "
            f"allows no CNAME: set dr_cutover_record_name to a name below it, e.g. db.{zone_name}"
        )
    if not name.endswith("." + zone_name):
        raise ConfigError(
            f"record name {record_name!r} is outside hosted zone {zone_name} ({zone_id_of(zone['Id'])}): set "
            f"dr_cutover_record_name to a name ending in .{zone_name.rstrip('.')}, or dr_cutover_zone_id to the "
            "zone that holds the name"
        )


def records_at(route53: Any, zone_id: str, name: str) -> list[dict[str, Any]]:
    """Every record set named `name` (any type). Listing starts at the name and is sorted, so stop past it."""
    found: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"HostedZoneId": zone_id, "StartRecordName": name}
    while True:
        page = route53.list_resource_record_sets(**kwargs)
        for rrset in page.get("ResourceRecordSets", []):
            if fqdn(rrset["Name"]) != name:
                return found
            found.append(rrset)
        if not page.get("IsTruncated"):
            return found
        kwargs = {"HostedZoneId": zone_id, "StartRecordName": page["NextRecordName"]}
        kwargs["StartRecordType"] = page["NextRecordType"]
        if page.get("NextRecordIdentifier"):
            kwargs["StartRecordIdentifier"] = page["NextRecordIdentifier"]


def describe_record(rrset: dict[str, Any]) -> str:
    if rrset.get("AliasTarget"):
        return f"{rrset['Type']} alias to {rrset['AliasTarget'].get('DNSName')}"
    values = ", ".join(r["Value"] for r in rrset.get("ResourceRecords", []))
    return f"{rrset['Type']} {values} (TTL {rrset.get('TTL')})"


def refuse_clashes(existing: list[dict[str, Any]], name: str, zone: str) -> None:
    """A CNAME cannot share its name, and this step manages simple records only."""
    others = [r for r in existing if r["Type"] != "CNAME"]
    if others:
        kinds = ", ".join(sorted({r["Type"] for r in others}))
        raise ConfigError(
            f"{name} in zone {zone} already has {kinds} records, and DNS allows no CNAME beside other records: "
            "delete them, or set dr_cutover_record_name to another name"
        )
    routed = [r for r in existing if r.get("SetIdentifier")]
    if routed:
        raise ConfigError(
            f"{name} in zone {zone} is a CNAME with a routing policy (set {routed[0]['SetIdentifier']!r}); this "
            "step manages simple records only: change that record yourself, or set dr_cutover_record_name to "
            "another name"
        )


def points_at(existing: list[dict[str, Any]], endpoint: str, ttl: int) -> bool:
    """Whether the (simple CNAME) record already points at `endpoint` with `ttl`."""
    if len(existing) != 1 or existing[0].get("AliasTarget"):
        return False
    values = [fqdn(r["Value"]) for r in existing[0].get("ResourceRecords", [])]
    return values == [fqdn(endpoint)] and existing[0].get("TTL") == ttl


def cutover(
    clients: Clients,
    recovered: Recovered,
    zone_id: str | None,
    record_name: str | None,
    ttl: int = 60,
    check_mode: bool = False,
    wait_timeout: float = 300,
    poll: float = 5.0,
) -> CutoverResult:
    """UPSERT record_name CNAME → recovered.endpoint in zone_id (both given), or report the endpoint (neither)."""
    zone_id, record_name = (zone_id or "").strip(), (record_name or "").strip()
    if bool(zone_id) != bool(record_name):
        given, missing = ("zone id", "record name") if zone_id else ("record name", "zone id")
        raise ConfigError(
            f"dr_cutover has a {given} but no {missing}: set both dr_cutover_zone_id and dr_cutover_record_name "
            "to update the DNS record, or neither to print the endpoint"
        )
    if not 0 <= ttl <= MAX_TTL:
        raise ConfigError(f"dr_cutover_ttl {ttl} is outside 0..{MAX_TTL}: set it to the seconds clients may cache")
    if not zone_id:
        return _print_only(recovered, check_mode)

    route53 = clients.get("route53", recovered.region)
    zone = hosted_zone(route53, zone_id_of(zone_id))
    require_in_zone(record_name, zone)
    name, zone_name = fqdn(record_name), fqdn(zone["Name"])
    existing = records_at(route53, zone_id_of(zone_id), name)
    refuse_clashes(existing, name, zone_name)
    result = CutoverResult(
        changed=False,
        action="unchanged",
        endpoint=recovered.endpoint,
        port=recovered.port,
        message="",
        record_name=name,
        zone_id=zone_id_of(zone_id),
        zone_name=zone_name,
        ttl=ttl,
        previous=[describe_record(r) for r in existing],
    )
    if not recovered.endpoint:
        if not check_mode:
            raise DbshiftError(
                f"{recovered.label} has no endpoint yet, so {name} cannot point at it: wait until the resource is "
                "available (the dr role reports its endpoint) and run again"
            )
        result.changed, result.action = True, "upsert"
        result.message = f"would point {name} (CNAME, TTL {ttl}) at {recovered.label} once it has an endpoint"
        return result
    if points_at(existing, recovered.endpoint, ttl):
        result.message = f"{name} already points at {recovered.endpoint} (CNAME, TTL {ttl}); nothing to change"
        return result
    result.changed, result.action = True, "upsert"
    if check_mode:
        result.message = f"would point {name} (CNAME, TTL {ttl}) at {recovered.endpoint}"
        return result
    change = route53.change_resource_record_sets(
        HostedZoneId=result.zone_id,
        ChangeBatch={
            "Comment": f"dbshift DR cutover to {recovered.service} {recovered.resource_id} in {recovered.region}",
            "Changes": [
                {
                    "Action": "UPSERT",
                    "ResourceRecordSet": {
                        "Name": name,
                        "Type": "CNAME",
                        "TTL": ttl,
                        "ResourceRecords": [{"Value": recovered.endpoint}],
                    },
                }
            ],
        },
    )["ChangeInfo"]
    result.change_id = change["Id"]
    info = wait_until(
        lambda: route53.get_change(Id=change["Id"])["ChangeInfo"],
        done=lambda c: c["Status"] == "INSYNC",
        failed=lambda c: None,  # a submitted change only goes PENDING → INSYNC
        what=f"Route 53 change {change['Id']} ({name} CNAME → {recovered.endpoint})",
        timeout=wait_timeout,
        poll=poll,
        state=lambda c: str(c["Status"]),
    )
    result.change_status = info["Status"]
    result.message = f"{name} now points at {recovered.endpoint} (CNAME, TTL {ttl}); change {change['Id']} INSYNC"
    return result


def _print_only(recovered: Recovered, check_mode: bool) -> CutoverResult:
    if recovered.endpoint:
        message = (
            f"no DNS record to update (dr_cutover_zone_id and dr_cutover_record_name are empty): point the "
            f"application's configuration at {recovered.address} ({recovered.label})"
        )
    else:
        known = " after the real run" if check_mode else " once the resource is available"
        message = f"no DNS record to update, and {recovered.label} reports no endpoint; it is known{known}"
    return CutoverResult(
        changed=False, action="print", endpoint=recovered.endpoint, port=recovered.port, message=message
    )
