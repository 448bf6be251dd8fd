"""playbooks/dr_elasticache.yml against the emulated AWS (moto server; source us-east-1, target us-west-2):
backup_seed in four steps (check, run, check, run), auto choosing backup_seed, a wrong-Region key and an
insecure bucket refused before anything is created, and the security-parity check on a weakened target;
global_failover (Global Datastores from dbshift.estate.moto_patches_elasticache_dr) in four steps with the source
Region impaired, auto choosing it, and a missing secondary refused. Plus the module's documentation and the role's
spec. States moto cannot show are stubbed at library level (tests/integration/test_dr_elasticache.py)."""

from __future__ import annotations

import http.client
import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml
from ansible_helpers import REPO, Run, load_module
from e2e_helpers import dr_runbook, target_key, task_status, unique

from dbshift.dr import Clients, elasticache, elasticache_runbook, parity

SOURCE, TARGET = "us-east-1", "us-west-2"
TASK = "TASK [dr_elasticache : Recover"


def make_bucket(clients: Clients, region: str, secure: bool = True) -> str:
    s3, name = clients.get("s3", region), unique("dr-ec")
    args = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    s3.create_bucket(Bucket=name, **args)
    if secure:
        flags = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
        s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=dict.fromkeys(flags, True))
        deny = {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [f"arn:aws:s3:::{name}", f"arn:aws:s3:::{name}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
        s3.put_bucket_policy(Bucket=name, Policy=json.dumps({"Version": "2012-10-17", "Statement": [deny]}))
    return name


def make_source(clients: Clients) -> str:
    """A Multi-AZ, encrypted, 5-day-retention replication group in the source Region; its id."""
    group = unique("src")
    clients.get("elasticache", SOURCE).create_replication_group(
        ReplicationGroupId=group,
        ReplicationGroupDescription="sessions",
        CacheNodeType="cache.t3.small",
        Engine="redis",
        NumCacheClusters=2,
        AutomaticFailoverEnabled=True,
        MultiAZEnabled=True,
        AtRestEncryptionEnabled=True,
        TransitEncryptionEnabled=True,
        SnapshotRetentionLimit=5,
    )
    return group


def scenario(clients: Clients, secure: bool = True, key_region: str = TARGET) -> dict[str, Any]:
    return {
        "dr_elasticache_source_replication_group_id": make_source(clients),
        "dr_elasticache_target_replication_group_id": unique("dr"),
        "dr_elasticache_kms_key_arn": target_key(clients, key_region),
        "dr_elasticache_source_bucket": make_bucket(clients, SOURCE, secure),
        "dr_elasticache_target_bucket": make_bucket(clients, TARGET),
        "dr_elasticache_node_type": "cache.t3.small",
    }


# The emulated estate has no Redis to PING and no CloudWatch alarms on the new group.
playbook = partial(
    dr_runbook, "dr_elasticache", source=SOURCE, target=TARGET, verify_waive=["connectivity", "monitoring"]
)


def backups_of(clients: Clients, group: str) -> list[str]:
    snaps = clients.get("elasticache", SOURCE).describe_snapshots(ReplicationGroupId=group)["Snapshots"]
    return [s["SnapshotName"] for s in snaps]


def keys(clients: Clients, region: str, bucket: str) -> list[str]:
    return sorted(o["Key"] for o in clients.get("s3", region).list_objects_v2(Bucket=bucket).get("Contents", []))


def assert_nothing_created(clients: Clients, v: dict[str, Any]) -> None:
    assert (
        elasticache.describe_group(clients.get("elasticache", TARGET), v["dr_elasticache_target_replication_group_id"])
        is None
    )
    assert backups_of(clients, v["dr_elasticache_source_replication_group_id"]) == []
    assert keys(clients, SOURCE, v["dr_elasticache_source_bucket"]) == []
    assert keys(clients, TARGET, v["dr_elasticache_target_bucket"]) == []


# ------------------------------------------------------------------------------------------ the runbook


def test_backup_seed_four_steps(run_ansible, inventory, tmp_path, aws_endpoint_url, clients) -> None:
    v = scenario(clients)
    new, key = v["dr_elasticache_target_replication_group_id"], v["dr_elasticache_kms_key_arn"]
    run = playbook(run_ansible, inventory, tmp_path, aws_endpoint_url, dr_elasticache_method="backup_seed", **v)

    # 1. Check mode: would create; no backup, export, copy or group.
    check = run("--check")
    assert check.rc == 0, check.output[-6000:]
    assert task_status(check, TASK) == "changed" and "would_create" in check.stdout
    assert_nothing_created(clients, v)

    # 2. Real run: the group is in us-west-2, seeded from the copied .rdb, encrypted with the target Region's key.
    real = run()
    assert real.rc == 0, real.output[-6000:]
    assert task_status(real, TASK) == "changed"
    group = clients.get("elasticache", TARGET).describe_replication_groups(ReplicationGroupId=new)["ReplicationGroups"][
        0
    ]
    assert group["ARN"].split(":")[3] == TARGET and group["Status"] == "available"
    assert group["AtRestEncryptionEnabled"] is True and group["KmsKeyId"] == key
    assert group["TransitEncryptionEnabled"] is True and group["MultiAZ"] == "enabled"
    assert group["SnapshotRetentionLimit"] == 7 and group["CacheNodeType"] == "cache.t3.small"
    export = elasticache.export_name(new)
    assert keys(clients, TARGET, v["dr_elasticache_target_bucket"]) == [f"{export}-0001.rdb"]
    assert f"backup_seed: {new} in {TARGET} is available" in real.stdout and key in real.stdout
    # dr_recovered reached the cutover role, which prints the endpoint (no Route 53 zone given).
    assert "master." in real.stdout and "dr_cutover" in real.stdout

    # 3 and 4. Check mode again and a real run again: nothing changes, no second backup, export, copy or group.
    for args in (("--check",), ()):
        again = run(*args)
        assert again.rc == 0, again.output[-6000:]
        assert again.recap()["changed"] == 0, again.stdout[-6000:]
    assert backups_of(clients, v["dr_elasticache_source_replication_group_id"]) == [elasticache.backup_name(new)]
    assert keys(clients, SOURCE, v["dr_elasticache_source_bucket"]) == [f"{export}-0001.rdb"]
    assert keys(clients, TARGET, v["dr_elasticache_target_bucket"]) == [f"{export}-0001.rdb"]


def test_auto_chooses_backup_seed_and_says_why(run_ansible, inventory, tmp_path, aws_endpoint_url, clients) -> None:
    v = scenario(clients)
    run = playbook(run_ansible, inventory, tmp_path, aws_endpoint_url, dr_elasticache_method="auto", **v)
    first = run()
    assert first.rc == 0, first.output[-6000:]
    assert "method auto chose backup_seed" in first.stdout
    src = v["dr_elasticache_source_replication_group_id"]
    assert f"global_failover skipped: no Global Datastore secondary of {src} in {TARGET}" in first.stdout
    again = run()
    assert again.rc == 0 and again.recap()["changed"] == 0, again.stdout[-6000:]
    assert "was seeded by an earlier run" in again.stdout


@pytest.mark.parametrize("check_mode", [False, True])
def test_a_key_of_another_region_is_refused_before_anything_is_created(
    run_ansible, inventory, tmp_path, aws_endpoint_url, clients, check_mode
) -> None:
    v = scenario(clients, key_region=SOURCE)
    run = playbook(run_ansible, inventory, tmp_path, aws_endpoint_url, dr_elasticache_method="backup_seed", **v)
    failed = run(*(["--check"] if check_mode else []))
    assert failed.rc != 0 and task_status(failed, TASK) == "fatal"
    wrong = v["dr_elasticache_kms_key_arn"]
    assert wrong in failed.stdout and f"is a key in {SOURCE}" in failed.stdout
    assert f"Create (or replicate a multi-Region key) in {TARGET}" in failed.stdout
    assert_nothing_created(clients, v)


def test_an_insecure_export_bucket_is_refused_before_anything_is_created(
    run_ansible, inventory, tmp_path, aws_endpoint_url, clients
) -> None:
    v = scenario(clients, secure=False)
    run = playbook(run_ansible, inventory, tmp_path, aws_endpoint_url, dr_elasticache_method="backup_seed", **v)
    for args in (("--check",), ()):
        refused = run(*args)
        assert refused.rc != 0 and task_status(refused, TASK) == "fatal", refused.stdout[-4000:]
        assert f"bucket {v['dr_elasticache_source_bucket']} has no Deny on aws:SecureTransport=false" in refused.stdout
        assert "parity_waive: [bucket_public_access_block, bucket_tls_only]" in refused.stdout
    assert_nothing_created(clients, v)


def test_parity_fails_a_weakened_target_unless_waived(run_ansible, inventory, tmp_path, aws_endpoint_url, clients):
    v = scenario(clients)
    made = playbook(run_ansible, inventory, tmp_path, aws_endpoint_url, dr_elasticache_method="backup_seed", **v)()
    assert made.rc == 0, made.output[-6000:]
    new = v["dr_elasticache_target_replication_group_id"]
    # Someone turned Multi-AZ and backups off on the recovered group: the runbook must not call that a success.
    clients.get("elasticache", TARGET).modify_replication_group(
        ReplicationGroupId=new, MultiAZEnabled=False, SnapshotRetentionLimit=0, ApplyImmediately=True
    )
    refused = playbook(run_ansible, inventory, tmp_path, aws_endpoint_url, dr_elasticache_method="backup_seed", **v)()
    assert refused.rc != 0 and task_status(refused, TASK) == "fatal", refused.stdout[-4000:]
    assert "security parity" in refused.stdout
    assert f"multi_az: source has Multi-AZ enabled, {new} has 'disabled'" in refused.stdout
    assert f"backup_retention: {new} keeps backups 0 days, source 5" in refused.stdout
    assert "parity_waive: [backup_retention, multi_az]" in refused.stdout

    waived = playbook(
        run_ansible,
        inventory,
        tmp_path,
        aws_endpoint_url,
        dr_elasticache_method="backup_seed",
        dr_elasticache_parity_waive=["multi_az", "backup_retention"],
        dr_verify_waive=["connectivity", "monitoring", "backups"],
        **v,
    )()
    assert waived.rc == 0, waived.output[-6000:]
    assert waived.recap()["changed"] == 0
    assert "parity waived: multi_az" in waived.stdout


# ------------------------------------------------------------------------------------------ Global Datastore

CREDENTIAL_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/([^/]+)/([^/]+)/")


@dataclass
class RegionProxy:
    """An HTTP proxy in front of moto: records every AWS request as (Region, service, action) and, for a Region in
    `down`, drops the connection without an answer, as the endpoint of an impaired Region does."""

    url: str = ""
    down: set[str] = field(default_factory=set)
    calls: list[tuple[str, str, str]] = field(default_factory=list)

    def actions_in(self, region: str) -> list[str]:
        return [action for r, _, action in self.calls if r == region]


@pytest.fixture
def region_proxy(aws_endpoint_url: str) -> Iterator[RegionProxy]:
    proxy, upstream, lock = RegionProxy(), urlsplit(aws_endpoint_url), threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # keep pytest's output clean
            pass

        def forward(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            scope = CREDENTIAL_SCOPE.search(self.headers.get("Authorization", ""))
            region, service = scope.groups() if scope else ("", "")
            fallback = self.headers.get("X-Amz-Target") or f"{self.command} {self.path}"
            action = (parse_qs(body.decode(errors="replace")).get("Action") or [fallback])[0]
            with lock:
                proxy.calls.append((region, service, action))
            if region in proxy.down:
                self.close_connection = True  # no answer at all
                return
            conn = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=60)
            try:
                conn.request(self.command, self.path, body=body, headers=dict(self.headers.items()))
                answer = conn.getresponse()
                data = answer.read()
            finally:
                conn.close()
            self.send_response(answer.status)
            for key, value in answer.getheaders():
                if key.lower() not in ("transfer-encoding", "connection", "content-length", "server", "date"):
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = forward

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    proxy.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield proxy
    finally:
        server.shutdown()
        server.server_close()


def flat(run: Run) -> str:
    """The run's output with whitespace collapsed: the YAML callback wraps long messages across lines."""
    return " ".join(run.stdout.split())


def make_global(clients: Clients, secondary_region: str = TARGET) -> tuple[str, str, str]:
    """The source group as a Global Datastore's primary, with a secondary in `secondary_region`:
    (source group, datastore id, secondary group)."""
    source = make_source(clients)
    gid = clients.get("elasticache", SOURCE).create_global_replication_group(
        GlobalReplicationGroupIdSuffix=unique("sessions"), PrimaryReplicationGroupId=source
    )["GlobalReplicationGroup"]["GlobalReplicationGroupId"]
    secondary = unique("west")
    # Encrypted at rest like the datastore, with a key of the secondary's own Region.
    clients.get("elasticache", secondary_region).create_replication_group(
        ReplicationGroupId=secondary,
        ReplicationGroupDescription="sessions secondary",
        GlobalReplicationGroupId=gid,
        NumCacheClusters=2,
        SnapshotRetentionLimit=7,
        KmsKeyId=target_key(clients, secondary_region),
    )
    return source, gid, secondary


def roles(clients: Clients, gid: str) -> dict[str, str]:
    glob = clients.get("elasticache", TARGET).describe_global_replication_groups(
        GlobalReplicationGroupId=gid, ShowMemberInfo=True
    )["GlobalReplicationGroups"][0]
    return {f"{m['ReplicationGroupRegion']}/{m['ReplicationGroupId']}": m["Role"] for m in glob["Members"]}


def test_global_failover_four_steps_with_the_source_region_down(
    run_ansible, inventory, tmp_path, clients, region_proxy
) -> None:
    source, gid, secondary = make_global(clients)
    region_proxy.down.add(SOURCE)  # the impaired Region: its endpoint never answers
    run = playbook(
        run_ansible,
        inventory,
        tmp_path,
        region_proxy.url,
        dr_elasticache_method="global_failover",
        dr_elasticache_source_replication_group_id=source,
    )
    before = {f"{SOURCE}/{source}": "PRIMARY", f"{TARGET}/{secondary}": "SECONDARY"}

    # 1. Check mode: would fail over; the roles are as they were.
    check = run("--check")
    assert check.rc == 0, check.output[-6000:]
    assert task_status(check, TASK) == "changed" and "would_failover" in check.stdout
    assert roles(clients, gid) == before

    # 2. Real run: the secondary in us-west-2 is the primary now, the old primary a secondary.
    real = run()
    assert real.rc == 0, real.output[-6000:]
    assert task_status(real, TASK) == "changed"
    assert roles(clients, gid) == {f"{SOURCE}/{source}": "SECONDARY", f"{TARGET}/{secondary}": "PRIMARY"}
    group = elasticache.describe_group(clients.get("elasticache", TARGET), secondary)
    assert group and group["Status"] == "available" and group["ARN"].split(":")[3] == TARGET
    assert group["AtRestEncryptionEnabled"] is True and group["TransitEncryptionEnabled"] is True
    key = clients.kms(TARGET).describe_key(KeyId=group["KmsKeyId"])["KeyMetadata"]
    assert key["Arn"] == group["KmsKeyId"] and key["Arn"].split(":")[3] == TARGET
    assert group["GlobalReplicationGroupInfo"] == {
        "GlobalReplicationGroupId": gid,
        "GlobalReplicationGroupMemberRole": "PRIMARY",
    }
    assert f"global_failover: {secondary} in {TARGET} is available" in flat(real)
    assert "parity: source not readable, absolute rules only" in flat(real)
    assert f"master.{secondary}." in flat(real)  # dr_recovered reached the cutover role, which prints the endpoint

    # 3 and 4. Check mode again and a real run again: nothing changes.
    for args in (("--check",), ()):
        again = run(*args)
        assert again.rc == 0, again.output[-6000:]
        assert again.recap()["changed"] == 0, again.stdout[-6000:]
        assert "already the primary" in flat(again)

    # Over the four runs: one failover, called in the target Region. The source Region was only asked by the
    # parity check for the old primary's settings (no answer: the absolute rules were applied instead).
    assert region_proxy.actions_in(TARGET).count("FailoverGlobalReplicationGroup") == 1
    assert set(region_proxy.actions_in(SOURCE)) <= {"DescribeReplicationGroups"}
    assert roles(clients, gid) == {f"{SOURCE}/{source}": "SECONDARY", f"{TARGET}/{secondary}": "PRIMARY"}


def test_auto_chooses_global_failover_when_a_secondary_exists(
    run_ansible, inventory, tmp_path, aws_endpoint_url, clients
) -> None:
    source, gid, secondary = make_global(clients)
    run = playbook(
        run_ansible,
        inventory,
        tmp_path,
        aws_endpoint_url,
        dr_elasticache_method="auto",
        dr_elasticache_source_replication_group_id=source,
    )
    first = run()
    assert first.rc == 0, first.output[-6000:]
    assert task_status(first, TASK) == "changed" and "method auto chose global_failover" in first.stdout
    chosen = f"global_failover chosen: Global Datastore {gid} has {secondary} in {TARGET}"
    assert f"{chosen} (SECONDARY)" in flat(first), first.stdout[-6000:]
    assert roles(clients, gid)[f"{TARGET}/{secondary}"] == "PRIMARY"
    again = run()
    assert again.rc == 0 and again.recap()["changed"] == 0, again.stdout[-6000:]
    assert f"{chosen} (PRIMARY)" in flat(again), again.stdout[-6000:]


def test_a_missing_secondary_is_refused_before_anything_changes(
    run_ansible, inventory, tmp_path, clients, region_proxy
) -> None:
    # The datastore's only secondary is in a third Region; another group is in no datastore at all.
    source, gid, elsewhere = make_global(clients, secondary_region="us-west-1")
    plain = make_source(clients)
    cases = (
        (source, gid, ("--check",), f"Global Datastore {gid} does not hold replication group {SOURCE}/{source}"),
        (source, gid, (), f"Global Datastore {gid} does not hold replication group {SOURCE}/{source}"),
        (plain, "", (), f"no Global Datastore holds replication group {SOURCE}/{plain}"),
    )
    for group, global_id, args, text in cases:
        refused = playbook(
            run_ansible,
            inventory,
            tmp_path,
            region_proxy.url,
            dr_elasticache_method="global_failover",
            dr_elasticache_source_replication_group_id=group,
            dr_elasticache_global_replication_group_id=global_id,
        )(*args)
        assert refused.rc != 0 and task_status(refused, TASK) == "fatal", refused.stdout[-4000:]
        assert f"{text} with a secondary in {TARGET}" in flat(refused)
        assert "choose method backup_seed" in flat(refused)
    assert "FailoverGlobalReplicationGroup" not in [action for _, _, action in region_proxy.calls]
    assert roles(clients, gid) == {f"{SOURCE}/{source}": "PRIMARY", f"us-west-1/{elsewhere}": "SECONDARY"}


# ------------------------------------------------------------------------------------------ module and role
# (That the doc renders and matches ARGUMENT_SPEC, the role's defaults and variables, the playbook's syntax:
# tests/ansible/test_module_and_role_docs.py.)


def test_module_spec_names_and_return_match_the_library() -> None:
    mod = load_module("dr_elasticache")
    # Every name offered is one parity knows; the RDS-only ones have no ElastiCache setting.
    assert set(mod.PARITY_NAMES) <= set(parity.CHECKS)
    assert set(parity.CHECKS) - set(mod.PARITY_NAMES) == {"publicly_accessible", "deletion_protection"}
    offered = tuple(mod.METHODS)
    assert offered == elasticache_runbook.METHODS
    returned = yaml.safe_load(mod.RETURN)
    assert set(elasticache_runbook.EMPTY_RESULT) <= set(returned)
    assert set(elasticache.EcResult.__dataclass_fields__) - {"changed"} <= set(returned)


def test_role_uses_every_option_and_hands_over_to_cutover_and_verify() -> None:
    role = REPO / "roles" / "dr_elasticache"
    options = yaml.safe_load((role / "meta" / "argument_specs.yml").read_text())["argument_specs"]["main"]["options"]
    tasks = (role / "tasks" / "main.yml").read_text()
    used = set(re.findall(r"\bdr_elasticache_[a-z_]+\b", tasks))
    assert set(options) - {"dbshift_aws_endpoint_url"} <= used, sorted(set(options) - used)
    last = yaml.safe_load(tasks)[-1]["ansible.builtin.set_fact"]["dr_recovered"]
    assert set(last) == {"service", "region", "resource_id", "endpoint", "port", "engine"}
    assert last["service"] == "elasticache"
    plays = yaml.safe_load((REPO / "playbooks" / "dr_elasticache.yml").read_text())
    assert [r["role"] for r in plays[0]["roles"]] == ["dr_elasticache", "dr_cutover", "dr_verify"]
