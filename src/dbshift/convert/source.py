"""Read T-SQL sources (a script file, a folder of scripts, an SSDT project) into SourceObjects.

How a source is cut into objects, as SQL Server's own tools do it:
- sqlcmd first: `:setvar NAME "value"` defines $(NAME), which is substituted in the lines after it; every
  sqlcmd command line (`:setvar`, `:on error`, `:r`, ...) is itself a script statement.
- Batches end at a line holding only GO (an optional count and `--` comment allowed), outside block comments.
  A string literal cannot run past a GO line: a missing quote spoils one batch, not the rest of the file.
- CREATE/ALTER of a VIEW, PROCEDURE, FUNCTION or TRIGGER takes the rest of its batch (T-SQL's own rule).
- Other batches hold any number of statements with or without `;`: a statement ends at `;` or where the next
  statement's first keyword appears outside parentheses (CREATE/ALTER followed by an object kind, GRANT, INSERT,
  EXEC, SET, PRINT, IF, ... with the exceptions such as ON DELETE SET NULL, GRANT SELECT, WITH GRANT OPTION).
- Each statement is classified into one SourceObject (one per statement, so ALTER TABLE with two constraints
  is one object); see `_classify` for the type of every statement form.
- The database of an object: the user database named by USE (or CREATE DATABASE) in its file, else the name given
  by the caller, else the .sqlproj name, else the folder's (or file's) name.
Names are unique per type: a second object with the same type, schema and name (CREATE then ALTER VIEW, or two
unnamed ALTER TABLE statements) gets "~2", "~3" appended to its name; converters take names from the text.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from dbshift.convert.model import SCRIPT, SourceObject
from dbshift.errors import DbshiftError

SYSTEM_DATABASES = {"master", "msdb", "tempdb", "model"}

# ---------------------------------------------------------------------------------------------- lexer

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<line_comment>--[^\n]*)
  | (?P<string>N?'(?:[^'\n]|''|\n(?![ \t]*GO[ \t]*(?:\d+[ \t]*)?(?:--[^\n]*)?(?:\n|$)))*(?:'|(?=\n)|$))
  | (?P<qident>"(?:[^"]|"")*"|\[(?:[^\]]|\]\])*\])
  | (?P<var>@@?[\w#$@]+|\#\#?[\w#$@]+)
  | (?P<sqlcmdvar>\$\(\w+\))
  | (?P<number>0x[0-9A-Fa-f]*|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<word>[^\W\d][\w#$@]*)
  | (?P<punct>.)
    """,
    re.VERBOSE | re.IGNORECASE,
)


@dataclass
class Token:
    kind: str  # ws, comment, string, qident, var, sqlcmdvar, number, word, punct
    text: str
    start: int  # offset in the file text

    @property
    def upper(self) -> str:
        return self.text.upper()

    @property
    def significant(self) -> bool:
        return self.kind not in ("ws", "comment")


def tokenize(text: str) -> list[Token]:
    """T-SQL tokens with offsets; block comments nest (as in T-SQL); an unterminated one is left as punctuation."""
    tokens: list[Token] = []
    pos, n = 0, len(text)
    while pos < n:
        if text.startswith("/*", pos):
            end = _block_comment_end(text, pos)
            if end is not None:
                tokens.append(Token("comment", text[pos:end], pos))
                pos = end
                continue
            tokens.append(Token("punct", "/", pos))
            pos += 1
            continue
        m = _TOKEN.match(text, pos)
        assert m is not None  # the punct branch matches any character but newline, ws matches newline
        kind = m.lastgroup or "punct"
        if kind == "line_comment":
            kind = "comment"
        tokens.append(Token(kind, m.group(), pos))
        pos = m.end()
    return tokens


def _block_comment_end(text: str, pos: int) -> int | None:
    depth, i = 0, pos
    while True:
        nxt_open, nxt_close = text.find("/*", i), text.find("*/", i)
        if nxt_close < 0:
            return None
        if 0 <= nxt_open < nxt_close:
            depth += 1
            i = nxt_open + 2
        else:
            depth -= 1
            i = nxt_close + 2
            if depth == 0:
                return i


