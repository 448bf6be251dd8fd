"""SQL Server's error texts the emulator raises (numbers, severities and states as documented)."""

from __future__ import annotations

from dbshift.estate.sqlserver.model import SqlError, detail, sql_error, terminating


def db_missing(name: str) -> SqlError:
    return sql_error(911, f"Database '{name}' does not exist. Make sure that the name is entered correctly.", 16)


def db_restoring(name: str) -> SqlError:
    return sql_error(927, f"Database '{name}' cannot be opened. It is in the middle of a restore.", 14)


def syntax(near: str) -> SqlError:
    return sql_error(102, f"Incorrect syntax near '{near}'.", 15)


def invalid_object(name: str) -> SqlError:
    return sql_error(208, f"Invalid object name '{name}'.", 16)


def proc_missing(name: str) -> SqlError:
    return sql_error(2812, f"Could not find stored procedure '{name}'.", 16, 62)


def cert_missing(name: str) -> SqlError:
    return sql_error(
        15151, f"Cannot find the certificate '{name}', because it does not exist or you do not have permission."
    )


def with_trailer(statement: str, *details: tuple[int, str, int, int]) -> SqlError:
    """Errors of a failed BACKUP/RESTORE followed by Msg 3013 '<statement> is terminating abnormally.'"""
    return SqlError([*(detail(*d) for d in details), terminating(statement)])


def cannot_open_device(path: str, statement: str) -> SqlError:
    return with_trailer(
        statement,
        (
            3201,
            f"Cannot open backup device '{path}'. Operating system error 2(The system cannot find the file "
            "specified.).",
            16,
            1,
        ),
    )


def media_malformed(path: str, statement: str) -> SqlError:
    return with_trailer(
        statement,
        (
            3241,
            f"The media family on device '{path}' is incorrectly formed. SQL Server cannot process this media family.",
            16,
            1,
        ),
    )


def no_tde_cert(thumb: str, statement: str) -> SqlError:
    return with_trailer(statement, (33111, f"Cannot find server certificate with thumbprint '{thumb}'.", 16, 3))


def exclusive_access(statement: str) -> SqlError:
    """Msg 3101: RESTORE needs the database to itself and another session is using it."""
    return with_trailer(
        statement, (3101, "Exclusive access could not be obtained because the database is in use.", 16, 1)
    )


def restore_interrupted(file: str, statement: str) -> SqlError:
    """Msg 4319: an interrupted RESTORE left the database part-way through a backup set (file: logical name)."""
    return with_trailer(
        statement,
        (
            4319,
            f"A previous restore operation was interrupted and did not complete processing on file '{file}'. Either "
            "restore the backup set that was interrupted or restart the restore sequence.",
            16,
            1,
        ),
    )


def connection_lost() -> SqlError:
    """What the client reads when the server dies under its statement (SqlClient error 10054, class 20)."""
    return sql_error(
        10054,
        "A transport-level error has occurred when receiving results from the server. (provider: TCP Provider, "
        "error: 0 - An existing connection was forcibly closed by the remote host.)",
        20,
        0,
    )


def missing_parameter(procedure: str, parameter: str) -> SqlError:
    return sql_error(
        201, f"Procedure or function '{procedure}' expects parameter '@{parameter}', which was not supplied.", 16, 4
    )
