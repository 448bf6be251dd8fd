"""T-SQL xml data type methods → PostgreSQL xpath():

    x.value(N'declare namespace a="u"; (a:b)[1]', 'nvarchar(50)')
        → CAST(CAST((xpath('(a:b)[1]/text()', x, ARRAY[ARRAY['a','u']]))[1] AS text) AS varchar(50))
    CROSS APPLY x.nodes(N'/a:r') AS t(ref) → CROSS JOIN LATERAL unnest(xpath('/a:r', x, …)) AS t(ref)
    x.exist(N'/a:r') = 1 → xpath_exists('/a:r', x, …) = TRUE

XQuery prologs (declare namespace p="…"; declare default element namespace "…";) become xpath()'s namespace array;
PostgreSQL's xpath has no default namespace, so unprefixed element steps get the prefix "dflt".
A node produced by .nodes() is the root element of its own document in PostgreSQL, while T-SQL evaluates relative
paths from that node: relative paths on such nodes are anchored with "/*/".
"""

from __future__ import annotations

import re

_DECL = re.compile(r"declare\s+namespace\s+(\w+)\s*=\s*\"([^\"]*)\"\s*;", re.I)
_DEFAULT = re.compile(r"declare\s+default\s+element\s+namespace\s+\"([^\"]*)\"\s*;", re.I)
_STEP = re.compile(r"(?<![@:\w.$\-\"'])([A-Za-z_][\w.\-]*)(?![\w.\-]*\s*[:(])")
_AXES_AND_WORDS = {"and", "or", "div", "mod", "text", "node", "self", "child", "parent", "descendant", "ancestor"}


def parse_xquery(text: str) -> tuple[list[tuple[str, str]], str]:
    """An XQuery string of T-SQL → (namespaces [(prefix, uri)], XPath 1.0 path for PostgreSQL)."""
    namespaces = [(m.group(1), m.group(2)) for m in _DECL.finditer(text)]
    default = _DEFAULT.search(text)
    path = _DEFAULT.sub("", _DECL.sub("", text)).strip()
    if default:
        namespaces.append(("dflt", default.group(1)))
        path = _prefix_steps(path)
    return namespaces, path


def _prefix_steps(path: str) -> str:
    out, i = [], 0
    for m in _STEP.finditer(path):
        name = m.group(1)
        if name.lower() in _AXES_AND_WORDS or _inside_string(path, m.start()):
            continue
        out.append(path[i : m.start()] + "dflt:" + name)
        i = m.end()
    out.append(path[i:])
    return "".join(out)


def _inside_string(text: str, pos: int) -> bool:
    return text.count('"', 0, pos) % 2 == 1 or text.count("'", 0, pos) % 2 == 1


def anchor(path: str) -> str:
    """A path relative to a .nodes() node → the same path from PostgreSQL's document root (see module doc)."""
    if path.startswith("/"):
        return path
    if path.startswith("("):
        return "(" + anchor(path[1:])
    if path.startswith("."):
        return "/*" + path[1:] if path.startswith("./") else "/*"
    return "/*/" + path


def ns_array(namespaces: list[tuple[str, str]]) -> str:
    if not namespaces:
        return ""
    pairs = ", ".join(f"ARRAY['{p}', '{u.replace(chr(39), chr(39) * 2)}']" for p, u in namespaces)
    return f", ARRAY[{pairs}]"


def literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