def unquote(ident: str) -> str:
    """[name] / "name" / name → name."""
    if ident.startswith("[") and ident.endswith("]"):
        return ident[1:-1].replace("]]", "]")
    if ident.startswith('"') and ident.endswith('"') and len(ident) > 1:
        return ident[1:-1].replace('""', '"')
    return ident


# --------------------------------------------------------------------------------------- reading files


def read_source(source: str | Path, database: str | None = None) -> list[SourceObject]:
    """Every statement of a script file, a folder of scripts or an SSDT project, as SourceObjects in file order.

    A folder holding a .sqlproj is read as that project (its Build/PreDeploy/PostDeploy items) and named after it,
    also when it is a subfolder of SOURCE; other folders are read whole (*.sql, recursively, bin/ and obj/ left
    out). `database` names the source in reports when the scripts do not say (USE/CREATE DATABASE).
    A live server (mssql://…, sqlserver://…, winrm://…) is read from its catalog by live.read_live."""
    from dbshift.convert import live

    if isinstance(source, str) and live.is_live(source):
        return live.read_live(source, database)
    path = Path(source)
    if not path.exists():
        raise DbshiftError(f"source {source}: no such file or directory (give a .sql file or a folder of them)")
    if path.is_file():
        return read_file(path, path.name, database or path.stem)
    files = _folder_files(path, path.name)
    if not files:
        raise DbshiftError(f"source {source}: no .sql files in the folder (nor .sqlproj Build items)")
    objects: list[SourceObject] = []
    for file, default in files:
        rel = file.relative_to(path).as_posix() if file.is_relative_to(path) else str(file)
        objects.extend(read_file(file, rel, database or default))
    return _unique_names(objects)


def _folder_files(folder: Path, default: str) -> list[tuple[Path, str]]:
    """(file, database name unless the script says) for every script of a folder, in path order."""
    projects = sorted(folder.glob("*.sqlproj"))
    if projects:
        return [(f, projects[0].stem) for f in _project_items(projects[0])]
    out: list[tuple[Path, str]] = []
    for entry in sorted(folder.iterdir(), key=lambda p: p.name.lower()):
        if entry.is_dir() and entry.name.lower() not in ("bin", "obj"):
            out.extend(_folder_files(entry, default))
        elif entry.is_file() and entry.suffix.lower() == ".sql":
            out.append((entry, default))
    return out


def _project_items(project: Path) -> list[Path]:
    """The .sql files a .sqlproj builds or deploys (Build, PreDeploy, PostDeploy items that exist)."""
    folder = project.parent
    try:
        root = ET.parse(project).getroot()
    except ET.ParseError as err:
        raise DbshiftError(f"SSDT project {project}: not valid XML ({err}); fix the file or pass its folder") from err
    files = []
    for el in root.iter():
        tag = el.tag.rsplit("}", 1)[-1]
        include = el.get("Include")
        if tag in ("Build", "PreDeploy", "PostDeploy") and include and include.lower().endswith(".sql"):
            file = folder / include.replace("\\", "/")
            if file.exists():
                files.append(file)
    return sorted(set(files), key=lambda p: p.as_posix().lower())


