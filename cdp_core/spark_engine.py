"""The same matching model, and the same standardisation rules, on Apache Spark.

A model tuned in the app on a sample is applied to a whole customer base on a Spark cluster
without being rewritten: the saved model file (`matching.TrainedModel`) holds Splink settings
in DuckDB SQL and the user's rules; `spark_model` rewrites every SQL fragment for Spark with
sqlglot, `match_parquet` scores and clusters the records `offload.export_standardised` wrote,
and `offload.import_clusters` brings the result back into the workspace.

One source of truth: every SQL text here is the one `cdp_core.standardize` and
`cdp_core.matching` build for DuckDB, rewritten by `to_spark_sql`. Where Spark has no
equivalent, the rewrite says how: ``strip_accents`` becomes ``translate`` over a table
generated from Unicode, ``jaro_winkler_similarity``, ``jaro_similarity`` and
``damerau_levenshtein`` pandas UDFs over rapidfuzz that score exactly as DuckDB does (Splink's
Scala UDFs round transpositions differently), RE2 replacement groups (``\\1``) Java's (``$1``),
full matches anchored patterns, ``try_strptime`` formats Java's. Phones SQL cannot decide go
to phonenumbers in a Python UDF, as `standardize` sends them to phonenumbers.

pyspark is imported by this module only, and only when a function needs it: the app and the
DuckDB engine never load it.
"""
from __future__ import annotations

import json
import logging
import os
import re
import shutil
import sys
import tempfile
import time
import unicodedata
import uuid
from collections.abc import Callable, Sequence
from copy import deepcopy
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import sqlglot
from sqlglot import exp

from cdp_core import offload
from cdp_core.clusters import cluster_id_sql
from cdp_core.errors import InputError
from cdp_core.matching import PREDICTION_FLOOR, TrainedModel, _edges_sql
from cdp_core.sqlutil import quote_ident
from cdp_core.standardize import phone_decided_sql, phone_e164, rowwise_profiles_sql

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

__all__ = [
    "MASTER_ENV", "SparkRunResult", "match_parquet", "register_similarity_functions",
    "spark_model", "spark_session", "standardize_profiles", "to_spark_sql",
]

MASTER_ENV = "CDP_SPARK_MASTER"  # e.g. spark://host:7077, yarn, local[8]
CHECKPOINT_ENV = "CDP_SPARK_CHECKPOINT_DIR"  # shared storage (hdfs://, s3a://) on a cluster
LOCAL_SHUFFLE_PARTITIONS = 4
LOCAL_DRIVER_MEMORY = "2g"
# strip_accents: Latin letters with diacritics (Latin-1 to Latin Extended Additional) and the
# combining marks, generated from Unicode as DuckDB's strip_accents decomposes them.
_ACCENT_RANGES = ((0x00C0, 0x0250), (0x1E00, 0x1F00))
_COMBINING_MARKS = range(0x0300, 0x0370)
_STRPTIME_TO_JAVA = {"%Y": "yyyy", "%m": "MM", "%d": "dd", "%H": "HH", "%M": "mm", "%S": "ss"}
_VARIABLE_WIDTH = {"dd": "d", "MM": "M", "HH": "H"}  # DuckDB reads 5/3/2020 with %d/%m/%Y


def _accent_table() -> tuple[str, str]:
    """(from, to) of ``translate``: each accented letter and its base letter, then the
    combining marks, which have no counterpart and are dropped."""
    accented, base = [], []
    for start, end in _ACCENT_RANGES:
        for code in range(start, end):
            letter = chr(code)
            bare = "".join(c for c in unicodedata.normalize("NFD", letter)
                           if not unicodedata.combining(c))
            if len(bare) == 1 and bare != letter:
                accented.append(letter)
                base.append(bare)
    marks = "".join(chr(code) for code in _COMBINING_MARKS)
    return "".join(accented) + marks, "".join(base)


_ACCENTS_FROM, _ACCENTS_TO = _accent_table()


# --------------------------------------------------------------------------- DuckDB SQL -> Spark


def _java_replacement(text: str) -> str:
    """An RE2 replacement (``\\1``) as Java writes it (``$1``); a literal ``$`` escaped."""
    return re.sub(r"\\(\d)", r"$\1", text.replace("$", "\\$"))


def _java_date_format(strptime: str) -> str:
    """A strptime format as a Java pattern; day, month and hour of one or two digits when
    separators delimit them, as DuckDB reads them."""
    java = re.sub(r"%[YmdHMS]", lambda m: _STRPTIME_TO_JAVA[m[0]], strptime)
    if re.search(r"%[YmdHMS]%[YmdHMS]", strptime):
        return java
    return re.sub(r"dd|MM|HH", lambda m: _VARIABLE_WIDTH[m[0]], java)


