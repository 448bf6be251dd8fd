"""Documentation of the AWS options the DR runbook modules share (dr_rds, dr_aurora, dr_redshift, dr_elasticache):
how long to wait for the source Region's API and for each resource, how often to read its state, and which AWS
endpoint to call. The options themselves are module_utils/dbshift_dr.py's RUNBOOK_AWS_SPEC;
tests/ansible/test_module_and_role_docs.py keeps the two equal. Modules use it with
`extends_documentation_fragment: [dr_runbook]` (ansible.cfg: doc_fragment_plugins).
"""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  api_timeout:
    description:
      - Seconds to wait for the source Region's API (RDS, Redshift or ElastiCache) before treating the Region as
        impaired. It is read for the security-parity check and, where the module chooses an option itself, for
        that choice.
    type: float
    default: 5.0
  wait_timeout:
    description:
      - Seconds to wait for each resource a step creates or changes (snapshot, copy, backup, export, instance,
        cluster, replication group, the new writer or primary after a failover) before failing. AWS keeps
        working; a rerun finds the same resources and waits again.
    type: int
    default: 7200
  poll_interval:
    description:
      - Seconds between two reads of a resource's state.
    type: float
    default: 30.0
  endpoint_url:
    description:
      - AWS endpoint URL for every Region. Omit it for real AWS; the emulated estate sets it to its AWS emulator.
        When omitted, E(AWS_ENDPOINT_URL) is honoured.
    type: str
"""
