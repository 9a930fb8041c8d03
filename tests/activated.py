"""The matched demo made ready for activation: unified profiles built and traits refreshed.

Shared by the segment, rule and trait tests, which each build it once per module from the
session's matched demo (a copy: the session file stays untouched).
"""
from __future__ import annotations

import shutil
from pathlib import Path

from cdp_core import golden, traits
from cdp_core.workspace import Workspace


def activated_copy(matched_demo: Path, folder: Path) -> Path:
    """A copy of the matched demo in ``folder`` with golden.profiles, golden.events and
    golden.traits built; returns its path (the workspace is closed)."""
    path = folder / "activated.duckdb"
    shutil.copyfile(matched_demo, path)
    with Workspace.open(path) as workspace:
        golden.build(workspace)
        traits.refresh(workspace)
    return path
