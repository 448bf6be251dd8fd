"""Dependency order of converted objects: what each object needs must exist before it runs.

Edges come from two places: Converted.depends_on (what a converter knew), and references found in the T-SQL
source (names of other objects of the source, resolved as T-SQL does: qualified names as written, unqualified
ones in the object's own schema, then dbo; a constraint/index/trigger/comment also needs its parent table, and
every object needs its schema). Among the objects whose dependencies are met, the lower kind rank goes first
(schemas, types, sequences, tables, keys, foreign keys, views, routines, triggers, security, comments), then
source order. A cycle (e.g. two views naming each other) is broken at the earliest object in that order;
verify.py's repeated passes absorb what the order could not infer.
"""

from __future__ import annotations

import heapq
import re
from collections import defaultdict

from dbshift.convert.model import SCRIPT, Converted, SourceObject
from dbshift.convert.source import tokenize, unquote

RANK = {
    "schema": 0,
    "role": 1,
    "user": 2,
    "type": 3,
    "sequence": 4,
    "table": 5,
    "constraint": 6,  # foreign keys: 7 (see rank())
    "index": 6,
    "synonym": 8,
    "view": 8,
    "function": 9,
    "procedure": 10,
    "trigger": 11,
    "grant": 12,
    "comment": 13,
    SCRIPT: 14,
}
# Kinds whose names a reference can mean (T-SQL: one namespace per schema for these; types apart).
_NAMED = ("table", "view", "function", "procedure", "sequence", "synonym", "type")
_FOREIGN_KEY = re.compile(r"\bFOREIGN\s+KEY\b|\bREFERENCES\b", re.IGNORECASE)


def rank(obj: SourceObject) -> int:
    if obj.type == "constraint" and _FOREIGN_KEY.search(obj.text):
        return 7  # after every key it may reference
    return RANK.get(obj.type, 14)


def references(obj: SourceObject) -> list[tuple[str | None, str]]:
    """Names the T-SQL text mentions, as (schema or None, name), lower case, in order; the object's own included."""
    out: list[tuple[str | None, str]] = []
    sig = [t for t in tokenize(obj.text) if t.significant]
    i = 0
    while i < len(sig):
        t = sig[i]
        if t.kind in ("word", "qident"):
            parts = [unquote(t.text)]
            j = i + 1
            while j + 1 < len(sig) and sig[j].text == "." and sig[j + 1].kind in ("word", "qident"):
                parts.append(unquote(sig[j + 1].text))
                j += 2
            if len(parts) == 1:
                out.append((None, parts[0].lower()))
            else:
                # a.b.c may be schema.table.column or db.schema.table: offer both readings
                for k in range(len(parts) - 1):
                    out.append((parts[k].lower(), parts[k + 1].lower()))
                out.append((None, parts[-1].lower()))
            i = j
            continue
        if t.kind == "string":  # sp_addextendedproperty names its objects in strings
            value = t.text[2:-1] if t.text[:1] in "Nn" else t.text[1:-1]
            if value and len(value) < 128 and re.fullmatch(r"[\w.\[\] ]+", value):
                out.append((None, value.lower()))
        i += 1
    return out


def dependencies(items: list[Converted]) -> dict[int, set[int]]:
    """index in `items` → indexes of the items it needs first."""
    by_key: dict[str, list[int]] = defaultdict(list)
    by_name: dict[tuple[str, str], list[int]] = defaultdict(list)  # (schema, name) lower → named objects
    schemas: dict[str, list[int]] = defaultdict(list)
    for i, c in enumerate(items):
        o = c.obj
        by_key[o.key].append(i)
        if o.type in _NAMED:
            by_name[(o.schema.lower(), o.name.lower())].append(i)
        elif o.type == "schema":
            schemas[o.name.lower()].append(i)
    deps: dict[int, set[int]] = {}
    for i, c in enumerate(items):
        o = c.obj
        need: set[int] = set()
        for key in c.depends_on:
            need.update(by_key.get(key.lower(), ()))
        if o.type != SCRIPT:
            own = o.schema.lower()
            need.update(schemas.get(own, ()))
            if o.parent:
                ps, _, pn = o.parent.partition(".")
                need.update(by_name.get((ps.lower(), pn.lower()), ()))
            for schema, name in references(o):
                if schema is None:
                    for s in (own, "dbo"):
                        if (s, name) in by_name:
                            need.update(by_name[(s, name)])
                            break
                else:
                    need.update(by_name.get((schema, name), ()))
                    need.update(schemas.get(schema, ()))
        need.discard(i)
        deps[i] = need
    return deps


def order(items: list[Converted]) -> list[Converted]:
    """`items` in an order that puts every object after what it needs (as far as known), stable otherwise."""
    deps = dependencies(items)
    users: dict[int, set[int]] = defaultdict(set)
    waiting = {i: len(d) for i, d in deps.items()}
    for i, d in deps.items():
        for j in d:
            users[j].add(i)
    ranks = [rank(c.obj) for c in items]
    ready = [(ranks[i], i) for i, n in waiting.items() if n == 0]
    heapq.heapify(ready)
    done: set[int] = set()
    out: list[Converted] = []
    while len(out) < len(items):
        if not ready:  # a cycle: release the first remaining object in (rank, source order)
            i = min((ranks[i], i) for i in range(len(items)) if i not in done)[1]
            waiting[i] = 0
            heapq.heappush(ready, (ranks[i], i))
        _, i = heapq.heappop(ready)
        if i in done:
            continue
        done.add(i)
        out.append(items[i])
        for u in users[i]:
            if u in done:
                continue
            waiting[u] -= 1
            if waiting[u] == 0:
                heapq.heappush(ready, (ranks[u], u))
    return out
