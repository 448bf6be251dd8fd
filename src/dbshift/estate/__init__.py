"""The emulated estate: everything the runbooks talk to, on 127.0.0.1.

- AWS: moto in server mode (a real HTTP endpoint), with dbshift's patches for known gaps.
- Aurora PostgreSQL stand-in: a real PostgreSQL server.
- SQL Server: an EMULATOR (SQL Server cannot run here) behind a real WS-Management (WinRM)
  endpoint; see dbshift.estate.sqlserver for what it models.
"""