def _literal(node: exp.Expression | None) -> str:
    """The text of a string literal argument; rules only pass constants there."""
    if not isinstance(node, exp.Literal) or not node.is_string:
        raise ValueError(f"expected a string literal, got {node}")
    return node.this


def _to_spark(node: exp.Expression) -> exp.Expression:
    """One DuckDB construct rewritten for Spark (sqlglot's own dialect rules do the rest)."""
    name = node.name.lower() if isinstance(node, exp.Anonymous) else ""
    if isinstance(node, exp.RegexpFullMatch):  # RLIKE finds: anchor the whole pattern
        anchored = f"^(?:{_literal(node.expression)})\\z"
        return exp.RegexpLike(this=node.this, expression=exp.Literal.string(anchored))
    if isinstance(node, exp.RegexpReplace):
        replacement = exp.Literal.string(_java_replacement(_literal(node.args["replacement"])))
        return exp.RegexpReplace(this=node.this, expression=node.expression,
                                 replacement=replacement)
    if isinstance(node, exp.RegexpExtract) and isinstance(node.args.get("group"), exp.Array):
        # Named groups make a struct; Spark's structs match by position: fields sorted by name.
        names = [_literal(group) for group in node.args["group"].expressions]
        fields: list[exp.Expression] = []
        for index, field in sorted(enumerate(names, start=1), key=lambda pair: pair[1]):
            fields += [exp.Literal.string(field), exp.RegexpExtract(
                this=node.this.copy(), expression=node.expression.copy(),
                group=exp.Literal.number(index))]
        return exp.Anonymous(this="named_struct", expressions=fields)
    if isinstance(node, exp.Struct):
        return exp.Struct(expressions=sorted(node.expressions, key=lambda field: field.name))
    if isinstance(node, exp.JarowinklerSimilarity):
        return exp.Anonymous(this=_SIMILARITY_PREFIX + "jaro_winkler_similarity",
                             expressions=[node.this, node.expression])
    if name in _SIMILARITY_SCORERS:
        return exp.Anonymous(this=_SIMILARITY_PREFIX + name, expressions=node.expressions)
    if name == "strip_accents":
        return exp.Anonymous(this="translate", expressions=[
            *node.expressions, exp.Literal.string(_ACCENTS_FROM),
            exp.Literal.string(_ACCENTS_TO)])
    if name == "try_strptime":
        text, form = node.expressions
        return exp.Anonymous(this="try_to_timestamp", expressions=[
            text, exp.Literal.string(_java_date_format(_literal(form)))])
    if name == "timezone":  # the session time zone is UTC: the instant is already in UTC
        return node.expressions[1]
    if (isinstance(node, exp.Bracket) and isinstance(node.this, exp.Array)
            and len(node.expressions) == 1 and isinstance(node.expressions[0], exp.Anonymous)
            and node.expressions[0].name.lower() == "list_position"):
        keys, key = node.expressions[0].expressions  # a lookup table: a map, NULL if absent
        return exp.Anonymous(this="try_element_at", expressions=[
            exp.Anonymous(this="map_from_arrays", expressions=[keys, node.this]), key])
    if isinstance(node, exp.DataType):
        if node.is_type(exp.DataType.Type.INT128):
            return exp.DataType.build("DECIMAL(38, 0)")
        if node.is_type(exp.DataType.Type.TIMESTAMP):  # session time zone UTC: same instant
            return exp.DataType.build("TIMESTAMPTZ")
    return node


def to_spark_sql(duckdb_sql: str) -> str:
    """DuckDB SQL built by cdp_core (rules, pairs, clusters) rewritten for Spark SQL.

    Example:
        >>> to_spark_sql("regexp_full_match(x, '\\\\d{8}')")
        "x RLIKE '^(?:\\\\\\\\d{8})\\\\\\\\z'"
    """
    tree = sqlglot.parse_one(duckdb_sql, read="duckdb")
    for node in reversed(list(tree.dfs())):  # children first: a rewrite sees rewritten args
        rewritten = _to_spark(node)
        if rewritten is node:
            continue
        if node is tree:
            tree = rewritten
        else:
            node.replace(rewritten)
    return tree.sql(dialect="spark")