def decode(data: bytes) -> str:
    """Script bytes → text: UTF-16 / UTF-8 byte-order marks honoured, UTF-8 else Windows-1252 (SSMS's defaults)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = data.decode("utf-16")
    elif data.startswith(b"\xef\xbb\xbf"):
        text = data[3:].decode("utf-8", errors="replace")
    else:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = data.decode("cp1252", errors="replace")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def read_file(file: Path, name: str, database: str) -> list[SourceObject]:
    return read_text(decode(file.read_bytes()), name, database)


# ------------------------------------------------------------------------------------------ splitting

_SETVAR = re.compile(r'^[ \t]*:setvar[ \t]+(\w+)(?:[ \t]+(?:"([^"]*)"|(\S+)))?', re.IGNORECASE)
_SQLCMD = re.compile(r"^[ \t]*:(?:setvar|on|r|out|error|connect|reset|quit|exit|listvar|perftrace|serverlist|xml)\b")


def _sqlcmd(text: str) -> tuple[str, list[tuple[int, str]]]:
    """Apply :setvar substitutions; blank sqlcmd command lines (same line count); return them with their lines."""
    variables: dict[str, str] = {}
    commands: list[tuple[int, str]] = []
    lines = text.split("\n")
    in_comment = False
    for i, line in enumerate(lines):
        if not in_comment and _SQLCMD.match(line):
            m = _SETVAR.match(line)
            if m:
                variables[m.group(1).lower()] = m.group(2) if m.group(2) is not None else (m.group(3) or "")
            commands.append((i + 1, line.strip()))
            lines[i] = ""
            continue
        if variables and "$(" in line:
            lines[i] = re.sub(r"\$\((\w+)\)", lambda m: variables.get(m.group(1).lower(), m.group(0)), line)
        # a rough block-comment tracker, so that a ':' line inside /* */ is left alone
        opens, closes = line.count("/*"), line.count("*/")
        if opens != closes:
            in_comment = opens > closes
    return "\n".join(lines), commands


def _is_go(tokens: list[Token], i: int, text: str) -> int | None:
    """If tokens[i] is a GO alone on its line, the index of the last token of that line; else None."""
    tok = tokens[i]
    if tok.kind != "word" or tok.upper != "GO":
        return None
    line_start = text.rfind("\n", 0, tok.start) + 1
    if text[line_start : tok.start].strip():
        return None
    j = i + 1
    while j < len(tokens) and "\n" not in tokens[j].text:
        t = tokens[j]
        if t.kind == "number" or (t.kind == "ws") or (t.kind == "comment" and t.text.startswith("--")):
            j += 1
            continue
        return None
    return j - 1


def split_batches(tokens: list[Token], text: str) -> list[list[Token]]:
    batches: list[list[Token]] = [[]]
    i = 0
    while i < len(tokens):
        end = _is_go(tokens, i, text)
        if end is not None:
            batches.append([])
            i = end + 1
            continue
        batches[-1].append(tokens[i])
        i += 1
    return [b for b in batches if any(t.significant for t in b)]


# Words that can start a statement, and the object kinds after CREATE/ALTER/DROP.
_STARTERS = {
    "CREATE", "ALTER", "DROP", "GRANT", "DENY", "REVOKE", "USE", "PRINT", "IF", "ELSE", "DECLARE", "INSERT",
    "UPDATE", "DELETE", "MERGE", "SELECT", "EXEC", "EXECUTE", "BULK", "TRUNCATE", "DBCC", "RAISERROR", "THROW",
    "WHILE", "RETURN", "BEGIN", "END", "SET", "CHECKPOINT", "WAITFOR", "COMMIT", "ROLLBACK", "BACKUP", "RESTORE",
    "RECONFIGURE", "OPEN", "CLOSE", "FETCH", "DEALLOCATE", "ENABLE", "DISABLE", "SETUSER", "KILL",
}  # fmt: skip
_KINDS = {
    "TABLE", "VIEW", "PROC", "PROCEDURE", "FUNCTION", "TRIGGER", "INDEX", "UNIQUE", "CLUSTERED", "NONCLUSTERED",
    "COLUMNSTORE", "PRIMARY", "XML", "SPATIAL", "FULLTEXT", "SCHEMA", "TYPE", "SEQUENCE", "SYNONYM", "ROLE", "USER",
    "LOGIN", "DATABASE", "DEFAULT", "RULE", "STATISTICS", "ASSEMBLY", "AGGREGATE", "PARTITION", "SECURITY", "OR",
    "APPLICATION", "CERTIFICATE", "ASYMMETRIC", "SYMMETRIC", "MASTER", "CREDENTIAL", "QUEUE", "SERVICE", "CONTRACT",
    "MESSAGE", "ROUTE", "EVENT", "SERVER", "AUTHORIZATION", "EXTERNAL", "COLUMN",
}  # fmt: skip
_WHOLE_BATCH = {"VIEW", "PROC", "PROCEDURE", "FUNCTION", "TRIGGER"}
_SESSION_OPTIONS = {
    "NOCOUNT", "QUOTED_IDENTIFIER", "ANSI_NULLS", "ANSI_PADDING", "ANSI_WARNINGS", "ARITHABORT", "XACT_ABORT",
    "CONCAT_NULL_YIELDS_NULL", "NUMERIC_ROUNDABORT", "IDENTITY_INSERT", "DATEFORMAT", "ROWCOUNT", "NOEXEC",
    "LOCK_TIMEOUT", "TRANSACTION", "DEADLOCK_PRIORITY", "LANGUAGE", "DATEFIRST", "ANSI_DEFAULTS", "CONTEXT_INFO",
    "IMPLICIT_TRANSACTIONS", "CURSOR_CLOSE_ON_COMMIT", "ANSI_NULL_DFLT_ON", "ANSI_NULL_DFLT_OFF", "FMTONLY",
    "STATISTICS", "SHOWPLAN_ALL", "SHOWPLAN_TEXT", "SHOWPLAN_XML", "PARSEONLY", "FORCEPLAN", "TEXTSIZE",
}  # fmt: skip


def _words(tokens: list[Token], n: int) -> list[str]:
    out = []
    for t in tokens:
        if t.significant:
            out.append(t.upper if t.kind == "word" else t.text)
            if len(out) == n:
                break
    return out


def _is_whole_batch(sig: list[Token]) -> bool:
    """CREATE [OR ALTER] / ALTER of a view, procedure, function or trigger: the rest of the batch is its body."""
    if not sig or sig[0].kind != "word" or sig[0].upper not in ("CREATE", "ALTER"):
        return False
    i = 1
    if sig[0].upper == "CREATE" and len(sig) > 2 and sig[1].upper == "OR" and sig[2].upper == "ALTER":
        i = 3
    return len(sig) > i and sig[i].kind == "word" and sig[i].upper in _WHOLE_BATCH


def split_statements(batch: list[Token]) -> list[list[Token]]:
    """A batch's tokens → statements (token lists without the `;`, leading/trailing comments trimmed)."""
    sig = [t for t in batch if t.significant]
    if _is_whole_batch(sig):
        return [_trim(batch)]
    statements: list[list[Token]] = []
    current: list[Token] = []
    lead = ""  # first keyword of the current statement
    second = ""
    depth = 0
    blocks: list[str] = []  # BEGIN / CASE nesting, for END
    prev: Token | None = None
    sig_index = {id(t): k for k, t in enumerate(sig)}

    def flush() -> None:
        nonlocal current, lead, second
        trimmed = _trim(current)
        if trimmed:
            statements.append(trimmed)
        current, lead, second = [], "", ""

    for tok in batch:
        if not tok.significant:
            current.append(tok)
            continue
        if tok.kind == "punct" and tok.text == ";" and depth == 0:
            flush()
            prev = tok
            continue
        k = sig_index[id(tok)]
        nxt = sig[k + 1] if k + 1 < len(sig) else None
        if depth == 0 and tok.kind == "word" and lead and _starts_statement(tok, prev, nxt, lead, second, blocks):
            flush()
        if tok.kind == "punct":
            if tok.text == "(":
                depth += 1
            elif tok.text == ")":
                depth = max(0, depth - 1)
        elif tok.kind == "word" and depth == 0:
            up = tok.upper
            if up == "CASE":
                blocks.append("CASE")
            elif up == "BEGIN" and not (
                nxt
                and nxt.kind == "word"
                and nxt.upper in ("TRAN", "TRANSACTION", "DISTRIBUTED", "DIALOG", "CONVERSATION")
            ):
                blocks.append("BEGIN")
            elif up == "END" and blocks:
                blocks.pop()
        if not lead:
            lead = tok.upper if tok.kind == "word" else tok.text
        elif not second:
            second = tok.upper if tok.kind == "word" else tok.text
        current.append(tok)
        prev = tok
    flush()
    return statements


