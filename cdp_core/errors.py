"""User-facing errors: one clear sentence saying what is wrong and what to do.

Every error a user can cause (a bad file, a wrong mapping, a busy workspace) is raised as a
`WorkbenchError`, which the CLI prints as one line and the pages show in a message box.
Anything else is a bug and keeps its traceback.
"""
from __future__ import annotations


class WorkbenchError(Exception):
    """An error the user can act on; the message is the whole explanation."""


class InputError(WorkbenchError):
    """A file, mapping or name that cannot be accepted; nothing was changed."""


class WorkspaceLockedError(WorkbenchError):
    """The workspace file is held by another process."""


class WorkspaceVersionError(WorkbenchError):
    """The workspace was written by a newer version of the workbench."""