def spark_model(splink_model: dict[str, Any]) -> dict[str, Any]:
    """A trained Splink model (DuckDB dialect, as the workbench saves it) for Spark: every
    comparison level's condition and blocking rule rewritten; the parameters untouched."""
    model = deepcopy(splink_model)
    model["sql_dialect"] = "spark"
    for rule in model.get("blocking_rules_to_generate_predictions", []):
        rule["blocking_rule"] = to_spark_sql(rule["blocking_rule"])
        rule["sql_dialect"] = "spark"
    for comparison in model["comparisons"]:
        for level in comparison["comparison_levels"]:
            if level["sql_condition"].strip().upper() != "ELSE":
                level["sql_condition"] = to_spark_sql(level["sql_condition"])
    return model


# --------------------------------------------------------------------------- string similarity

# DuckDB's string similarities (code points, transpositions halved by integer division) as
# rapidfuzz computes them, which is the library DuckDB's own come from. Splink's Scala UDFs
# halve transpositions exactly, so a name with one typo can fall in another comparison level.
_SIMILARITY_PREFIX = "cdp_"
_SIMILARITY_SCORERS = {  # DuckDB function: (rapidfuzz scorer name, Spark type)
    "jaro_winkler_similarity": ("JaroWinkler", "double"),
    "jaro_similarity": ("Jaro", "double"),
    "damerau_levenshtein": ("DamerauLevenshtein", "long"),
}


def _pairwise(scorer_name: str, kind: str) -> Callable[[pd.Series, pd.Series], pd.Series]:
    """A vectorised pandas function scoring ``left[i]`` against ``right[i]`` as DuckDB does:
    NULL when either side is NULL, and 0 for the Jaro similarities of two empty strings.
    It closes over names only: Spark pickles it to its Python workers."""

    def score(left: pd.Series, right: pd.Series) -> pd.Series:
        import numpy as np
        from rapidfuzz import distance, process

        metric = getattr(distance, scorer_name)
        both = left.notna() & right.notna()
        values = process.cpdist(
            left[both].tolist(), right[both].tolist(), workers=1,
            scorer=metric.distance if kind == "long" else metric.similarity,
            dtype=np.int64 if kind == "long" else np.float64)
        out = pd.Series(pd.NA, index=left.index, dtype="Int64" if kind == "long" else "Float64")
        out[both] = values
        if kind == "double":
            out[both & (left == "") & (right == "")] = 0.0
        return out

    return score


def register_similarity_functions(spark: SparkSession) -> None:
    """Register DuckDB's string similarities under the names `to_spark_sql` writes
    (``cdp_jaro_winkler_similarity``...), as pandas UDFs over rapidfuzz."""
    from pyspark.sql.functions import pandas_udf

    for duckdb_name, (scorer_name, kind) in _SIMILARITY_SCORERS.items():
        spark.udf.register(_SIMILARITY_PREFIX + duckdb_name,
                           pandas_udf(_pairwise(scorer_name, kind), kind))


# --------------------------------------------------------------------------- the session


def _quiet_codegen_fallback(spark: SparkSession) -> None:
    """Silence the stack trace Spark logs when Splink's wide comparison expressions outgrow
    Java's method size and Spark falls back to interpreting them (results are the same)."""
    jvm = spark.sparkContext._jvm  # noqa: SLF001 - log4j is only reachable through the gateway
    level = jvm.org.apache.logging.log4j.Level.OFF
    jvm.org.apache.logging.log4j.core.config.Configurator.setLevel(
        "org.apache.spark.sql.catalyst.expressions.codegen.CodeGenerator", level)


def _is_local(master: str | None) -> bool:
    """Local mode: a local master, or none given here nor in ``PYSPARK_SUBMIT_ARGS``."""
    if master is None:
        return "--master" not in os.environ.get("PYSPARK_SUBMIT_ARGS", "")
    return master.startswith("local")


def _missing_java() -> str | None:
    """Why Spark's JVM cannot start here, or None: JAVA_HOME without a java, or no java."""
    home = os.environ.get("JAVA_HOME")
    if home:
        found = (Path(home) / "bin" / "java").is_file()
        return None if found else f"JAVA_HOME={home} holds no bin/java"
    return None if shutil.which("java") else "no java on the PATH and no JAVA_HOME"