def _starts_statement(
    tok: Token, prev: Token | None, nxt: Token | None, lead: str, second: str, blocks: list[str]
) -> bool:
    up = tok.upper
    if up not in _STARTERS:
        return False
    p = prev.upper if prev is not None and prev.kind == "word" else (prev.text if prev is not None else "")
    n = nxt.upper if nxt is not None and nxt.kind == "word" else (nxt.text if nxt is not None else "")
    if p in ("GRANT", "DENY", "REVOKE", ",") and up not in ("GRANT", "DENY", "REVOKE"):
        return False  # GRANT SELECT, INSERT, CREATE TABLE ...
    if up in ("CREATE", "ALTER", "DROP"):
        if up == "ALTER" and n in ("COLUMN",):
            return False
        return n in _KINDS and n != "COLUMN"
    if up in ("GRANT",):
        return p not in ("WITH", "REVOKE")
    if up in ("UPDATE", "DELETE", "INSERT"):
        return p not in ("ON", "FOR", "AFTER", "OF", "INSTEAD") and lead not in ("MERGE",)
    if up == "SET":
        if p in ("DELETE", "UPDATE") or n == "(":
            return False
        if lead in ("UPDATE", "MERGE"):
            return False
        if lead == "ALTER":
            return second not in ("DATABASE",) and (n in _SESSION_OPTIONS or (nxt is not None and nxt.kind == "var"))
        return True
    if up == "SELECT":
        return lead not in ("INSERT", "DECLARE") and p not in ("UNION", "ALL", "EXCEPT", "INTERSECT", "AS")
    if up in ("EXEC", "EXECUTE"):
        return lead != "INSERT" and p not in ("AS", "WITH")
    if up == "IF":
        return p not in _KINDS and p != "DROP"
    if up == "END":
        return bool(blocks) and blocks[-1] == "BEGIN"
    if up == "ELSE":
        return not (blocks and blocks[-1] == "CASE")
    if up in ("ENABLE", "DISABLE"):
        return n == "TRIGGER" and lead != "ALTER"
    if up in ("OPEN", "CLOSE"):
        return lead not in ("ALTER", "CREATE")  # ALTER DATABASE ... SET ... / CREATE SYMMETRIC KEY ... OPEN
    if up == "RETURN":
        return True
    if up == "BEGIN":
        return True
    if up in ("COMMIT", "ROLLBACK"):
        return True
    return True


