"""Documentation of the connection options every dbshift fall-forward module shares.

The options themselves are dbshift.ansible_support.CONNECTION_ARGUMENT_SPEC; a test keeps the two equal.
Modules use it with `extends_documentation_fragment: [dbshift]` (ansible.cfg: doc_fragment_plugins).
"""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  winrm_endpoint:
    description:
      - The WS-Management URL of the Windows host (the EC2 fall-forward target) that reaches both SQL
        Server instances and runs the dbshift CLI, for example C(https://ec2-ff01.corp.example.com:5986/wsman).
    type: str
    required: true
  winrm_username:
    description:
      - The Windows account for WinRM. SQL Server on the EC2 target sees this account (Windows authentication).
    type: str
    required: true
  winrm_password:
    description:
      - Password of O(winrm_username). Never logged or returned.
    type: str
    required: true
  winrm_transport:
    description:
      - The WinRM authentication transport.
    type: str
    default: ntlm
    choices: [basic, ntlm, kerberos, credssp, certificate, plaintext, ssl]
  winrm_server_cert_validation:
    description:
      - Whether to validate the WinRM endpoint's TLS certificate. Use V(ignore) only for self-signed test hosts.
    type: str
    default: validate
    choices: [validate, ignore]
  source_server:
    description:
      - The RDS for SQL Server endpoint address (C(-ServerInstance)), for example
        C(sales-prod.abcdefghijkl.us-east-1.rds.amazonaws.com).
    type: str
    required: true
  source_login:
    description:
      - The RDS master user (SQL authentication) on O(source_server).
    type: str
    required: true
  source_password:
    description:
      - Password of O(source_login). Never logged or returned.
    type: str
    required: true
  target_server:
    description:
      - The SQL Server instance on the EC2 target (C(HOST) or C(HOST\INSTANCE)), reached with Windows
        authentication as O(winrm_username).
    type: str
    required: true
  endpoint_url:
    description:
      - AWS endpoint URL for the controller's KMS and S3 calls. Omit it for real AWS; the emulated estate
        sets it to its AWS emulator. When omitted, E(AWS_ENDPOINT_URL) is honoured.
    type: str
  region:
    description:
      - AWS region of the RDS instance, its buckets and KMS key. When omitted, E(AWS_REGION) or
        E(AWS_DEFAULT_REGION).
    type: str
notes:
  - Every module opens the three connections (RDS source, EC2 target, EC2 host), so all connection options
    are required even where a step uses only some of them; the roles pass them with C(module_defaults).
  - Runs on the controller (C(ansible_connection=local)) with the Python environment that has dbshift
    installed. SQL Server is reached through WinRM, AWS through its APIs with the controller's credentials;
    files (backups, certificates, decrypted log backups) are written on the EC2 host by the dbshift CLI
    installed there, with the host's instance profile.
  - Against dbshift's emulated estate the SQL Server behind WinRM is an emulator of the documented
    behaviour, not SQL Server itself.
requirements:
  - python >= 3.11 on the controller, with the dbshift package installed
  - the dbshift package on the EC2 host (the fall-forward procedure already requires Python there)
"""
