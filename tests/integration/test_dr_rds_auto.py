"""dr_option auto picks A, B, C, D in four prepared situations; parity on a restored target."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from test_dr_rds_support import SOURCE_REGION, TARGET_REGION, PartialStubber, make_source, unique

from dbshift.aws.clients import AwsConfig
from dbshift.dr import Clients, choose, parity, rds
from dbshift.estate import process


@pytest.fixture()
def clients(aws_endpoint_url: str) -> Clients:
    return Clients(AwsConfig(endpoint_url=aws_endpoint_url))


def _never() -> bool:
    raise AssertionError("the database probe must not run when an earlier option is feasible")


def test_auto_picks_a_when_a_cross_region_replica_exists(clients):
    src_id = unique("src")
    arn = make_source(clients.rds(SOURCE_REGION), src_id)["DBInstanceArn"]
    replica = unique("rep")
    clients.rds(TARGET_REGION).create_db_instance_read_replica(
        DBInstanceIdentifier=replica, SourceDBInstanceIdentifier=arn, SourceRegion=SOURCE_REGION
    )
    choice = choose.auto(clients, choose.Source(SOURCE_REGION, src_id), TARGET_REGION, _never)
    assert choice.option == "promote_replica" and choice.found == {"replica_id": replica}
    assert any(replica in r for r in choice.reasons)

    # The same situation with A marked infeasible for the Region: the snapshot (C) wins, B said why not.
    clients.rds(SOURCE_REGION).create_db_snapshot(DBInstanceIdentifier=src_id, DBSnapshotIdentifier=f"{src_id}-s")
    choice = choose.auto(clients, choose.Source(SOURCE_REGION, src_id), TARGET_REGION, _never, infeasible={"A"})
    assert choice.option == "snapshot_copy"
    assert f"A promote_replica skipped: marked infeasible for {SOURCE_REGION}" in choice.reasons
    assert any(r.startswith("B pitr_replicated_backup skipped: no replicated") for r in choice.reasons)


def test_auto_picks_b_when_backups_are_replicated(clients):
    src_id = unique("src")
    arn = make_source(clients.rds(SOURCE_REGION), src_id)["DBInstanceArn"]
    now = datetime.now(UTC)
    target = clients.rds(TARGET_REGION)
    backup_arn = f"arn:aws:rds:{TARGET_REGION}:123456789012:auto-backup:ab-{src_id}"
    # moto has no cross-Region automated backup replication: DescribeDBInstanceAutomatedBackups is stubbed.
    with PartialStubber(target, {"DescribeDBInstanceAutomatedBackups"}) as stub:
        stub.add_response(
            "describe_db_instance_automated_backups",
            {
                "DBInstanceAutomatedBackups": [
                    {
                        "DBInstanceArn": arn,
                        "Region": SOURCE_REGION,
                        "Status": "replicating",
                        "RestoreWindow": {"EarliestTime": now - timedelta(days=1), "LatestTime": now},
                        "DBInstanceAutomatedBackupsArn": backup_arn,
                    }
                ]
            },
        )
        choice = choose.auto(clients, choose.Source(SOURCE_REGION, src_id), TARGET_REGION, _never)
    assert choice.option == "pitr_replicated_backup" and choice.found["backups_arn"] == backup_arn
    assert any(r.startswith("A promote_replica skipped: no read replica") for r in choice.reasons)


def test_auto_picks_c_for_a_recent_snapshot_and_not_for_an_old_one(clients):
    src_id = unique("src")
    make_source(clients.rds(SOURCE_REGION), src_id)  # moto takes an automated snapshot at creation
    choice = choose.auto(clients, choose.Source(SOURCE_REGION, src_id), TARGET_REGION, _never)
    assert choice.option == "snapshot_copy" and choice.found["snapshot_id"].startswith(f"rds:{src_id}")
    later = datetime.now(UTC) + timedelta(days=3)
    choice = choose.auto(
        clients,
        choose.Source(SOURCE_REGION, src_id),
        TARGET_REGION,
        lambda: True,
        snapshot_max_age=timedelta(days=1),
        now=later,
    )
    assert choice.option == "native_dump"
    assert any("older than 1 day" in r for r in choice.reasons)


def test_auto_picks_d_when_the_source_region_does_not_answer(clients):
    src_id = unique("src")
    make_source(clients.rds(SOURCE_REGION), src_id)
    dead = f"http://127.0.0.1:{process.free_port()}"  # nothing listens: the impaired Region's endpoint
    impaired = Clients(clients.config, endpoints={SOURCE_REGION: dead})
    source = choose.Source(SOURCE_REGION, src_id, arn=f"arn:aws:rds:{SOURCE_REGION}:123456789012:db:{src_id}")
    choice = choose.auto(impaired, source, TARGET_REGION, lambda: True, api_timeout=1)
    assert choice.option == "native_dump"
    assert choice.reasons[0].startswith(f"source Region {SOURCE_REGION} RDS API: not answering")
    assert any("C snapshot_copy skipped" in r and "does not answer" in r for r in choice.reasons)
    with pytest.raises(Exception, match="no DR option is feasible"):
        choose.auto(impaired, source, TARGET_REGION, lambda: False, api_timeout=1)


def test_parity_fails_an_unencrypted_or_public_target_and_passes_when_waived(clients):
    src_id, new_id = unique("src"), unique("dr")
    east, west = clients.rds(SOURCE_REGION), clients.rds(TARGET_REGION)
    source = make_source(east, src_id, MultiAZ=True)
    # A target restored without re-encryption (moto keeps the source's settings): unencrypted, single-AZ.
    east.create_db_snapshot(DBInstanceIdentifier=src_id, DBSnapshotIdentifier=f"{src_id}-s")
    target = make_source(west, new_id, PubliclyAccessible=True)
    shortfalls = parity.instance_shortfalls(source, target)
    assert {s.name for s in shortfalls} == {"storage_encrypted", "publicly_accessible", "multi_az"}
    with pytest.raises(parity.ParityError) as err:
        parity.check(shortfalls, waive={"multi_az"})
    assert "storage_encrypted" in str(err.value) and "parity_waive: [publicly_accessible, storage_encrypted]" in str(
        err.value
    )
    waived = parity.check(shortfalls, waive={"multi_az", "storage_encrypted", "publicly_accessible"})
    assert len(waived) == 3

    key = clients.kms(TARGET_REGION).create_key()["KeyMetadata"]["Arn"]
    good = rds.snapshot_copy(
        clients, SOURCE_REGION, TARGET_REGION, key, unique("dr"), rds.TargetSettings(multi_az=True), src_id, poll=0.1
    )
    restored = west.describe_db_instances(DBInstanceIdentifier=good.instance_id)["DBInstances"][0]
    assert parity.check(parity.instance_shortfalls(source, restored)) == []
