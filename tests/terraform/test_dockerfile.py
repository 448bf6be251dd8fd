"""Structure of docker/orchestrator/Dockerfile, checked without Docker (not available here).

A small parser of the Dockerfile syntax (line continuations, comments, exec-form JSON) reads the
instructions per build stage; the tests check what ECS relies on: the base image, a non-root user,
the `dbshift migrate` entrypoint, and a build context that holds what the COPY lines name.
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "docker" / "orchestrator" / "Dockerfile"
DOCKERIGNORE = REPO / ".dockerignore"


@dataclass(frozen=True)
class Instruction:
    keyword: str  # upper case
    args: str  # the text after the keyword, continuations joined
    line: int


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]

    def last(self, keyword: str) -> Instruction | None:
        found = self.all(keyword)
        return found[-1] if found else None


def parse_instructions(text: str) -> list[Instruction]:
    """Instructions of a Dockerfile: comments dropped, `\\` continuations joined (comment lines inside too)."""
    instructions: list[Instruction] = []
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if stripped.startswith("#") or (not stripped and not pending):
            continue
        if not pending:
            start = number
        if stripped.endswith("\\"):
            pending.append(stripped[:-1].strip())
            continue
        pending.append(stripped)
        joined = " ".join(p for p in pending if p)
        pending = []
        keyword, _, args = joined.partition(" ")
        instructions.append(Instruction(keyword.upper(), args.strip(), start))
    if pending:
        raise ValueError(f"{DOCKERFILE}: line continuation at the end of the file (from line {start})")
    return instructions


def parse_stages(text: str) -> list[Stage]:
    stages: list[Stage] = []
    for instruction in parse_instructions(text):
        if instruction.keyword == "FROM":
            match = re.fullmatch(r"(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?", instruction.args, re.IGNORECASE)
            if match is None:
                raise ValueError(f"line {instruction.line}: cannot read FROM {instruction.args!r}")
            stages.append(Stage(base=match.group(1), name=match.group(2)))
        elif not stages:
            if instruction.keyword != "ARG":  # only ARG may precede the first FROM
                raise ValueError(f"line {instruction.line}: {instruction.keyword} before the first FROM")
        else:
            stages[-1].instructions.append(instruction)
    return stages


def exec_form(instruction: Instruction) -> list[str]:
    """The JSON array of an exec-form ENTRYPOINT/CMD; shell form is refused (no signals reach PID 1)."""
    try:
        value = json.loads(instruction.args)
    except json.JSONDecodeError as err:
        raise AssertionError(f"line {instruction.line}: {instruction.keyword} must be exec form (JSON array)") from err
    assert isinstance(value, list) and all(isinstance(v, str) for v in value), instruction
    return value


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    """Docker's .dockerignore glob: `**` any number of directories, `*` and `?` within one name."""
    out = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out) + r"\Z")


def ignored(path: str, patterns: list[str]) -> bool:
    """Whether .dockerignore excludes a context path: a pattern matches the path or a parent directory;
    the last matching pattern wins and `!` re-includes."""
    parts = path.split("/")
    candidates = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
    result = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        regex = _pattern_regex((pattern[1:] if negate else pattern).strip("/"))
        if any(regex.match(c) for c in candidates):
            result = not negate
    return result


@pytest.fixture(scope="module")
def stages() -> list[Stage]:
    return parse_stages(DOCKERFILE.read_text())


@pytest.fixture(scope="module")
def final(stages: list[Stage]) -> Stage:
    return stages[-1]


def test_parser_reads_continuations_and_stages() -> None:
    text = 'FROM a:1 AS build\n# note\nRUN one \\\n  # inside\n  && two\nFROM b:2\nCMD ["x"]\n'
    parsed = parse_stages(text)
    assert [(s.base, s.name) for s in parsed] == [("a:1", "build"), ("b:2", None)]
    assert parsed[0].instructions == [Instruction("RUN", "one && two", 3)]
    assert exec_form(parsed[1].instructions[0]) == ["x"]
    with pytest.raises(AssertionError):
        exec_form(Instruction("CMD", "dbshift migrate", 1))
    with pytest.raises(ValueError):
        parse_stages("RUN x\nFROM a\n")


def test_final_stage_is_python_311_slim(stages: list[Stage], final: Stage) -> None:
    assert final.base == "python:3.11-slim"
    assert all(s.base == "python:3.11-slim" for s in stages), "build and runtime must use the same Python"


def test_runs_as_a_non_root_user_it_creates(final: Stage) -> None:
    user = final.last("USER")
    assert user is not None, "the final stage must set USER"
    name, _, group = user.args.partition(":")
    assert name not in ("root", "0") and group not in ("root", "0"), user
    # ECS/Kubernetes runAsNonRoot can only verify a numeric user.
    assert name.isdigit(), f"USER {user.args}: use the numeric uid"
    creating = [i for i in final.all("RUN") if re.search(rf"useradd\b.*--uid {name}\b", i.args)]
    assert creating and creating[0].line < user.line, f"uid {name} must be created (useradd --uid) before USER"
    assert not [i for i in final.instructions if i.line > user.line and i.keyword == "USER"]


def test_entrypoint_and_cmd(final: Stage) -> None:
    entrypoint, cmd = final.last("ENTRYPOINT"), final.last("CMD")
    assert entrypoint is not None and exec_form(entrypoint) == ["dbshift", "migrate"]
    assert cmd is not None and exec_form(cmd) == ["--stage", "all"]
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts.get("dbshift") == "dbshift.cli:main", "the image's `dbshift` is pyproject's console script"


def test_installs_the_dbshift_package(stages: list[Stage], final: Stage) -> None:
    installs = [i.args for i in final.all("RUN") if "pip install" in i.args]
    assert installs and all("--no-cache-dir" in a for a in installs)
    assert any(re.search(r"pip install .*\bdbshift\b", a) for a in installs)
    build = stages[0]
    assert any("pip wheel" in i.args for i in build.all("RUN")), "the build stage must build the wheels"


def test_no_secrets_baked_in(stages: list[Stage]) -> None:
    for stage in stages:
        for i in stage.all("ENV") + stage.all("ARG"):
            assert not re.search(r"(?i)(password|secret|token|access_key)", i.args), f"line {i.line}: {i.args}"


def test_copy_sources_are_in_the_build_context(stages: list[Stage]) -> None:
    patterns = [
        line.strip() for line in DOCKERIGNORE.read_text().splitlines() if line.strip() and not line.startswith("#")
    ]
    for stage in stages:
        for copy in stage.all("COPY"):
            if copy.args.startswith("--from="):
                continue
            *sources, _dest = copy.args.split()
            for source in sources:
                assert (REPO / source).exists(), f"COPY {source}: not in the repository"
                assert not ignored(source.rstrip("/"), patterns), f"COPY {source}: excluded by .dockerignore"


def test_dockerignore_keeps_local_state_out() -> None:
    patterns = [
        line.strip() for line in DOCKERIGNORE.read_text().splitlines() if line.strip() and not line.startswith("#")
    ]
    for path in (
        ".venv/bin/python",
        ".git/config",
        ".estate/x",
        ".tools/checkov",
        "tests/conftest.py",
        "terraform/stacks/local/terraform.tfstate",
        "src/dbshift/__pycache__/cli.cpython-311.pyc",
    ):
        assert ignored(path, patterns), f"{path} would be sent to the Docker build"
    for path in ("pyproject.toml", "src/dbshift/cli.py"):
        assert not ignored(path, patterns), f"{path} is needed by the build"