def spark_session(master: str | None = None, *, scratch_dir: str | Path | None = None,
                  conf: dict[str, str] | None = None) -> SparkSession:
    """The active Spark session, or a new one set up for the workbench.

    The master is ``master``, else ``$CDP_SPARK_MASTER``, else what standard Spark
    configuration says (``spark-defaults.conf``, ``PYSPARK_SUBMIT_ARGS``), else local mode.
    Always: Splink's similarity UDF jar from its wheel (no download) and UTC as the session
    time zone (dates parse as in DuckDB). In local mode, no UI, few shuffle partitions, 2 GB
    of driver memory and scratch space under ``scratch_dir`` (a temporary directory by
    default). Checkpoints go to ``$CDP_SPARK_CHECKPOINT_DIR``, which a cluster needs on
    shared storage, or under the scratch directory in local mode.

    Raises:
        InputError: a cluster master without a checkpoint directory.
    """
    from pyspark.sql import SparkSession
    from splink.backends.spark import similarity_jar_location

    spark = SparkSession.getActiveSession()
    if spark is None:
        master = master or os.environ.get(MASTER_ENV)
        builder = SparkSession.builder.appName("cdp-workbench")
        if master:
            builder = builder.master(master)
        settings = {"spark.jars": similarity_jar_location(), "spark.sql.session.timeZone": "UTC"}
        if _is_local(master):
            os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # loopback only, no network
            os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # workers: this Python
            scratch = Path(scratch_dir or tempfile.mkdtemp(prefix="cdp-spark-"))
            settings |= {"spark.ui.enabled": "false", "spark.ui.showConsoleProgress": "false",
                         "spark.driver.memory": LOCAL_DRIVER_MEMORY,
                         "spark.sql.shuffle.partitions": str(LOCAL_SHUFFLE_PARTITIONS),
                         "spark.local.dir": str(scratch / "local")}
        for key, value in (settings | (conf or {})).items():
            builder = builder.config(key, value)
        missing = _missing_java()
        if missing:
            raise InputError(f"Spark needs Java 17 and finds none ({missing}): install it "
                             "(Debian: apt-get install openjdk-17-jre-headless) or set JAVA_HOME")
        spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    _quiet_codegen_fallback(spark)
    spark.conf.set("spark.sql.session.timeZone", "UTC")
    checkpoint = os.environ.get(CHECKPOINT_ENV)
    if checkpoint:
        spark.sparkContext.setCheckpointDir(checkpoint)
    elif not spark.sparkContext.getCheckpointDir():
        if not _is_local(spark.sparkContext.master):
            raise InputError(f"set {CHECKPOINT_ENV} to a directory every Spark executor can "
                             "reach (hdfs://..., s3a://...)")
        spark.sparkContext.setCheckpointDir(tempfile.mkdtemp(prefix="cdp-spark-checkpoints-"))
    return spark


# --------------------------------------------------------------------------- standardisation


def standardize_profiles(spark: SparkSession, frame: DataFrame,
                         fields: Sequence[str]) -> DataFrame:
    """Standardise profile records on Spark with `standardize`'s rules, row by row.

    Args:
        spark: the session.
        frame: text columns named by the canonical ``fields`` (record_id, first_name...).
        fields: the PROFILE_FIELDS present.

    Returns:
        record_id and the standardised profile columns of `standardize.output_columns`
        (without ``source``), as `standardize.standardize_profiles` computes them in DuckDB.
    """
    from pyspark.sql import functions as F  # noqa: N812
    from pyspark.sql.types import StringType

    view = f"__cdp_std_{uuid.uuid4().hex}"
    frame.createOrReplaceTempView(view)
    rows = spark.sql(to_spark_sql(rowwise_profiles_sql(quote_ident(view), fields)))
    undecided = F.col("phone").isNull() & F.col("phone_pre").isNotNull() & ~F.expr(
        to_spark_sql(phone_decided_sql("phone_pre")))
    decide = F.udf(phone_e164, StringType())
    phone = F.when(undecided, decide(F.col("phone_pre"))).otherwise(F.col("phone"))
    return rows.withColumn("phone", phone).drop("phone_pre")


# --------------------------------------------------------------------------- matching


@dataclass(frozen=True)
class SparkRunResult:
    """What a Spark matching run wrote."""

    records: int
    pairs: int  # links at or above the threshold
    clusters: int
    threshold: float
    seconds: float
    output: Path

    def summary(self) -> str:
        """One line for the command line (no personal data)."""
        return (f"{self.records:,} records in {self.clusters:,} clusters ({self.pairs:,} links "
                f"at threshold {self.threshold:.3g}) on Spark, {self.seconds:.1f} s; pairs and "
                f"clusters written to {self.output}")


def _view(frame: DataFrame, purpose: str) -> str:
    """Register ``frame`` under a fresh temporary view name."""
    name = f"__cdp_{purpose}_{uuid.uuid4().hex[:12]}"
    frame.createOrReplaceTempView(name)
    return name


