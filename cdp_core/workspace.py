"""Open or create a workspace: one DuckDB file holding a whole CDP project.

The file holds raw sources (schema ``raw``), standardised sources (``std``) and every piece of
metadata (``meta``). A schema version and ordered migrations let an old file open in a new
release. One connection per process; every query runs on its own cursor, and a write that
touches several tables runs in `Workspace.transaction`, so an error leaves nothing half-written.

Example:
    >>> ws = Workspace.open(":memory:")
    >>> ws.schema_version == SCHEMA_VERSION
    True
"""
from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from cdp_core.errors import WorkspaceLockedError, WorkspaceVersionError

# Each entry migrates the file from version i to i + 1; never edit a released entry, append.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        "CREATE SCHEMA IF NOT EXISTS meta",
        "CREATE SCHEMA IF NOT EXISTS raw",
        "CREATE SCHEMA IF NOT EXISTS std",
        "CREATE SCHEMA IF NOT EXISTS demo",
        """CREATE TABLE demo.ground_truth (
            source VARCHAR NOT NULL, record_id VARCHAR NOT NULL, person_id VARCHAR NOT NULL)""",
        """CREATE TABLE meta.schema_version (
            version INTEGER NOT NULL, applied_at TIMESTAMP NOT NULL DEFAULT current_timestamp)""",
        """CREATE TABLE meta.sources (
            source_id INTEGER PRIMARY KEY,
            name VARCHAR NOT NULL UNIQUE,
            kind VARCHAR NOT NULL,
            department VARCHAR,
            collection_mode VARCHAR,
            refresh_cadence VARCHAR,
            description VARCHAR,
            profile_source VARCHAR,
            created_at TIMESTAMP NOT NULL DEFAULT current_timestamp)""",
        """CREATE TABLE meta.source_versions (
            source_id INTEGER NOT NULL,
            version INTEGER NOT NULL,
            raw_table VARCHAR NOT NULL,
            std_table VARCHAR NOT NULL,
            file_name VARCHAR,
            file_format VARCHAR,
            encoding VARCHAR,
            delimiter VARCHAR,
            sheet VARCHAR,
            file_bytes BIGINT,
            row_count BIGINT NOT NULL,
            ingested_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
            PRIMARY KEY (source_id, version))""",
        """CREATE TABLE meta.source_columns (
            source_id INTEGER NOT NULL,
            version INTEGER NOT NULL,
            position INTEGER NOT NULL,
            column_name VARCHAR NOT NULL,
            column_type VARCHAR NOT NULL,
            PRIMARY KEY (source_id, version, position))""",
        """CREATE TABLE meta.mappings (
            source_id INTEGER NOT NULL,
            field VARCHAR NOT NULL,
            column_name VARCHAR NOT NULL,
            origin VARCHAR NOT NULL,
            confidence DOUBLE,
            PRIMARY KEY (source_id, field))""",
        """CREATE TABLE meta.std_stats (
            source_id INTEGER NOT NULL,
            version INTEGER NOT NULL,
            field VARCHAR NOT NULL,
            rule VARCHAR NOT NULL,
            non_empty BIGINT NOT NULL,
            changed BIGINT NOT NULL,
            rejected BIGINT NOT NULL)""",
        """CREATE TABLE meta.catalog_columns (
            source_id INTEGER NOT NULL,
            column_name VARCHAR NOT NULL,
            field VARCHAR,
            semantic_type VARCHAR NOT NULL,
            pii_class VARCHAR NOT NULL,
            description VARCHAR,
            owner VARCHAR,
            tags VARCHAR,
            edited BOOLEAN NOT NULL DEFAULT false,
            PRIMARY KEY (source_id, column_name))""",
        """CREATE TABLE meta.column_quality (
            source_id INTEGER NOT NULL,
            version INTEGER NOT NULL,
            column_name VARCHAR NOT NULL,
            completeness DOUBLE,
            validity DOUBLE,
            uniqueness DOUBLE,
            PRIMARY KEY (source_id, version, column_name))""",
        """CREATE TABLE meta.profile_reports (
            source_id INTEGER NOT NULL,
            version INTEGER NOT NULL,
            created_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
            rows_total BIGINT,
            rows_sampled BIGINT,
            minimal BOOLEAN,
            html VARCHAR NOT NULL,
            PRIMARY KEY (source_id, version))""",
        """CREATE TABLE meta.audit_log (
            logged_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
            action VARCHAR NOT NULL,
            detail VARCHAR)""",
    ),
    (
        "CREATE SCHEMA IF NOT EXISTS match",
        """CREATE TABLE meta.match_settings (
            settings_id INTEGER PRIMARY KEY,
            user_settings VARCHAR NOT NULL,
            updated_at TIMESTAMP NOT NULL DEFAULT current_timestamp)""",
        """CREATE TABLE meta.match_models (
            model_id INTEGER PRIMARY KEY,
            created_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
            splink_settings VARCHAR NOT NULL,
            threshold DOUBLE NOT NULL,
            trained_with_labels BOOLEAN NOT NULL DEFAULT false,
            note VARCHAR,
            is_current BOOLEAN NOT NULL DEFAULT false)""",
        """CREATE TABLE meta.match_labels (
            unique_id_l VARCHAR NOT NULL,
            unique_id_r VARCHAR NOT NULL,
            label VARCHAR NOT NULL,
            labelled_by VARCHAR,
            labelled_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
            PRIMARY KEY (unique_id_l, unique_id_r))""",
        """CREATE TABLE meta.blocked_values (
            field VARCHAR NOT NULL,
            value VARCHAR NOT NULL,
            reason VARCHAR NOT NULL,
            detected BOOLEAN NOT NULL,
            PRIMARY KEY (field, value))""",
        """CREATE TABLE meta.never_link (
            unique_id_l VARCHAR NOT NULL,
            unique_id_r VARCHAR NOT NULL,
            reason VARCHAR,
            added_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
            PRIMARY KEY (unique_id_l, unique_id_r))""",
        """CREATE TABLE meta.match_runs (
            run_id INTEGER PRIMARY KEY,
            started_at TIMESTAMP NOT NULL,
            finished_at TIMESTAMP,
            model_id INTEGER,
            threshold DOUBLE,
            records BIGINT,
            pairs BIGINT,
            clusters BIGINT)""",
    ),
    (
        # Version numbers are never reused, even after the latest version is dropped, so a
        # number always means one file.
        "ALTER TABLE meta.sources ADD COLUMN last_version INTEGER NOT NULL DEFAULT 0",
        """UPDATE meta.sources s SET last_version = coalesce((SELECT max(v.version)
            FROM meta.source_versions v WHERE v.source_id = s.source_id), 0)""",
    ),
    (
        # Reviewers' decisions on clusters, re-applied after every matching run: splits and
        # "never merge" become never-link pairs, merges and confirmations must-link pairs,
        # each pair tagged with the decision that made it so an undo removes exactly those.
        "CREATE SCHEMA IF NOT EXISTS golden",
        """CREATE TABLE meta.cluster_decisions (
            decision_id INTEGER PRIMARY KEY,
            kind VARCHAR NOT NULL,
            records VARCHAR[] NOT NULL,
            cluster_id VARCHAR,
            reason VARCHAR,
            decided_by VARCHAR,
            decided_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
            active BOOLEAN NOT NULL DEFAULT true,
            undone_at TIMESTAMP)""",
        "ALTER TABLE meta.never_link ADD COLUMN decision_id INTEGER",
        """CREATE TABLE meta.must_link (
            unique_id_l VARCHAR NOT NULL,
            unique_id_r VARCHAR NOT NULL,
            decision_id INTEGER NOT NULL,
            PRIMARY KEY (unique_id_l, unique_id_r, decision_id))""",
        """CREATE TABLE meta.golden_settings (
            settings_id INTEGER PRIMARY KEY,
            rules VARCHAR NOT NULL,
            updated_at TIMESTAMP NOT NULL DEFAULT current_timestamp)""",
        """CREATE TABLE meta.golden_builds (
            build_id INTEGER PRIMARY KEY,
            run_id INTEGER,
            built_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
            profiles BIGINT NOT NULL,
            seconds DOUBLE)""",
    ),
    (
        # Activate and Measure: computed traits, segments and their members, predictive models,
        # the use-case library as edited in the app, KPI snapshots, and small settings (marketing
        # pressure, prioritisation weights, platform costs) as JSON under a key.
        "CREATE SCHEMA IF NOT EXISTS segments",
        """CREATE TABLE meta.settings (
            key VARCHAR PRIMARY KEY,
            value VARCHAR NOT NULL,
            updated_at TIMESTAMP NOT NULL DEFAULT current_timestamp)""",
        """CREATE TABLE meta.trait_definitions (
            name VARCHAR PRIMARY KEY,
            definition VARCHAR NOT NULL,
            created_by VARCHAR,
            created_at TIMESTAMP NOT NULL DEFAULT current_timestamp)""",
        """CREATE TABLE meta.trait_refreshes (
            refresh_id INTEGER PRIMARY KEY,
            refreshed_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
            build_id INTEGER,
            reference_at TIMESTAMP,
            people BIGINT NOT NULL,
            seconds DOUBLE)""",
        """CREATE TABLE meta.segments (
            segment_id INTEGER PRIMARY KEY,
            name VARCHAR NOT NULL UNIQUE,
            description VARCHAR,
            rule VARCHAR NOT NULL,
            mode VARCHAR NOT NULL,
            channel VARCHAR,
            use_case VARCHAR,
            created_by VARCHAR,
            created_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
            updated_at TIMESTAMP NOT NULL DEFAULT current_timestamp)""",
        """CREATE TABLE segments.members (
            segment_id INTEGER NOT NULL,
            person_id VARCHAR NOT NULL)""",
        """CREATE TABLE meta.segment_sizes (
            segment_id INTEGER NOT NULL,
            refreshed_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
            size BIGINT NOT NULL,
            base BIGINT NOT NULL,
            reachable_email BIGINT,
            reachable_sms BIGINT)""",
        """CREATE TABLE meta.segment_exports (
            export_id INTEGER PRIMARY KEY,
            segment_id INTEGER NOT NULL,
            exported_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
            channel VARCHAR,
            file_format VARCHAR,
            hashed BOOLEAN NOT NULL,
            rows BIGINT NOT NULL,
            excluded_consent BIGINT NOT NULL,
            excluded_pressure BIGINT NOT NULL,
            exported_by VARCHAR)""",
        """CREATE TABLE meta.models (
            model_id INTEGER PRIMARY KEY,
            kind VARCHAR NOT NULL,
            trained_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
            params VARCHAR NOT NULL,
            metrics VARCHAR NOT NULL,
            model BLOB,
            active BOOLEAN NOT NULL DEFAULT true)""",
        """CREATE TABLE meta.use_cases (
            use_case_id VARCHAR PRIMARY KEY,
            definition VARCHAR NOT NULL,
            status VARCHAR NOT NULL DEFAULT 'idea',
            activated_at DATE,
            updated_by VARCHAR,
            updated_at TIMESTAMP NOT NULL DEFAULT current_timestamp)""",
        """CREATE TABLE meta.kpi_snapshots (
            snapshot_id INTEGER PRIMARY KEY,
            use_case_id VARCHAR NOT NULL,
            kpi VARCHAR NOT NULL,
            measured_at DATE NOT NULL,
            value DOUBLE NOT NULL,
            target DOUBLE,
            origin VARCHAR NOT NULL,
            note VARCHAR,
            entered_by VARCHAR,
            recorded_at TIMESTAMP NOT NULL DEFAULT current_timestamp)""",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)
