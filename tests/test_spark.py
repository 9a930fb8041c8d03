"""The Spark engine: one saved model gives the same clusters on DuckDB and on Spark (local
mode), the clusters come back into the workspace as a DuckDB run's would, and the
standardisation rules give the same values on both engines."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import duckdb
import pandas as pd
import pytest

from cdp_core import catalog, clusters, golden, matching, offload, standardize
from cdp_core.__main__ import main
from cdp_core.demo import build_demo
from cdp_core.workspace import Workspace
from tests.conftest import snapshot

PEOPLE = 800


@pytest.fixture(scope="module")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """One local Spark session (2 cores, no UI, nothing downloaded) for the whole module."""
    from cdp_core import spark_engine

    session = spark_engine.spark_session("local[2]",
                                         scratch_dir=tmp_path_factory.mktemp("spark"))
    yield session
    session.stop()


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory, spark: object) -> SimpleNamespace:
    """The demo matched on DuckDB (model trained and saved to a file), its standardised
    records exported, and the same model file applied to them on Spark."""
    from cdp_core import spark_engine

    folder = tmp_path_factory.mktemp("spark_run")
    workspace = folder / "demo.duckdb"
    build_demo(workspace, n_people=PEOPLE)
    with Workspace.open(workspace) as ws:
        matching.run_match(ws)
        matching.save_model_json(matching.load_model(ws.cursor()), folder / "model.json")
        offload.export_standardised(ws, folder / "std")
    model = matching.load_model_json(folder / "model.json")
    result = spark_engine.match_parquet(model, folder / "std", folder / "out", spark=spark)
    return SimpleNamespace(workspace=workspace, model=folder / "model.json", std=folder / "std",
                           out=folder / "out", result=result, folder=folder)


def _memberships(rows: list[tuple[str, str]]) -> set[frozenset[str]]:
    """Clusters as sets of unique_ids, whatever their ids."""
    found: dict[str, set[str]] = {}
    for unique_id, cluster_id in rows:
        found.setdefault(cluster_id, set()).add(unique_id)
    return {frozenset(members) for members in found.values()}


def _spark_clusters(out: Path) -> list[tuple[str, str]]:
    return duckdb.connect().execute(
        "SELECT unique_id, cluster_id FROM read_parquet(?)",
        [str(out / offload.CLUSTERS_DIR / "*.parquet")]).fetchall()


def test_spark_and_duckdb_runs_of_one_model_give_the_same_clusters(run: SimpleNamespace) -> None:
    with Workspace.open(run.workspace, read_only=True) as ws:
        duck = ws.cursor().execute("SELECT unique_id, cluster_id FROM match.clusters").fetchall()
        last = matching.last_run(ws.cursor())
    sparked = _spark_clusters(run.out)
    assert len(sparked) == len(duck) == last.records
    assert _memberships(sparked) == _memberships(duck)
    assert set(sparked) == set(duck)  # the same stable ids too
    assert any(len(members) > 2 for members in _memberships(duck))  # real merging happened
    assert (run.result.clusters, run.result.pairs) == (last.clusters, last.pairs)


def test_spark_writes_the_pairs_a_duckdb_run_stores(run: SimpleNamespace) -> None:
    with Workspace.open(run.workspace, read_only=True) as ws:
        duck = ws.cursor().execute("SELECT unique_id_l, unique_id_r, decided_by, "
                                   "round(match_probability, 9) FROM match.predictions"
                                   ).fetchall()
    sparked = duckdb.connect().execute(
        "SELECT unique_id_l, unique_id_r, decided_by, round(match_probability, 9) "
        "FROM read_parquet(?)", [str(run.out / offload.PAIRS_DIR / "*.parquet")]).fetchall()
    assert sorted(sparked) == sorted(duck)


def test_import_clusters_reapplies_decisions_then_profiles_build_and_check_passes(
        run: SimpleNamespace, tmp_path: Path) -> None:
    spark_copy, duck_copy = tmp_path / "spark.duckdb", tmp_path / "duck.duckdb"
    for copy in (spark_copy, duck_copy):
        shutil.copyfile(run.workspace, copy)
        with Workspace.open(copy) as ws:  # a reviewer splits one record out of a big cluster
            cur = ws.cursor()
            big = cur.execute("SELECT cluster_id FROM match.clusters GROUP BY cluster_id "
                              "ORDER BY count(*) DESC, cluster_id LIMIT 1").fetchone()[0]
            record = cur.execute("SELECT max(unique_id) FROM match.clusters WHERE cluster_id = ?",
                                 [big]).fetchone()[0]
            clusters.split_out(ws, record, reason="test")
    with Workspace.open(duck_copy) as ws:  # what a DuckDB run of the model gives
        matching.predict(ws, matching.load_model_json(run.model))
        expected = ws.cursor().execute("SELECT * FROM match.clusters ORDER BY unique_id").fetchall()

    assert main(["import-clusters", str(spark_copy), str(run.out)]) == 0

    with Workspace.open(spark_copy) as ws:
        cur = ws.cursor()
        assert cur.execute("SELECT * FROM match.clusters ORDER BY unique_id").fetchall() == expected
        alone = cur.execute("SELECT count(*) FROM match.clusters WHERE cluster_id = "
                            "(SELECT cluster_id FROM match.clusters WHERE unique_id = ?)",
                            [record]).fetchone()[0]
        assert alone == 1  # the split survived the import
        runs = cur.execute("SELECT count(*) FROM meta.match_runs").fetchone()[0]
        assert runs == 2
        n_clusters = cur.execute("SELECT count(DISTINCT cluster_id) FROM match.clusters"
                                 ).fetchone()[0]
        assert cur.execute("SELECT count(*) FROM golden.profiles").fetchone()[0] == n_clusters
        assert not golden.is_stale(cur)
        assert catalog.consistency_problems(cur) == []
        rebuilt = golden.build(ws)
        assert rebuilt.profiles == n_clusters
    assert main(["check", str(spark_copy)]) == 0


# --------------------------------------------------------------------------- standardisation

NASTY = {
    "first_name": ["Éloïse", "jean-pierre", "JOSÉ", "d'Artagnan", "  Anaïs ", "", None, "Œdipe",
                   "ÇA", "Zoë-Ève", "Søren", "Łukasz", "ŠTĚPÁN", "Jean\u00a0Paul", "e\u0301lise"],
    "last_name": ["O'Brien", "LE  GALL", "de la Fontaine", "Müller", "Dupont-Aignan", "", None,
                  "N’Guyen", "Strauß", "Ærø", "Ōtsuka", "-", "Dąbrowski", "  ", "MC\tCARTHY"],
    "email": ["Jean.Dupont+promo@Gmail.com", "  MARIE@EXAMPLE.FR ", "bad@", "", None,
              "o'hara@mail.ie", "a@b.c", "x.y+z+w@sub.domain.org", "ÉLO@exemple.fr",
              "jean..dupont@x.fr", "j@x.fr", "J@X.FR", "test@test.com", "a b@c.fr", "@x.fr"],
    "phone": ["+33 6 12 34 56 78", "06.12.34.56.78", "0612345678", "612345678", "6.12345678E8",
              "612345678.0", "0033612345678", "+44 20 7946 0958", "", None, "12345",
              "0690000000", "+1 (212) 555-0100", "06 12 34 56 78\u00a0", "33612345678"],
    "birth_date": ["05/03/1980", "1980-03-05", "19800305", "5/3/1980", "31/02/1980", "", None,
                   "1850-01-01", "05-03-1980", "05.03.1980", "2999-01-01", "1980-3-5",
                   "not a date", "29/02/2000", "1980-03-05T00:00:00"],
    "civility": ["M.", "Mme", "MADAME", "mlle", "Monsieur", "", None, "Dr", "Mrs", "m", "MME.",
                 "Ms", "miss", "Mademoiselle", "MR"],
    "city": ["ST-ÉTIENNE CEDEX 2", "Paris", "saint-ouen", "", None, "L'Haÿ-les-Roses", "Ste-Foy",
             "LYON 03", "Aix-en-Provence", "Besançon", "Œting", "Évry", "  nice  ", "CEDEX", "Ô"],
    "postcode": ["75001", "1000", "75 001", "750", "00100", "", None, "75001.0", "13100",
                 "06000", "6000", "2A004", "59 000", "750011", "01000"],
    "country": ["France", "fr", "FRA", "Royaume-Uni", "Belgique", "", None, "Deutschland", "usa",
                "xx", "La Réunion", "ESPAÑA", "Suisse", "GB", "pays-bas"],
    "full_name": ["DUPONT Jean", "Jean-Pierre LE GALL", "Dupont, Marie", "M. Jean Dupont",
                  "Madonna", "", None, "DE LA FONTAINE Marie", "anne-sophie martin",
                  "Mme Élise O'Neil", "LÉA", "x y z", "Ève Dupont-Aignan", "  ", "Mr"],
    "consent_email": ["oui", "NON", "y", "1", "0", "", None, "vrai", "peut-être", "TRUE", "n",
                      "faux", "Yes", "no", "o"],
    "created_at": ["2020-03-05T10:11:12", "05/03/2020 10:11:12", "20200305",
                   "2020-03-05T10:11:12+02:00", "2020-03-05 10:11:12Z", "", None, "5/3/2020 9:05",
                   "31/02/2020", "2020-03-05", "05-03-2020 10:11", "garbage", "2020-13-01",
                   "2020-03-05 10:11:12.5", "05.03.2020"],
}
# Display forms (not keys) of letters whose upper/lower case differs between DuckDB (utf8proc)
# and Java: DuckDB writes ß in upper case as ẞ, Java as SS. Their keys agree.
CASE_MAPPING_DIFFERENCES = {"ß"}
DISPLAY_COLUMNS = {"first_name", "last_name", "full_name", "city"}


def _demo_records(workspace: Path, per_source: int = 100) -> pd.DataFrame:
    """Raw demo profile records with canonical field names, record ids made unique."""
    frames = []
    with Workspace.open(workspace, read_only=True) as ws:
        cur = ws.cursor()
        for source in catalog.all_sources(cur):
            if source.kind != "profiles":
                continue
            raw, _ = catalog.table_names(source.source_id,
                                         catalog.current_version(cur, source.source_id))
            mapped = cur.execute("SELECT field, column_name FROM meta.mappings "
                                 "WHERE source_id = ?", [source.source_id]).fetchall()
            rows = cur.execute(f"SELECT * FROM {raw} LIMIT {per_source}").df()  # noqa: S608
            frame = pd.DataFrame({field: rows[column] for field, column in mapped})
            frame["record_id"] = f"{source.source_id}:" + frame["record_id"].astype(str)
            frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def test_standardisation_gives_the_same_values_on_spark_and_duckdb(
        run: SimpleNamespace, spark: object) -> None:
    from cdp_core import spark_engine

    nasty = pd.DataFrame({"record_id": [f"n{i}" for i in range(15)], **NASTY})
    records = pd.concat([_demo_records(run.workspace), nasty], ignore_index=True)
    records = records.astype(object).where(records.notna(), None)
    fields = list(records.columns)
    assert len(records) > 300
    columns = [c for c in standardize.output_columns() if c != "source"]
    as_text = ", ".join(f'CAST("{c}" AS VARCHAR) AS "{c}"' for c in columns)
    as_string = ", ".join(f"CAST(`{c}` AS STRING) AS `{c}`" for c in columns)

    con = duckdb.connect()
    con.register("records_frame", records)
    con.execute("CREATE TABLE raw_records AS SELECT * FROM records_frame")
    standardize.standardize_profiles(con, "raw_records", "std_records", fields)
    duck = con.execute(f"SELECT {as_text} FROM std_records ORDER BY record_id").df()  # noqa: S608

    frame = spark.createDataFrame(records[fields], ", ".join(f"`{f}` string" for f in fields))
    spark_engine.standardize_profiles(spark, frame, fields).createOrReplaceTempView("std_spark")
    sparked = spark.sql(f"SELECT {as_string} FROM std_spark ORDER BY record_id"  # noqa: S608
                        ).toPandas()

    assert list(duck["record_id"]) == list(sparked["record_id"])
    inputs = records.set_index("record_id").loc[duck["record_id"]]
    differences = []
    for column in columns:
        for row, (mine, theirs) in enumerate(zip(duck[column], sparked[column], strict=True)):
            if mine == theirs or (pd.isna(mine) and pd.isna(theirs)):
                continue
            source_text = " ".join(str(v) for v in inputs.iloc[row] if v is not None)
            if column in DISPLAY_COLUMNS and set(source_text) & CASE_MAPPING_DIFFERENCES:
                continue
            differences.append((column, inputs.index[row], mine, theirs))
    assert differences == []
    keys = ["email_key", "phone", "first_name_key", "last_name_key", "birth_date"]
    filled = duck[keys].notna().sum()
    assert (filled > 50).all()  # the comparison saw real values in every key
    by_id = duck.set_index("record_id")
    assert by_id.loc["n0", "phone"] == "+33612345678"  # "+33 6 12 34 56 78"
    assert by_id.loc["n1", "phone"] == "+33612345678"  # "06.12.34.56.78"
    assert by_id.loc["n7", "phone"] == "+442079460958"  # phonenumbers, through the UDF on Spark
    assert by_id.loc["n0", "birth_date"] == by_id.loc["n2", "birth_date"] == "1980-03-05"
    assert by_id.loc["n0", "first_name_key"] == "eloise"


def _typos(name: str) -> list[str]:
    """The one-typo variants people type: a letter dropped, doubled, replaced, two swapped."""
    if len(name) < 2:
        return []
    middle = len(name) // 2
    return [name[:middle] + name[middle + 1:], name[:middle] + name[middle] + name[middle:],
            name[:middle] + "e" + name[middle + 1:],
            name[:middle - 1] + name[middle] + name[middle - 1] + name[middle + 1:]]


# Pairs where halving transpositions exactly (Splink's Scala UDFs) and by integer division
# (DuckDB) fall on either side of a comparison level; accents, emoji, empty and NULL.
SIMILARITY_PAIRS = [("maie-france", "marie-france"), ("pscal", "pascal"), ("élodie", "elodie"),
                    ("zoé 😀", "zoe"), ("", ""), ("", "a"), (None, "anne"), (None, None)]


def test_string_similarities_score_as_duckdb_on_spark(run: SimpleNamespace,
                                                      spark: object) -> None:
    from cdp_core import spark_engine

    with Workspace.open(run.workspace, read_only=True) as ws:
        names = [row[0] for row in ws.cursor().execute(
            "SELECT DISTINCT first_name_key FROM match.records WHERE first_name_key IS NOT NULL "
            "UNION SELECT DISTINCT last_name_key FROM match.records "
            "WHERE last_name_key IS NOT NULL ORDER BY 1 LIMIT 400").fetchall()]
    pairs = SIMILARITY_PAIRS + [(name, typo) for name in names for typo in _typos(name)]
    frame = pd.DataFrame(pairs, columns=["a", "b"]).astype(object)
    frame = frame.where(frame.notna(), None)
    sql = ("SELECT a, b, jaro_winkler_similarity(a, b) AS jw, jaro_similarity(a, b) AS jaro, "
           "damerau_levenshtein(a, b) AS dl, levenshtein(a, b) AS lev FROM pairs")
    con = duckdb.connect()
    con.register("pairs", frame)
    duck = con.execute(sql).df()
    spark_engine.register_similarity_functions(spark)
    spark.createDataFrame(frame, "a string, b string").createOrReplaceTempView("pairs")
    sparked = spark.sql(spark_engine.to_spark_sql(sql)).toPandas()

    assert len(duck) > 1000
    for column in ["jw", "jaro", "dl", "lev"]:
        differing = [(a, b, mine, theirs) for a, b, mine, theirs in zip(
            duck["a"], duck["b"], duck[column], sparked[column], strict=True)
            if not (pd.isna(mine) and pd.isna(theirs))
            and (pd.isna(mine) or pd.isna(theirs) or mine != theirs)]
        assert differing == [], column
    assert duck["jw"].iloc[0] == pytest.approx(0.92929, abs=1e-5)  # above a 0.92 level
    assert duck["jw"].iloc[4] == 0.0 and pd.isna(duck["jw"].iloc[6])


# --------------------------------------------------------------------------- bad input


def _fails(argv: list[str], capsys: pytest.CaptureFixture[str], expected: str) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("error: ")
    assert expected in err


def test_bad_input_exits_2_with_one_line_and_changes_nothing(
        run: SimpleNamespace, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    workspace = tmp_path / "ws.duckdb"
    shutil.copyfile(run.workspace, workspace)
    with Workspace.open(workspace) as ws:
        before = snapshot(ws)
    empty = tmp_path / "empty"
    empty.mkdir()
    not_a_model = tmp_path / "not_a_model.json"
    not_a_model.write_text(json.dumps({"comparisons": []}), encoding="utf-8")
    ws, model = str(workspace), str(run.model)
    spark_match = ["match", ws, "--engine", "spark", "--model", model]

    _fails([*spark_match, "--input", str(tmp_path / "nowhere"), "--output", str(tmp_path / "o")],
           capsys, "no such directory")
    _fails([*spark_match, "--input", str(empty), "--output", str(tmp_path / "o")],
           capsys, "no manifest.json")
    _fails([*spark_match, "--input", str(run.out), "--output", str(tmp_path / "o")],
           capsys, "export WS standardised")  # a match output is not an export
    _fails(["match", ws, "--engine", "spark", "--model", str(not_a_model), "--input",
            str(run.std), "--output", str(tmp_path / "o")], capsys, "not a workbench matching")
    _fails(["match", ws, "--engine", "spark", "--input", str(run.std)], capsys, "--model")
    _fails(["match", ws, "--input", str(run.std)], capsys, "--engine spark")
    _fails(["import-clusters", ws, str(tmp_path / "nowhere")], capsys, "no such directory")
    _fails(["import-clusters", ws, str(empty)], capsys, "no manifest.json")
    _fails(["import-clusters", ws, str(run.std)], capsys, "--engine spark")
    _fails(["export", ws, "standardised", str(run.std)], capsys, "new or empty directory")
    assert not (tmp_path / "o").exists()
    with Workspace.open(workspace) as opened:
        assert snapshot(opened) == before


def test_an_interrupted_rerun_leaves_no_manifest_so_import_refuses_it(
        run: SimpleNamespace, spark: object, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from cdp_core import spark_engine

    out = tmp_path / "out"
    shutil.copytree(run.out, out)  # a finished run, about to be redone in place
    assert (out / offload.MANIFEST).is_file()

    def stop(*_args: object, **_kwargs: object) -> None:
        raise KeyboardInterrupt  # stopped after writing pairs and clusters, before the manifest

    monkeypatch.setattr(offload, "write_manifest", stop)
    with pytest.raises(KeyboardInterrupt):
        spark_engine.match_parquet(matching.load_model_json(run.model), run.std, out,
                                   spark=spark)
    assert not (out / offload.MANIFEST).exists()
    workspace = tmp_path / "ws.duckdb"
    shutil.copyfile(run.workspace, workspace)
    _fails(["import-clusters", str(workspace), str(out)], capsys, "no manifest.json")


def test_spark_without_java_says_so_in_one_line(run: SimpleNamespace, tmp_path: Path) -> None:
    env = {**os.environ, "JAVA_HOME": str(tmp_path / "no-java-here")}
    done = subprocess.run(
        [sys.executable, "-m", "cdp_core", "match", str(run.workspace), "--engine", "spark",
         "--model", str(run.model), "--input", str(run.std), "--output", str(tmp_path / "o")],
        capture_output=True, text=True, env=env, timeout=300, check=False)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [done.stderr.strip()]  # one line, no traceback
    assert "Java 17" in done.stderr and "JAVA_HOME" in done.stderr
    assert not (tmp_path / "o").exists()


def test_import_refuses_clusters_of_sources_that_changed(
        run: SimpleNamespace, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    workspace = tmp_path / "ws.duckdb"
    shutil.copyfile(run.workspace, workspace)
    with Workspace.open(workspace) as ws:
        with ws.transaction() as cur:  # as if a new version of a source had been ingested
            cur.execute("UPDATE meta.source_versions SET "
                        "version = version + 10 WHERE source_id = 1")
        before = snapshot(ws)
    _fails(["import-clusters", str(workspace), str(run.out)], capsys, "changed since")
    with Workspace.open(workspace) as ws:
        assert snapshot(ws) == before