def _trim(tokens: list[Token]) -> list[Token]:
    start, end = 0, len(tokens)
    while start < end and not tokens[start].significant:
        start += 1
    while end > start and not tokens[end - 1].significant:
        end -= 1
    return tokens[start:end]


# ---------------------------------------------------------------------------------------- classifying


@dataclass
class _Stmt:
    tokens: list[Token]  # significant and not
    sig: list[Token]

    def word(self, i: int) -> str:
        if i < len(self.sig):
            t = self.sig[i]
            return t.upper if t.kind == "word" else t.text
        return ""


def _name_at(sig: list[Token], i: int) -> tuple[list[str], int]:
    """A dotted name starting at sig[i] → (parts unquoted, index after it)."""
    parts: list[str] = []
    while i < len(sig):
        t = sig[i]
        if t.kind in ("word", "qident", "sqlcmdvar"):
            parts.append(unquote(t.text))
            i += 1
            if i < len(sig) and sig[i].text == ".":
                i += 1
                while i < len(sig) and sig[i].text == ".":  # server..name
                    parts.append("")
                    i += 1
                continue
        break
    return parts, i


def _schema_name(parts: list[str], default_schema: str = "dbo") -> tuple[str, str]:
    parts = [p for p in parts]
    if not parts:
        return default_schema, ""
    if len(parts) == 1:
        return default_schema, parts[0]
    return parts[-2] or default_schema, parts[-1]