def match_parquet(model: TrainedModel, input_dir: str | Path, output_dir: str | Path, *,
                  threshold: float | None = None, spark: SparkSession | None = None,
                  progress: offload.Progress | None = None) -> SparkRunResult:
    """Score and cluster exported standardised records on Spark with a saved model.

    As `matching.predict` on DuckDB: Splink scores the blocked pairs, deterministic rules link
    and guards veto, then records are clustered at the threshold (the model's by default) and
    given the workbench's stable cluster ids. Reviewers' decisions live in the workspace: they
    are applied when `offload.import_clusters` brings the pairs back.

    Writes ``pairs/`` (the columns of ``match.predictions``), ``clusters/`` (unique_id,
    source, record_id, cluster_id) and, last, ``manifest.json`` into ``output_dir``.

    Raises:
        InputError: no exported records in ``input_dir``, columns the model needs missing,
            a threshold outside (0, 1).
    """
    from splink import Linker
    from splink.backends.spark import SparkAPI
    from splink.clustering import cluster_pairwise_predictions_at_threshold

    report = progress or offload.quiet
    started = time.monotonic()
    threshold = model.threshold if threshold is None else threshold
    if not 0 < threshold < 1:
        raise InputError("the threshold is a match probability between 0 and 1")
    source = offload.read_manifest(input_dir, offload.STANDARDISED)
    used = model.settings.used_columns()
    missing = [c for c in used if c not in source["columns"]]
    if missing:
        raise InputError(f"the exported records have no column {missing[0]!r} the model "
                         "needs: export them again with the model's settings saved")
    output = Path(output_dir)
    if output.exists() and not output.is_dir():
        raise InputError(f"{output}: not a directory")
    # A previous run's manifest would vouch for pairs half rewritten if this run stopped.
    (output / offload.MANIFEST).unlink(missing_ok=True)
    report(0.02, "starting Spark")
    spark = spark or spark_session()
    db_api = SparkAPI(spark_session=spark, break_lineage_method="parquet")
    records = _view(spark.read.parquet(str(Path(input_dir) / offload.RECORDS_DIR))
                    .select(*used).persist(), "records")
    never = _view(spark.createDataFrame([], "unique_id_l string, unique_id_r string"), "never")
    report(0.1, "scoring pairs")
    register_similarity_functions(spark)
    nodes = db_api.register(records)
    linker = Linker(nodes, spark_model(model.splink_model))
    logging.getLogger("splink").setLevel(logging.ERROR)
    scored = linker.inference.predict(
        threshold_match_probability=min(threshold, PREDICTION_FLOOR))
    report(0.6, "applying rules and guards")
    edges_sql = _edges_sql(scored.physical_name, records, model.settings, model.splink_model,
                           never_link=never)
    pairs = spark.sql(to_spark_sql(edges_sql)).checkpoint()
    edges = _view(pairs, "pairs")
    report(0.75, "clustering")
    raw = cluster_pairwise_predictions_at_threshold(
        nodes, db_api.register(edges), db_api, node_id_column_name="unique_id",
        threshold_match_probability=threshold)
    smallest = "min(c.unique_id) OVER (PARTITION BY c.cluster_id)"
    clusters = spark.sql(to_spark_sql(
        f"SELECT c.unique_id, i.source_dataset AS source, i.record_id, "  # noqa: S608
        f"{cluster_id_sql(smallest)} AS cluster_id "
        f"FROM {raw.physical_name} c JOIN {records} i USING (unique_id)"))
    report(0.9, "writing pairs and clusters")
    pairs.write.mode("overwrite").parquet(str(output / offload.PAIRS_DIR))
    clusters.write.mode("overwrite").parquet(str(output / offload.CLUSTERS_DIR))
    written = spark.read.parquet(str(output / offload.CLUSTERS_DIR))
    n_records = written.count()
    n_clusters = written.select("cluster_id").distinct().count()
    n_pairs = spark.read.parquet(str(output / offload.PAIRS_DIR)).where(
        f"match_probability >= {float(threshold)}").count()
    offload.write_manifest(output, offload.MATCHED, {
        "threshold": threshold, "records": n_records, "pairs": n_pairs, "clusters": n_clusters,
        "engine": f"spark {spark.version}", "model": json.loads(model.to_json()),
        "input": source})
    for view in (records, never, edges):
        spark.catalog.dropTempView(view)
    report(1.0, "done")
    return SparkRunResult(n_records, n_pairs, n_clusters, threshold,
                          time.monotonic() - started, output)
