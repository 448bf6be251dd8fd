"""TDS 7.4 listener for one SQL Server EMULATOR instance (127.0.0.1 only; not Microsoft SQL Server).

Speaks what SQL Server speaks to a TDS client ([MS-TDS]): PRELOGIN (no TLS: the answer is
ENCRYPT_NOT_SUP, and a client that requires encryption is refused), LOGIN7 with SQL authentication
(error 18456 as SQL Server sends it), then SQL_BATCH requests run by the emulator's T-SQL session,
with their results as COLMETADATA/ROW/DONE tokens, errors as ERROR tokens, PRINT output as INFO,
USE as ENVCHANGE, and ATTENTION (cancel) answered with DONE(DONE_ATTN).

A SELECT's rows go from the SQLite cursor to the socket in batches, without the instance lock, so an
export of millions of rows neither builds them in memory nor blocks the instance's other sessions.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import select
import socket
import sqlite3
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING

from dbshift.estate.sqlserver import query, tds_wire
from dbshift.estate.sqlserver.model import sql_error
from dbshift.estate.sqlserver.tds_wire import (
    DONE_ATTN,
    DONE_COUNT,
    DONE_ERROR,
    DONE_MORE,
    TOK_INFO,
    Column,
    ConversionError,
    WireError,
)
from dbshift.tsql.result import SqlError, SqlErrorDetail

if TYPE_CHECKING:
    from dbshift.estate.sqlserver.batch import Session
    from dbshift.estate.sqlserver.instance import Instance

log = logging.getLogger("dbshift.estate.sqlserver.tds")

FETCH_ROWS = 2000  # rows taken from SQLite per encode/send step
FLUSH_BYTES = 256 * 1024  # reply bytes buffered before whole packets are sent
DEFAULT_PACKET = 4096
# The server may set the packet size (MS-TDS 2.2.7.9, 512..32767): big packets halve the client's reads.
REPLY_PACKET_SIZE = 32767
_spids = itertools.count(51)


class Cancelled(Exception):
    """The client sent ATTENTION while a reply was being sent."""


class ClientGone(Exception):
    """The client closed the connection."""


class TdsListener:
    """Accepts TDS connections for one emulator instance on host:port (port 0: any free port)."""

    def __init__(self, instance: Instance, host: str = "127.0.0.1", port: int = 0) -> None:
        self.instance = instance
        self._sock = socket.create_server((host, port), reuse_port=False)
        self.host, self.port = self._sock.getsockname()[:2]
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._conns: set[socket.socket] = set()
        self._lock = threading.Lock()

    @property
    def endpoint(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self) -> TdsListener:
        self._thread = threading.Thread(target=self._accept, name=f"tds-{self.instance.config.name}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        with contextlib.suppress(OSError):
            self._sock.close()
        with self._lock:
            for c in list(self._conns):
                with contextlib.suppress(OSError):
                    c.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _addr = self._sock.accept()
            except OSError:
                return
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                self._conns.add(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            TdsConnection(conn, self.instance).run()
        except (ClientGone, ConnectionError, TimeoutError):
            pass
        except WireError as e:
            log.warning("TDS client on %s sent a malformed message: %s", self.instance.config.name, e)
        except Exception:
            log.exception("TDS connection on %s failed", self.instance.config.name)
        finally:
            with self._lock:
                self._conns.discard(conn)
            with contextlib.suppress(OSError):
                conn.close()


class Reply:
    """One reply message: tokens are buffered and sent as whole packets; end() sends the last with EOM."""

    def __init__(self, conn: TdsConnection) -> None:
        self.conn = conn
        self.buf = bytearray()

    def write(self, data: bytes) -> None:
        self.buf += data
        if len(self.buf) >= FLUSH_BYTES:
            self._send_full_packets()

    def _send_full_packets(self) -> None:
        if self.conn.attention_pending():
            raise Cancelled
        body = self.conn.packet_size - tds_wire.HEADER.size
        n = len(self.buf) // body
        if n == 0:
            return
        self.conn.send_packets(bytes(self.buf[: n * body]), last=False)
        del self.buf[: n * body]

    def end(self) -> None:
        self.conn.send_packets(bytes(self.buf), last=True)
        self.buf.clear()


class TdsConnection:
    """One client connection: PRELOGIN, LOGIN7, then requests until the client leaves."""

    def __init__(self, sock: socket.socket, instance: Instance) -> None:
        self.sock = sock
        self.inst = instance
        self.spid = next(_spids)
        self.packet_size = DEFAULT_PACKET
        self.packet_id = 1
        self.tds_version = tds_wire.TDS74
        self.session: Session | None = None
        self.database = "master"
        self._attention = False
        self._rbuf = bytearray()

    # -- transport -------------------------------------------------------------------------------------
    def _recv_exact(self, n: int) -> bytes:
        while len(self._rbuf) < n:
            chunk = self.sock.recv(max(65536, n - len(self._rbuf)))
            if not chunk:
                raise ClientGone
            self._rbuf += chunk
        out = bytes(self._rbuf[:n])
        del self._rbuf[:n]
        return out

    def read_message(self) -> tuple[int, bytes]:
        """(packet type, payload) of the next message, its packets joined up to the one with EOM."""
        parts, ptype = [], None
        while True:
            head = self._recv_exact(tds_wire.HEADER.size)
            t, status, length, _spid, _pid, _win = tds_wire.HEADER.unpack(head)
            if length < tds_wire.HEADER.size:
                raise WireError(f"packet length {length} is shorter than its header")
            parts.append(self._recv_exact(length - tds_wire.HEADER.size))
            ptype = t if ptype is None else ptype
            if status & tds_wire.STATUS_EOM:
                return ptype, b"".join(parts)

    def attention_pending(self) -> bool:
        """True once the client has sent ATTENTION (checked while a reply is being sent)."""
        if self._attention:
            return True
        readable, _, _ = select.select([self.sock], [], [], 0)
        if readable:
            ptype, _ = self.read_message()
            if ptype == tds_wire.PKT_ATTENTION:
                self._attention = True
            else:
                raise WireError(f"packet type {ptype:#04x} arrived while a reply was being sent")
        return self._attention

    def send_packets(self, payload: bytes, last: bool) -> None:
        body = self.packet_size - tds_wire.HEADER.size
        frames = []
        n = max(1, -(-len(payload) // body)) if last else len(payload) // body
        for i in range(n):
            chunk = payload[i * body : (i + 1) * body]
            status = tds_wire.STATUS_EOM if (last and i == n - 1) else 0
            frames.append(
                tds_wire.HEADER.pack(
                    tds_wire.PKT_REPLY, status, len(chunk) + tds_wire.HEADER.size, self.spid, self.packet_id, 0
                )
            )
            frames.append(chunk)
            self.packet_id = (self.packet_id + 1) % 256
        try:
            self.sock.sendall(b"".join(frames))
        except (BrokenPipeError, ConnectionResetError) as e:
            raise ClientGone from e

    def send(self, payload: bytes) -> None:
        self.send_packets(payload, last=True)

    # -- protocol --------------------------------------------------------------------------------------
    def run(self) -> None:
        ptype, data = self.read_message()
        if ptype == tds_wire.PKT_PRELOGIN:
            if not self._prelogin(data):
                return
            ptype, data = self.read_message()
        if ptype != tds_wire.PKT_LOGIN7:
            raise WireError(f"expected LOGIN7, got packet type {ptype:#04x}")
        if not self._login(tds_wire.parse_login7(data)):
            return
        try:
            while True:
                ptype, data = self.read_message()
                if ptype == tds_wire.PKT_SQL_BATCH:
                    self._batch(tds_wire.parse_sql_batch(data, self.tds_version))
                elif ptype == tds_wire.PKT_ATTENTION:
                    self.send(tds_wire.done(DONE_ATTN, curcmd=0))
                else:
                    self._unsupported(ptype)
        finally:
            if self.session is not None:
                with self.inst.lock:
                    if self.session.trancount:
                        self.session._rollback()
                    self.session._close()

    def _prelogin(self, data: bytes) -> bool:
        opts = tds_wire.parse_prelogin(data)
        wanted = opts.get(tds_wire.PL_ENCRYPTION, b"\x00")[:1] or b"\x00"
        self.send_packets(tds_wire.prelogin_response(tds_wire.ENCRYPT_NOT_SUP), last=True)
        if wanted[0] in (tds_wire.ENCRYPT_ON, tds_wire.ENCRYPT_REQ):
            # The client insists on TLS, which the emulator does not offer: it cannot go on (MS-TDS 2.2.6.5).
            log.warning(
                "TDS client on %s requires encryption; the SQL Server emulator does not support TLS: "
                "connect with encryption off",
                self.inst.config.name,
            )
            return False
        return True

    def _login(self, login: tds_wire.Login7) -> bool:
        cfg = self.inst.config
        if login.tds_version < tds_wire.TDS72:
            self._login_failed(
                login,
                SqlErrorDetail(
                    50000,
                    "dbshift SQL Server emulator speaks TDS 7.2 to 7.4; the client asked for "
                    f"{login.tds_version:#010x}. Use tds_version 7.4.",
                    16,
                    1,
                ),
            )
            return False
        self.tds_version = min(login.tds_version, tds_wire.TDS74)
        if cfg.sql_login is not None and (login.username != cfg.sql_login or login.password != cfg.sql_password):
            self._login_failed(login, None)
            return False
        from dbshift.estate.sqlserver.batch import Session

        database = login.database or "master"
        try:
            with self.inst.lock:
                self.session = Session(self.inst, database, login.username or None)
        except SqlError as e:
            self._login_failed(login, e.errors[0])
            return False
        self.database = self.session.db
        self.packet_size = REPLY_PACKET_SIZE
        server = self.inst.server_name
        tokens = [
            tds_wire.envchange(tds_wire.ENV_DATABASE, self.database, "master"),
            tds_wire.message(5701, f"Changed database context to '{self.database}'.", 0, 1, server, token=TOK_INFO),
            tds_wire.envchange(tds_wire.ENV_COLLATION, tds_wire.COLLATION, b""),
            tds_wire.envchange(tds_wire.ENV_LANGUAGE, "us_english", ""),
            tds_wire.message(5703, "Changed language setting to us_english.", 0, 1, server, token=TOK_INFO),
            tds_wire.loginack(self.tds_version),
            tds_wire.envchange(tds_wire.ENV_PACKETSIZE, str(self.packet_size), str(login.packet_size)),
            tds_wire.done(0, curcmd=0),
        ]
        self.send(b"".join(tokens))  # sent with the client's packet size until the login is acknowledged
        return True

    def _login_failed(self, login: tds_wire.Login7, first: SqlErrorDetail | None) -> None:
        server = self.inst.server_name
        tokens = []
        if first is not None:
            tokens.append(tds_wire.message(first.number, first.message, first.severity, first.state, server))
        tokens.append(tds_wire.message(18456, f"Login failed for user '{login.username}'.", 14, 1, server))
        tokens.append(tds_wire.done(DONE_ERROR, curcmd=0))
        self.send(b"".join(tokens))

    def _unsupported(self, ptype: int) -> None:
        what = {tds_wire.PKT_RPC: "RPC requests", tds_wire.PKT_BULK: "bulk loads"}.get(ptype, f"packet type {ptype}")
        text = f"dbshift SQL Server emulator: {what} are not supported over TDS; send SQL batches."
        self.send(tds_wire.message(50000, text, 16, 1, self.inst.server_name) + tds_wire.done(DONE_ERROR, curcmd=0))

    def _batch(self, sql: str) -> None:
        assert self.session is not None
        reply = Reply(self)
        sink = TdsSink(self, reply)
        session = self.session
        status = 0
        try:
            with self.inst.lock:
                session.sink = sink
                session.result.result_sets.clear()
                session.result.messages.clear()
                try:
                    session.run_batch(sql)
                except SqlError as e:
                    sink.statement_done(session)
                    for d in e.errors:
                        reply.write(
                            tds_wire.message(
                                d.number, d.message, d.severity, d.state, self.inst.server_name, d.procedure, d.line
                            )
                        )
                    status = DONE_ERROR
                except (Cancelled, ClientGone):
                    raise
                except Exception as e:  # an emulator bug: tell the client, keep the connection, log the trace
                    log.exception("batch failed inside the emulator: %.200s", sql)
                    text = f"dbshift SQL Server emulator internal error ({type(e).__name__}: {e}); see its log"
                    reply.write(tds_wire.message(50000, text, 16, 1, self.inst.server_name))
                    status = DONE_ERROR
                finally:
                    session.sink = None
                    if not session.trancount:
                        session._close()  # reopened per batch: RESTORE may replace the files meanwhile
            reply.write(tds_wire.done(status, curcmd=0))
            reply.end()
        except Cancelled:
            self._attention = False
            reply.write(tds_wire.done(DONE_ATTN, curcmd=0))
            reply.end()


class TdsSink:
    """What the T-SQL session tells the listener: statement ends (results, messages, counts, USE) and
    SELECTs to stream."""

    def __init__(self, conn: TdsConnection, reply: Reply) -> None:
        self.conn = conn
        self.reply = reply

    def statement_done(self, session: Session) -> None:
        for rs in session.result.result_sets:
            types = [tds_wire.infer_type(r[i] for r in rs.rows) for i in range(len(rs.columns))]
            self.reply.write(tds_wire.colmetadata([Column(n, t) for n, t in zip(rs.columns, types, strict=True)]))
            self.reply.write(_encode_rows(tds_wire.row_encoder(types), [tuple(r) for r in rs.rows]))
            self.reply.write(tds_wire.done(DONE_MORE | DONE_COUNT, len(rs.rows)))
        for text in session.result.messages:
            self.reply.write(tds_wire.message(0, text, 0, 1, self.conn.inst.server_name, token=TOK_INFO))
        session.result.result_sets.clear()
        session.result.messages.clear()
        if session.dml_count is not None:
            self.reply.write(tds_wire.done(DONE_MORE | DONE_COUNT, session.dml_count, curcmd=0xC3))
            session.dml_count = None
        if session.db != self.conn.database:
            old, self.conn.database = self.conn.database, session.db
            self.reply.write(tds_wire.envchange(tds_wire.ENV_DATABASE, session.db, old))
            self.reply.write(
                tds_wire.message(
                    5701,
                    f"Changed database context to '{session.db}'.",
                    0,
                    1,
                    self.conn.inst.server_name,
                    token=TOK_INFO,
                )
            )

    def stream(self, qc: query.QueryCursor) -> int:
        """Send a SELECT's rows straight from its cursor; returns the row count."""
        cur = qc.cursor
        try:
            rows = cur.fetchmany(FETCH_ROWS)
            types = [
                tds_wire.parse_tsql_type(decl) or tds_wire.infer_type(r[i] for r in rows)
                for i, (decl, _nullable) in enumerate(qc.declared)
            ]
            cols = [Column(n, t, nullable) for n, t, (_d, nullable) in zip(qc.columns, types, qc.declared, strict=True)]
            self.reply.write(tds_wire.colmetadata(cols))
            encode = tds_wire.row_encoder(types)
            count = 0
            with _unlocked(self.conn.inst.lock, self.conn.session):
                while rows:
                    self.reply.write(_encode_rows(encode, rows))
                    count += len(rows)
                    rows = cur.fetchmany(FETCH_ROWS)
        except sqlite3.Error as e:
            raise query.map_sqlite_error(e, qc.targets) from None
        self.reply.write(tds_wire.done(DONE_MORE | DONE_COUNT, count))
        return count


def _encode_rows(encode: tds_wire.RowEncoder, rows: list) -> bytes:
    try:
        return encode(rows)
    except ConversionError as e:
        raise sql_error(e.number, str(e)) from None


@contextlib.contextmanager
def _unlocked(lock: threading.RLock, session: Session | None) -> Iterator[None]:
    """Let the instance's other sessions run while rows stream (not inside a transaction: it holds
    SQLite's write lock anyway)."""
    if session is not None and session.trancount:
        yield
        return
    lock.release()
    try:
        yield
    finally:
        lock.acquire()