def _find_word(sig: list[Token], word: str, start: int = 0) -> int:
    for i in range(start, len(sig)):
        if sig[i].kind == "word" and sig[i].upper == word and _depth_at(sig, i) == 0:
            return i
    return -1


def _depth_at(sig: list[Token], i: int) -> int:
    depth = 0
    for t in sig[:i]:
        if t.text == "(":
            depth += 1
        elif t.text == ")":
            depth -= 1
    return depth


def _string_value(tok: Token) -> str:
    text = tok.text
    if text[:1] in "Nn" and text[1:2] == "'":
        text = text[1:]
    if text.startswith("'"):
        return text[1:-1].replace("''", "'") if text.endswith("'") and len(text) > 1 else text[1:]
    return unquote(text)


def _classify(st: _Stmt) -> tuple[str, str, str, str | None]:
    """(type, schema, name, parent) of one statement."""
    w0, sig = st.word(0), st.sig
    if sig and sig[0].kind == "punct" and sig[0].text == ":":
        return SCRIPT, "dbo", "sqlcmd", None
    if w0 in ("CREATE", "ALTER"):
        i = 1
        if w0 == "CREATE" and st.word(1) == "OR" and st.word(2) == "ALTER":
            i = 3
        kind = st.word(i)
        if kind == "TABLE":
            parts, j = _name_at(sig, i + 1)
            schema, name = _schema_name(parts)
            if w0 == "CREATE":
                return "table", schema, name, None
            return _alter_table(sig, j, schema, name)
        if kind in ("VIEW", "PROC", "PROCEDURE", "FUNCTION", "SEQUENCE", "SYNONYM", "TYPE"):
            parts, _ = _name_at(sig, i + 1)
            schema, name = _schema_name(parts)
            typ = {"PROC": "procedure", "PROCEDURE": "procedure"}.get(kind, kind.lower())
            return typ, schema, name, None
        if kind == "TRIGGER":
            parts, j = _name_at(sig, i + 1)
            on = _find_word(sig, "ON", j)
            target, _ = _name_at(sig, on + 1) if on >= 0 else ([], 0)
            if on >= 0 and st.word(on + 1) in ("DATABASE", "ALL"):
                schema, name = _schema_name(parts)
                return "trigger", schema, name, None
            tschema, tname = _schema_name(target)
            schema, name = _schema_name(parts, tschema)
            return "trigger", schema, name, f"{tschema}.{tname}" if tname else None
        if kind == "SCHEMA":
            parts, _ = _name_at(sig, i + 1)
            name = parts[-1] if parts else ""
            return "schema", name, name, None
        if kind == "XML" and st.word(i + 1) == "SCHEMA":  # CREATE/ALTER XML SCHEMA COLLECTION name
            parts, _ = _name_at(sig, i + 3)
            schema, name = _schema_name(parts)
            return "type", schema, name, None
        if kind in ("UNIQUE", "CLUSTERED", "NONCLUSTERED", "COLUMNSTORE", "INDEX", "PRIMARY", "XML", "SPATIAL"):
            idx = _find_word(sig, "INDEX", i)
            if w0 == "ALTER" or idx < 0:
                return SCRIPT, "dbo", "alter index", None  # ALTER INDEX ... REBUILD: maintenance
            parts, j = _name_at(sig, idx + 1)
            on = _find_word(sig, "ON", j)
            target, _ = _name_at(sig, on + 1) if on >= 0 else ([], 0)
            tschema, tname = _schema_name(target)
            return "index", tschema, parts[-1] if parts else "", f"{tschema}.{tname}"
        if kind == "FULLTEXT" and st.word(i + 1) == "INDEX":  # CREATE FULLTEXT INDEX ON t(...) KEY INDEX pk
            target, _ = _name_at(sig, i + 3)
            tschema, tname = _schema_name(target)
            return "index", tschema, f"fulltext_{tname}", f"{tschema}.{tname}"
        if kind in ("ROLE", "USER") and w0 == "CREATE":
            parts, _ = _name_at(sig, i + 1)
            return kind.lower(), "dbo", parts[-1] if parts else "", None
        if kind == "ROLE" and w0 == "ALTER" and _find_word(sig, "MEMBER") >= 0:  # ALTER ROLE r ADD MEMBER u
            parts, _ = _name_at(sig, i + 1)
            return "grant", "dbo", f"role {parts[-1] if parts else ''}", None
        if kind == "AUTHORIZATION":
            return "grant", "dbo", _summary(sig), None
        return SCRIPT, "dbo", " ".join(st.word(k).lower() for k in range(min(3, len(sig)))), None
    if w0 in ("GRANT", "DENY", "REVOKE"):
        on = _find_word(sig, "ON")
        schema = "dbo"
        if on >= 0:
            parts, _ = _name_at(sig, on + 1)
            if len(parts) >= 1 and on + 2 < len(sig) and sig[on + 2].text == ":":  # SCHEMA::name
                parts, _ = _name_at(sig, on + 4)
                schema = parts[-1] if parts else schema
            elif len(parts) >= 2:
                schema = parts[-2]
        return "grant", schema, _summary(sig), None
    if w0 in ("EXEC", "EXECUTE"):
        parts, j = _name_at(sig, 1)
        proc = parts[-1].lower() if parts else ""
        if proc == "sp_addextendedproperty":
            return _extended_property(sig, j)
        if proc == "sp_addtype":
            args = _args(sig, j)
            return "type", "dbo", args[0][1] if args else "", None
        if proc in ("sp_addrolemember", "sp_addrole"):
            return (
                ("grant" if proc == "sp_addrolemember" else "role"),
                "dbo",
                " ".join(v for _, v in _args(sig, j)),
                None,
            )
    return SCRIPT, "dbo", " ".join(st.word(k).lower() for k in range(min(2, len(sig)))), None


