"""Inputs/outputs tables of a Terraform module, for the README section between the TF_DOCS markers.

terraform-docs is not available here, so this reads variables.tf / outputs.tf directly. It
understands what our modules use: top-level `variable`/`output` blocks whose `description`,
`type` and `default` are attributes (nested `validation` blocks are skipped).

    python tests/terraform/tfdocs.py            # check every module and stack, exit 1 on drift
    python tests/terraform/tfdocs.py --write    # rewrite the README sections
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

BEGIN = "<!-- BEGIN_TF_DOCS -->"
END = "<!-- END_TF_DOCS -->"
REPO_ROOT = Path(__file__).resolve().parents[2]
TERRAFORM_ROOT = REPO_ROOT / "terraform"

_BLOCK_START = re.compile(r'^(variable|output)\s+"([^"]+)"\s*\{', re.MULTILINE)
_ATTRIBUTE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$", re.DOTALL)


@dataclass(frozen=True)
class Variable:
    name: str
    description: str
    type: str
    default: str | None  # HCL expression text; None = required


@dataclass(frozen=True)
class Output:
    name: str
    description: str


def _matching_brace(text: str, open_index: int) -> int:
    """Index of the brace closing the one at open_index, skipping strings."""
    depth = 0
    i = open_index
    in_string = False
    while i < len(text):
        ch = text[i]
        if in_string:
            if ch == "\\":
                i += 1
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch == "#" or text.startswith("//", i):
            i = text.find("\n", i)
            if i == -1:
                break
            continue
        elif ch in "{[(":
            depth += 1
        elif ch in "}])":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    raise ValueError(f"unbalanced braces from offset {open_index}")


def _top_level_items(body: str) -> list[str]:
    """Split a block body into its top-level attributes and nested blocks."""
    items: list[str] = []
    depth = 0
    in_string = False
    current: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if in_string:
            current.append(ch)
            if ch == "\\":
                current.append(body[i + 1])
                i += 1
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
            current.append(ch)
        elif ch == "#" and depth == 0:
            end = body.find("\n", i)
            i = len(body) if end == -1 else end
            continue
        elif ch in "{[(":
            depth += 1
            current.append(ch)
        elif ch in "}])":
            depth -= 1
            current.append(ch)
        elif ch == "\n" and depth == 0:
            item = "".join(current).strip()
            if item:
                items.append(item)
            current = []
        else:
            current.append(ch)
        i += 1
    item = "".join(current).strip()
    if item:
        items.append(item)
    return items


def _blocks(text: str, kind: str) -> list[tuple[str, dict[str, str]]]:
    found: list[tuple[str, dict[str, str]]] = []
    for match in _BLOCK_START.finditer(text):
        if match.group(1) != kind:
            continue
        open_index = match.end() - 1
        close_index = _matching_brace(text, open_index)
        attributes: dict[str, str] = {}
        for item in _top_level_items(text[open_index + 1 : close_index]):
            attribute = _ATTRIBUTE.match(item)
            if attribute:  # nested blocks (validation { ... }) have no '='
                attributes[attribute.group(1)] = attribute.group(2).strip()
        found.append((match.group(2), attributes))
    return found


def _string(expression: str, where: str) -> str:
    if not (expression.startswith('"') and expression.endswith('"')):
        raise ValueError(f"{where}: description must be a plain string literal, got {expression!r}")
    return json.loads(expression)


def _one_line(expression: str) -> str:
    """Join a multi-line expression, with commas where HCL lets newlines separate items."""
    lines = [line.strip() for line in expression.splitlines() if line.strip()]
    joined = lines[0] if lines else ""
    for line in lines[1:]:
        bare = joined.endswith(("{", "(", "[", ",")) or line.startswith(("}", ")", "]"))
        joined += (" " if bare else ", ") + line
    return re.sub(r"\s+", " ", joined)


def read_variables(module_dir: Path) -> list[Variable]:
    path = module_dir / "variables.tf"
    if not path.exists():
        return []
    variables = []
    for name, attributes in _blocks(path.read_text(), "variable"):
        where = f"{path}: variable {name}"
        variables.append(
            Variable(
                name=name,
                description=_string(attributes.get("description", '""'), where),
                type=_one_line(attributes.get("type", "any")),
                default=_one_line(attributes["default"]) if "default" in attributes else None,
            )
        )
    return sorted(variables, key=lambda v: v.name)


def read_outputs(module_dir: Path) -> list[Output]:
    path = module_dir / "outputs.tf"
    if not path.exists():
        return []
    outputs = [
        Output(name=name, description=_string(attributes.get("description", '""'), f"{path}: output {name}"))
        for name, attributes in _blocks(path.read_text(), "output")
    ]
    return sorted(outputs, key=lambda o: o.name)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render(module_dir: Path) -> str:
    """The README section, markers included."""
    lines = [BEGIN, "## Inputs", ""]
    variables = read_variables(module_dir)
    if variables:
        lines += [
            "| Name | Description | Type | Default | Required |",
            "|------|-------------|------|---------|:--------:|",
        ]
        for v in variables:
            default = "n/a" if v.default is None else f"`{_cell(v.default)}`"
            required = "yes" if v.default is None else "no"
            lines.append(f"| `{v.name}` | {_cell(v.description)} | `{_cell(v.type)}` | {default} | {required} |")
    else:
        lines.append("No inputs.")
    lines += ["", "## Outputs", ""]
    outputs = read_outputs(module_dir)
    if outputs:
        lines += ["| Name | Description |", "|------|-------------|"]
        lines += [f"| `{o.name}` | {_cell(o.description)} |" for o in outputs]
    else:
        lines.append("No outputs.")
    lines.append(END)
    return "\n".join(lines)


def current_section(readme: Path) -> str | None:
    text = readme.read_text() if readme.exists() else ""
    start, end = text.find(BEGIN), text.find(END)
    if start == -1 or end == -1 or end < start:
        return None
    return text[start : end + len(END)]


def write_section(module_dir: Path) -> bool:
    """Replace the README section with the rendered one; True if the file changed."""
    readme = module_dir / "README.md"
    text = readme.read_text()
    section = current_section(readme)
    if section is None:
        raise ValueError(f"{readme}: add a line {BEGIN} and a line {END} where the tables belong")
    rendered = render(module_dir)
    if section == rendered:
        return False
    tmp = readme.with_suffix(".md.tmp")
    tmp.write_text(text.replace(section, rendered))
    os.replace(tmp, readme)
    return True


def documented_dirs(root: Path = TERRAFORM_ROOT) -> list[Path]:
    """Every module and stack (directories directly under modules/ and stacks/)."""
    return sorted(p for kind in ("modules", "stacks") for p in (root / kind).iterdir() if p.is_dir())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--write", action="store_true", help="rewrite README sections instead of checking")
    args = parser.parse_args(argv)
    stale = []
    for module_dir in documented_dirs():
        if args.write:
            if write_section(module_dir):
                print(f"updated {module_dir / 'README.md'}")
        elif current_section(module_dir / "README.md") != render(module_dir):
            stale.append(module_dir)
    for module_dir in stale:
        print(f"{module_dir / 'README.md'}: inputs/outputs differ from the code; run with --write", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
