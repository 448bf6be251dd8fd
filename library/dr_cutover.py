#!/usr/bin/python
"""Ansible module dr_cutover: a thin adapter over dbshift.dr.cutover."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: dr_cutover
short_description: Point a Route 53 CNAME at a recovered DR resource, or report its endpoint
description:
  - The cutover step every dbshift DR runbook ends with, after a dr_<service> role set C(dr_recovered).
  - With O(zone_id) and O(record_name) - reads the record, and when it does not already point there UPSERTs a
    simple CNAME O(record_name) to the recovered endpoint with O(ttl), then waits until Route 53 reports the
    change C(INSYNC) (up to O(wait_timeout)). Reports C(changed=false) when the record already matches.
  - Without them - changes nothing and returns the endpoint for the application's configuration.
  - A zone that does not exist, a record name outside the zone or at its apex, a name that already holds
    other record types or a CNAME with a routing policy are refused before anything is changed, with a message
    naming them and the fix.
  - The work is done by the dbshift library (C(dbshift.dr.cutover)).
author:
  - dbshift contributors
extends_documentation_fragment:
  - dr_recovered
  - action_common_attributes
attributes:
  check_mode:
    support: full
    details:
      - Reads the zone and the record and reports C(changed=true) when the record would be created or changed.
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  zone_id:
    description:
      - Route 53 hosted zone Id (C(Z...) or C(/hostedzone/Z...)). Set together with O(record_name), or neither.
    type: str
  record_name:
    description:
      - The DNS name the application uses, inside the zone (not its apex), e.g. C(db.example.com).
    type: str
  ttl:
    description:
      - TTL of the CNAME in seconds; short, so that clients follow the cutover quickly.
    type: int
    default: 60
  wait_timeout:
    description:
      - Seconds to wait for the change to be C(INSYNC) before failing (the record is changed already; a rerun
        finds it matching).
    type: int
    default: 300
  poll_interval:
    description:
      - Seconds between two reads of the change's status.
    type: float
    default: 5.0
  endpoint_url:
    description:
      - AWS endpoint URL. Omit it for real AWS; the emulated estate sets it to its AWS emulator.
        When omitted, E(AWS_ENDPOINT_URL) is honoured.
    type: str
notes:
  - Runs on the controller with the Python environment that has dbshift installed.
  - Route 53 is a global service; the client is made for the recovered resource's Region.
seealso:
  - name: ChangeResourceRecordSets
    link: https://docs.aws.amazon.com/Route53/latest/APIReference/API_ChangeResourceRecordSets.html
requirements:
  - python >= 3.11 on the controller, with the dbshift package installed
"""

EXAMPLES = r"""
- name: Point db.example.com at the recovered instance
  dr_cutover:
    recovered: "{{ dr_recovered }}"
    zone_id: Z0123456789ABCDEFGHIJ
    record_name: db.example.com

- name: Only print the endpoint for the application's configuration
  dr_cutover:
    recovered:
      service: rds
      region: us-west-2
      resource_id: sales-db-dr
      endpoint: sales-db-dr.abcdefghijkl.us-west-2.rds.amazonaws.com
      port: 5432
      engine: postgres
"""

RETURN = r"""
changed:
  description: Whether the record was (or, in check mode, would be) created or changed.
  returned: always
  type: bool
  sample: true
action:
  description: V(upsert) (done, or would be in check mode), V(unchanged) or V(print) (no zone given).
  returned: success
  type: str
  sample: upsert
endpoint:
  description: The recovered endpoint.
  returned: success
  type: str
  sample: sales-db-dr.abcdefghijkl.us-west-2.rds.amazonaws.com
port:
  description: The recovered port (0 when unknown).
  returned: success
  type: int
  sample: 5432
message:
  description: What was done or what to configure, in one sentence.
  returned: success
  type: str
  sample: db.example.com. now points at sales-db-dr... (CNAME, TTL 60); change /change/C2682N5HXP0BZ4 INSYNC
record_name:
  description: The record, fully qualified.
  returned: success
  type: str
  sample: db.example.com.
zone_id:
  description: The hosted zone Id.
  returned: success
  type: str
  sample: Z0123456789ABCDEFGHIJ
zone_name:
  description: The hosted zone's name.
  returned: success
  type: str
  sample: example.com.
ttl:
  description: The record's TTL.
  returned: success
  type: int
  sample: 60
previous:
  description: The records found at the name before the change.
  returned: success
  type: list
  elements: str
  sample: ["CNAME sales-db.abcdefghijkl.us-east-1.rds.amazonaws.com (TTL 300)"]
change_id:
  description: The Route 53 change Id (real runs that changed the record).
  returned: success
  type: str
  sample: /change/C2682N5HXP0BZ4
change_status:
  description: The change's final status (V(INSYNC)).
  returned: success
  type: str
  sample: INSYNC
"""

from ansible.module_utils.dbshift_dr import RECOVERED_SPEC  # noqa: E402
from ansible.module_utils.dbshift_import import DbshiftImport, run_and_exit, run_or_fail  # noqa: E402

ARGUMENT_SPEC = {
    "recovered": {"type": "dict", "required": True, "options": RECOVERED_SPEC},
    "zone_id": {"type": "str"},
    "record_name": {"type": "str"},
    "ttl": {"type": "int", "default": 60},
    "wait_timeout": {"type": "int", "default": 300},
    "poll_interval": {"type": "float", "default": 5.0},
    "endpoint_url": {"type": "str"},
}
DBSHIFT = DbshiftImport()
with DBSHIFT:
    from dbshift.ansible_support import check_positive
    from dbshift.aws import AwsConfig
    from dbshift.dr import Clients
    from dbshift.dr.cutover import Recovered, cutover


def main() -> None:
    module = DBSHIFT.module(ARGUMENT_SPEC, supports_check_mode=True)
    p = module.params
    check_positive(module, **{n: p[n] for n in ("wait_timeout", "poll_interval")})
    recovered = run_or_fail(module, lambda: Recovered.from_dict(p["recovered"]), "dr_cutover")
    run_and_exit(
        module,
        lambda: cutover(
            Clients(AwsConfig(endpoint_url=p["endpoint_url"])),
            recovered,
            p["zone_id"],
            p["record_name"],
            ttl=p["ttl"],
            check_mode=module.check_mode,
            wait_timeout=p["wait_timeout"],
            poll=p["poll_interval"],
        ).to_dict(),
        f"dr_cutover {recovered.label}",
    )


if __name__ == "__main__":
    main()