def _alter_table(sig: list[Token], j: int, schema: str, name: str) -> tuple[str, str, str, str | None]:
    """ALTER TABLE t [WITH CHECK|NOCHECK] ADD [CONSTRAINT c] ... / ALTER COLUMN / CHECK CONSTRAINT ... → constraint."""
    parent = f"{schema}.{name}"
    k = _find_word(sig, "CONSTRAINT", j)
    if k >= 0 and k + 1 < len(sig) and sig[k + 1].kind in ("word", "qident") and sig[k + 1].upper != "ALL":
        return "constraint", schema, unquote(sig[k + 1].text), parent
    action = [t.upper.lower() for t in sig[j : j + 3] if t.kind == "word"][:2]
    return "constraint", schema, f"{name} {' '.join(action)}".strip(), parent


def _args(sig: list[Token], j: int) -> list[tuple[str, str]]:
    """EXEC proc arguments → [(param name or '', value)] (strings unquoted, NULL as '')."""
    args: list[tuple[str, str]] = []
    param, value = "", ""
    for t in sig[j:]:
        if t.text == ",":
            args.append((param, value))
            param, value = "", ""
        elif t.kind == "var" and not value:
            param = t.text.lower()
        elif t.text == "=":
            continue
        elif t.kind in ("string", "qident", "word", "number"):
            value = "" if t.kind == "word" and t.upper == "NULL" else _string_value(t)
    args.append((param, value))
    return args


_XP_PARAMS = [
    "@name",
    "@value",
    "@level0type",
    "@level0name",
    "@level1type",
    "@level1name",
    "@level2type",
    "@level2name",
]


