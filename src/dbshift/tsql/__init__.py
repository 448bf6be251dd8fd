"""T-SQL sessions: run T-SQL on a SQL Server instance and get rows back."""

from dbshift.tsql.result import ResultSet, SqlError, SqlErrorDetail, SqlResult
from dbshift.tsql.session import SqlSession

__all__ = ["ResultSet", "SqlError", "SqlErrorDetail", "SqlResult", "SqlSession"]
