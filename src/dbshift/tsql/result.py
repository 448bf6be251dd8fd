"""What running T-SQL returns, shared by the WinRM client and the SQL Server emulator.

Values are plain JSON types so that the same shape crosses WinRM: numbers (decimal(25,0) LSNs
as Python ints), strings, None; datetimes as ISO 8601 strings; binary as "0x…" hex strings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dbshift.errors import DbshiftError


@dataclass
class ResultSet:
    columns: list[str]
    rows: list[list[Any]] = field(default_factory=list)

    def dicts(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]

    def to_json(self) -> dict[str, Any]:
        return {"columns": self.columns, "rows": self.rows}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ResultSet:
        return cls(columns=list(data["columns"]), rows=[list(r) for r in data["rows"]])


@dataclass
class SqlResult:
    result_sets: list[ResultSet] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)

    @property
    def rows(self) -> list[dict[str, Any]]:
        """Rows of the first result set as dicts (empty when there is none)."""
        return self.result_sets[0].dicts() if self.result_sets else []

    def to_json(self) -> dict[str, Any]:
        return {"result_sets": [r.to_json() for r in self.result_sets], "messages": self.messages}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SqlResult:
        return cls(
            result_sets=[ResultSet.from_json(r) for r in data.get("result_sets", [])],
            messages=list(data.get("messages", [])),
        )


@dataclass
class SqlErrorDetail:
    """One SQL Server error message (SqlError in .NET): number, level (class), state, line."""

    number: int
    message: str
    severity: int = 16
    state: int = 1
    line: int = 1
    procedure: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "message": self.message,
            "severity": self.severity,
            "state": self.state,
            "line": self.line,
            "procedure": self.procedure,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SqlErrorDetail:
        return cls(
            number=int(data["number"]),
            message=str(data["message"]),
            severity=int(data.get("severity", 16)),
            state=int(data.get("state", 1)),
            line=int(data.get("line", 1)),
            procedure=str(data.get("procedure", "")),
        )

    def sqlcmd_text(self) -> str:
        """The two lines sqlcmd prints for this error."""
        proc = f", Procedure {self.procedure}" if self.procedure else ""
        return f"Msg {self.number}, Level {self.severity}, State {self.state}{proc}, Line {self.line}\n{self.message}"


class SqlError(DbshiftError):
    """SQL Server raised an error. `number` is the first error's number, as SqlException.Number is.

    RESTORE failures come as two errors (e.g. 4305 then 3013 "RESTORE LOG is terminating
    abnormally"); `errors` keeps them all, in order.
    """

    def __init__(self, errors: list[SqlErrorDetail], server: str = "", partial: SqlResult | None = None):
        if not errors:
            raise ValueError("SqlError needs at least one error")
        self.errors = errors
        self.server = server
        self.partial = partial or SqlResult()
        first = errors[0]
        where = f" on {server}" if server else ""
        super().__init__(f"SQL Server error {first.number}{where}: {first.message}")

    @property
    def number(self) -> int:
        return self.errors[0].number

    @property
    def numbers(self) -> list[int]:
        return [e.number for e in self.errors]