def _extended_property(sig: list[Token], j: int) -> tuple[str, str, str, str | None]:
    values: dict[str, str] = {}
    for pos, (param, value) in enumerate(_args(sig, j)):
        key = param or (_XP_PARAMS[pos] if pos < len(_XP_PARAMS) else "")
        values[key] = value
    schema = values.get("@level0name", "") if values.get("@level0type", "").upper() == "SCHEMA" else ""
    level1, level2 = values.get("@level1name", ""), values.get("@level2name", "")
    target = ".".join(p for p in (level1, level2) if p) or schema or values.get("@level0name", "") or "database"
    parent = f"{schema}.{level1}" if schema and level1 else None
    prop = values.get("@name", "")
    name = target if prop.lower() in ("ms_description", "description", "") else f"{target}:{prop}"
    return "comment", schema or "dbo", name, parent


def _summary(sig: list[Token]) -> str:
    """GRANT SELECT ON [Sales].[Orders] TO [app] → 'GRANT SELECT ON Sales.Orders TO app' (the object's name)."""
    out = ""
    for t in sig[:16]:
        piece = unquote(t.text) if t.kind == "qident" else t.text
        glue = "" if not out or t.text in (".", ":", ",") or out.endswith((".", ":")) else " "
        out += glue + piece
    return out[:100]


# --------------------------------------------------------------------------------------------- driver


def read_text(text: str, file: str, database: str) -> list[SourceObject]:
    """One script's text → SourceObjects (names not yet made unique across files)."""
    text, commands = _sqlcmd(text)
    tokens = tokenize(text)
    line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
    raw: list[tuple[int, SourceObject]] = []
    for line, command in commands:
        offset = line_starts[line - 1]
        raw.append((offset, SourceObject(database, "dbo", "sqlcmd", SCRIPT, command, file, line)))
    databases: list[tuple[int, str]] = []  # (offset, user database named by USE / CREATE DATABASE)
    for batch in split_batches(tokens, text):
        for stmt_tokens in split_statements(batch):
            sig = [t for t in stmt_tokens if t.significant]
            st = _Stmt(stmt_tokens, sig)
            start = stmt_tokens[0].start
            end = stmt_tokens[-1].start + len(stmt_tokens[-1].text)
            if st.word(0) == "USE" or (st.word(0) == "CREATE" and st.word(1) == "DATABASE"):
                parts, _ = _name_at(sig, 1 if st.word(0) == "USE" else 2)
                if parts and parts[-1].lower() not in SYSTEM_DATABASES and not parts[-1].startswith("$("):
                    databases.append((start, parts[-1]))
            typ, schema, name, parent = _classify(st)
            line = _line_of(line_starts, start)
            raw.append((start, SourceObject(database, schema, name, typ, text[start:end], file, line, parent)))
    raw.sort(key=lambda pair: pair[0])
    for offset, obj in raw:
        obj.database = _database_at(databases, offset, database)
    return _unique_names([obj for _, obj in raw])


def _database_at(databases: list[tuple[int, str]], offset: int, default: str) -> str:
    if not databases:
        return default
    current = databases[0][1]  # statements before the first USE belong to the script's database too
    for start, name in databases:
        if start <= offset:
            current = name
    return current


def _line_of(line_starts: list[int], offset: int) -> int:
    lo, hi = 0, len(line_starts) - 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if line_starts[mid] <= offset:
            lo = mid
        else:
            hi = mid - 1
    return lo + 1


def _unique_names(objects: list[SourceObject]) -> list[SourceObject]:
    used: set[str] = set()
    for obj in objects:
        if obj.type == SCRIPT:
            continue
        base, n = obj.name, 2
        while f"{obj.database}|{obj.key}" in used:
            obj.name = f"{base}~{n}"
            n += 1
        used.add(f"{obj.database}|{obj.key}")
    return objects


def count_by_type(objects: list[SourceObject]) -> dict[str, dict[str, int]]:
    """database → type → number of objects."""
    out: dict[str, dict[str, int]] = {}
    for obj in objects:
        per = out.setdefault(obj.database, {})
        per[obj.type] = per.get(obj.type, 0) + 1
    return out
