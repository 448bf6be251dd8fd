"""Documentation of the `recovered` option dr_cutover and dr_verify share: the dr_recovered fact a dr_<service>
role ends with. The options themselves are each module's RECOVERED_SPEC; tests/ansible/test_module_and_role_docs.py
keeps the two equal. Modules use it with `extends_documentation_fragment: [dr_recovered]` (ansible.cfg:
doc_fragment_plugins).
"""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  recovered:
    description:
      - What the dr_<service> role recovered (its C(dr_recovered) fact).
    type: dict
    required: true
    suboptions:
      service:
        description: The DR service.
        type: str
        required: true
        choices: [rds, aurora, redshift, elasticache]
      region:
        description: The Region of the recovered resource.
        type: str
        required: true
      resource_id:
        description:
          - Instance, cluster or replication group identifier. Empty when the target is no AWS resource (a native
            dump restored into a server given by DSN).
        type: str
        default: ''
      endpoint:
        description: Host name of the recovered resource; empty when it has none yet (check mode).
        type: str
        default: ''
      port:
        description: Its port (0 when unknown).
        type: int
        default: 0
      engine:
        description: Its engine, e.g. postgres, aurora-postgresql, redshift, mysql, sqlserver, redis.
        type: str
        default: ''
"""