CATALOG = "ws"
MEMORY_LIMIT = os.environ.get("CDP_MEMORY_LIMIT", "1536MB")

_LOCK_PID = re.compile(r"\(PID (\d+)\)")


class Workspace:
    """A DuckDB workspace file: cursors for reads, transactions for writes."""

    def __init__(self, path: str, connection: duckdb.DuckDBPyConnection) -> None:
        self.path = path
        self._connection = connection
        self._write_lock = threading.RLock()

    @classmethod
    def open(cls, path: str | Path, *, read_only: bool = False) -> Workspace:
        """Open (creating if needed) and migrate the workspace at ``path``.

        Raises:
            WorkspaceLockedError: another process has the file open.
            WorkspaceVersionError: the file comes from a newer release.
        """
        path = str(path)
        if path != ":memory:" and not read_only:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # The file is attached under a fixed name, so a workspace called meta.duckdb or
        # demo.duckdb never collides with the schemas inside it.
        connection = duckdb.connect(":memory:", config={"memory_limit": MEMORY_LIMIT})
        try:
            mode = " (READ_ONLY)" if read_only else ""
            connection.execute(f"ATTACH ? AS {CATALOG}{mode}", [path])
            connection.execute(f"USE {CATALOG}")
            if path != ":memory:":
                connection.execute("SET temp_directory = ?", [f"{path}.tmp"])
        except duckdb.IOException as exc:
            connection.close()
            if "lock" in str(exc).lower():
                pid = _LOCK_PID.search(str(exc))
                holder = f" by process {pid.group(1)}" if pid else ""
                raise WorkspaceLockedError(
                    f"workspace {path} is open elsewhere{holder}: close the app or command "
                    "using it, or work on a copy of the file"
                ) from None
            raise
        workspace = cls(path, connection)
        if not read_only:
            workspace._migrate()
        elif workspace.schema_version != SCHEMA_VERSION:
            raise WorkspaceVersionError(
                f"workspace {path} has schema version {workspace.schema_version}; "
                "open it once read-write to migrate it"
            )
        return workspace

    @property
    def schema_version(self) -> int:
        """The version the file is at (0 for an empty file)."""
        cur = self.cursor()
        exists = cur.execute(
            "SELECT count(*) FROM duckdb_tables() "
            "WHERE database_name = current_database() AND schema_name = 'meta' "
            "AND table_name = 'schema_version'"
        ).fetchone()[0]
        if not exists:
            return 0
        query = "SELECT coalesce(max(version), 0) FROM meta.schema_version"
        return cur.execute(query).fetchone()[0]

    def _migrate(self) -> None:
        current = self.schema_version
        if current > SCHEMA_VERSION:
            raise WorkspaceVersionError(
                f"workspace {self.path} was written by a newer workbench (schema {current}, "
                f"this release knows {SCHEMA_VERSION}): upgrade the workbench"
            )
        for version in range(current + 1, SCHEMA_VERSION + 1):
            with self.transaction() as cur:
                for statement in MIGRATIONS[version - 1]:
                    cur.execute(statement)
                cur.execute("INSERT INTO meta.schema_version (version) VALUES (?)", [version])

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A new cursor: use one per query or per thread (connections are not thread-safe)."""
        cur = self._connection.cursor()
        cur.execute(f"USE {CATALOG}")
        return cur

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """Run several writes atomically: commit on success, roll back on any error.

        Writers in this process are serialised so two threads never conflict mid-write.
        """
        with self._write_lock:
            cur = self.cursor()
            cur.begin()
            try:
                yield cur
            except BaseException:
                cur.rollback()
                raise
            else:
                cur.commit()
            finally:
                cur.close()

    def audit(self, cur: duckdb.DuckDBPyConnection, action: str, detail: str = "") -> None:
        """Record an action in the audit log; ``detail`` must hold no personal data."""
        cur.execute("INSERT INTO meta.audit_log (action, detail) VALUES (?, ?)", [action, detail])

    def close(self) -> None:
        """Checkpoint and release the file so another process may open it."""
        self._connection.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
