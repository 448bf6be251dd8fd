"""playbooks/dr_elasticache.yml against the emulated AWS (moto server; source us-east-1, target us-west-2):
backup_seed in four steps (check, run, check, run), auto choosing backup_seed, a wrong-Region key and an
insecure bucket refused before anything is created, and the security-parity check on a weakened target.
Plus the module's documentation and the role's spec. Global Datastore failover (moto has no global
datastores) is covered with Stubber at library level (tests/integration/test_dr_elasticache.py)."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import sys
import uuid
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml
from ansible_helpers import REPO, Run, RunAnsible

from dbshift.aws import AwsConfig
from dbshift.dr import Clients, elasticache, elasticache_runbook, parity

SOURCE, TARGET = "us-east-1", "us-west-2"
TASK = "TASK [dr_elasticache : Recover"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def clients(aws_endpoint_url: str) -> Clients:
    return Clients(AwsConfig(endpoint_url=aws_endpoint_url))


@pytest.fixture
def inventory(tmp_path: Path) -> Path:
    inv = tmp_path / "inventory"
    inv.mkdir()
    shutil.copy(REPO / "inventories" / "local" / "hosts.yml", inv / "hosts.yml")
    return inv


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


def target_key(clients: Clients, region: str = TARGET) -> str:
    return clients.kms(region).create_key(Description="dr e2e")["KeyMetadata"]["Arn"]


def scenario(clients: Clients, secure: bool = True, key_region: str = TARGET) -> dict[str, Any]:
    return {
        "dr_elasticache_source_replication_group_id": make_source(clients),
        "dr_elasticache_target_replication_group_id": unique("dr"),
        "dr_elasticache_kms_key_arn": target_key(clients, key_region),
        "dr_elasticache_source_bucket": make_bucket(clients, SOURCE, secure),
        "dr_elasticache_target_bucket": make_bucket(clients, TARGET),
        "dr_elasticache_node_type": "cache.t3.small",
    }


def playbook(run_ansible: RunAnsible, inventory: Path, tmp_path: Path, endpoint: str, **variables: Any) -> Any:
    extra = tmp_path / f"extra-{uuid.uuid4().hex[:6]}.json"
    extra.write_text(
        json.dumps(
            {
                "dbshift_aws_endpoint_url": endpoint,
                "dr_elasticache_source_region": SOURCE,
                "dr_elasticache_target_region": TARGET,
                "dr_elasticache_poll_interval": 0.2,
                "dr_elasticache_wait_timeout": 120,
                "dr_elasticache_api_timeout": 3,
                # The emulated estate has no Redis to PING and no CloudWatch alarms on the new group.
                "dr_verify_waive": ["connectivity", "monitoring"],
                **variables,
            }
        )
    )

    def run(*args: str) -> Run:
        return run_ansible(
            "ansible-playbook", "-v", "-i", str(inventory), "-e", f"@{extra}", *args, "playbooks/dr_elasticache.yml"
        )

    return run


def task_status(run: Run) -> str:
    after = run.stdout.split(TASK, 1)
    assert len(after) == 2, f"no {TASK} in:\n{run.output[-4000:]}"
    m = re.search(r"^(changed|ok|fatal|skipping):", after[1], re.MULTILINE)
    assert m, after[1][:2000]
    return m.group(1)


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
    assert task_status(check) == "changed" and "would_create" in check.stdout
    assert_nothing_created(clients, v)

    # 2. Real run: the group is in us-west-2, seeded from the copied .rdb, encrypted with the target Region's key.
    real = run()
    assert real.rc == 0, real.output[-6000:]
    assert task_status(real) == "changed"
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
    assert failed.rc != 0 and task_status(failed) == "fatal"
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
        assert refused.rc != 0 and task_status(refused) == "fatal", refused.stdout[-4000:]
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
    assert refused.rc != 0 and task_status(refused) == "fatal", refused.stdout[-4000:]
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


# ------------------------------------------------------------------------------------------ module and role
# (That the doc renders and matches ARGUMENT_SPEC, the role's defaults and variables, the playbook's syntax:
# tests/ansible/test_module_and_role_docs.py.)


def load_module() -> ModuleType:
    """Import library/dr_elasticache.py as Ansible would run it, with our module_utils under ansible.module_utils."""
    if "ansible.module_utils.dbshift_import" not in sys.modules:
        utils = importlib.util.spec_from_file_location(
            "ansible.module_utils.dbshift_import", REPO / "module_utils" / "dbshift_import.py"
        )
        assert utils and utils.loader
        sys.modules[utils.name] = importlib.util.module_from_spec(utils)
        utils.loader.exec_module(sys.modules[utils.name])
    spec = importlib.util.spec_from_file_location("dr_elasticache_under_test", REPO / "library" / "dr_elasticache.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_module_spec_names_and_return_match_the_library() -> None:
    mod = load_module()
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
