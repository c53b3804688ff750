"""The fenced blocks of the README's "Validate your own data" section, for the tests that run them."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

README = Path(__file__).resolve().parents[1] / "README.md"
PIP_LINE = re.compile(r'python -m pip install "tokyo-sme-kg @ git\+https://github\.com/[\w.-]+/tokyo-sme-kg@v[\d.]+"')


def section_blocks() -> dict[str, object]:
    """Return the section's blocks: cli (commands), github and gitlab (YAML), precommit (YAML), pyshacl,
    and the JavaScript validator's commands (js_cli) and script (js)."""
    text = README.read_text(encoding="utf-8")
    section = text.split("## Validate your own data", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```(\w+)\n(.*?)```", section, re.S)
    kinds = [kind for kind, _ in blocks]
    assert kinds == ["sh", "yaml", "yaml", "yaml", "sh", "sh", "js"], kinds
    github = yaml.safe_load(blocks[1][1])
    if True in github:  # YAML 1.1 reads the key `on` as true; GitHub reads it as "on"
        github["on"] = github.pop(True)
    lines = [[line.strip() for line in body.splitlines() if line.strip()] for _, body in blocks]
    return {
        "cli": lines[0],
        "github": github,
        "gitlab": yaml.safe_load(blocks[2][1]),
        "precommit": yaml.safe_load(blocks[3][1]),
        "pyshacl": lines[4],
        "js_cli": lines[5],
        "js": blocks[6][1],
    }
