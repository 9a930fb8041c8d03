"""CDP Workbench engine: workspaces, ingestion, mapping, standardisation, catalogue, profiling.

Every page of the app, the command line and the notebooks go through this package.

Example:
    >>> from cdp_core import Workspace
    >>> Workspace.open(":memory:").schema_version >= 1
    True
"""
from __future__ import annotations

from cdp_core.errors import InputError, WorkbenchError, WorkspaceLockedError
from cdp_core.ingest import SourceMeta, ingest_file, preview_file, remap_source
from cdp_core.workspace import Workspace

__all__ = [
    "InputError",
    "SourceMeta",
    "WorkbenchError",
    "Workspace",
    "WorkspaceLockedError",
    "ingest_file",
    "preview_file",
    "remap_source",
]
