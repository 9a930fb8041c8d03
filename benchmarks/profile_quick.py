"""Benchmark of the profiling module on 1,000,000 realistic customer rows (16 columns).

Builds the table in a temporary DuckDB file, then prints the seconds taken by
``quick_profile`` (target: at most 3 s on 2 cores) and by ``full_report_html`` with its
defaults. Prints figures only, asserts nothing.

Usage:
    python benchmarks/profile_quick.py [rows]
"""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # runnable from anywhere
from cdp_core.profiling import full_report_html, quick_profile  # noqa: E402

QUICK_RUNS = 3

# pick(choices, i, salt): a deterministic pseudo-random element of a list for row i.
PICK_MACRO = """
CREATE TEMP MACRO pick(choices, i, salt) AS choices[1 + (hash(i, salt) % len(choices))::BIGINT]
"""
# hashed(i, salt, n): a deterministic pseudo-random integer in [0, n) for row i.
HASHED_MACRO = "CREATE TEMP MACRO hashed(i, salt, n) AS (hash(i, salt) % n)::BIGINT"

CUSTOMERS_SQL = """
CREATE TABLE customers AS
WITH people AS (
    SELECT i,
        pick(['Marie', 'Jean', 'Pierre', 'Michel', 'Sophie', 'Claire', 'Nicolas', 'Julie',
              'Thomas', 'Camille', 'Lucas', 'Emma', 'Louis', 'Chloé', 'Hugo', 'Léa'], i, 1)
            AS first_name,
        pick(['Martin', 'Bernard', 'Dubois', 'Thomas', 'Robert', 'Richard', 'Petit', 'Durand',
              'Leroy', 'Moreau', 'Simon', 'Laurent', 'Lefebvre', 'Michel', 'Garcia', 'David',
              'Bertrand', 'Roux', 'Vincent', 'Fournier'], i, 2) AS last_name
    FROM range(?) r(i)
)
SELECT
    'C' || lpad(i::VARCHAR, 8, '0') AS customer_id,
    first_name,
    upper(last_name) AS last_name,
    CASE WHEN hashed(i, 3, 20) = 0 THEN NULL
         ELSE lower(strip_accents(first_name) || '.' || last_name) || hashed(i, 4, 1000)::VARCHAR
              || '@' || pick(['gmail.com', 'orange.fr', 'free.fr', 'yahoo.fr', 'sfr.fr'], i, 5)
    END AS email,
    CASE WHEN hashed(i, 6, 10) = 0 THEN NULL
         ELSE '+33 ' || pick(['6', '7', '1'], i, 7) || ' '
              || lpad(hashed(i, 8, 100000000)::VARCHAR, 8, '0')
    END AS phone,
    DATE '1940-01-01' + hashed(i, 9, 25000)::INTEGER AS birth_date,
    (1 + hashed(i, 10, 250))::VARCHAR || ' '
        || pick(['rue de la République', 'avenue Jean Jaurès', 'boulevard Victor Hugo',
                 'place de la Mairie', 'chemin des Vignes'], i, 11) AS address,
    lpad((1000 + hashed(i, 12, 94000))::VARCHAR, 5, '0') AS postcode,
    pick(['Paris', 'Lyon', 'Marseille', 'Toulouse', 'Nice', 'Nantes', 'Lille', 'Rennes'], i, 13)
        AS city,
    'FR' AS country,
    TIMESTAMP '2015-01-01' + to_seconds(hashed(i, 14, 300000000)) AS created_at,
    (hashed(i, 15, 500000) / 100)::DECIMAL(10, 2) AS total_spent,
    hashed(i, 16, 120)::INTEGER AS order_count,
    hashed(i, 17, 3) = 0 AS optin_email,
    CASE WHEN hashed(i, 18, 4) = 0 THEN NULL ELSE pick(['F', 'M', 'X'], i, 19) END AS gender,
    pick(['web', 'store', 'app', 'partner'], i, 20) AS channel
FROM people
"""


def seconds(started: float) -> str:
    return f"{time.perf_counter() - started:6.2f} s"


def main(rows: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        con = duckdb.connect(str(Path(folder) / "bench.duckdb"))
        started = time.perf_counter()
        con.execute(PICK_MACRO)
        con.execute(HASHED_MACRO)
        con.execute(CUSTOMERS_SQL, [rows])
        width = len(con.execute("DESCRIBE customers").fetchall())
        print(f"table built: {rows:,} rows x {width} columns   {seconds(started)}")

        cur = con.cursor()
        for run in range(1, QUICK_RUNS + 1):
            started = time.perf_counter()
            quick_profile(cur, "customers")
            print(f"quick_profile, run {run}                    {seconds(started)}   (target 3 s)")

        started = time.perf_counter()
        report = full_report_html(cur, "customers", "Benchmark customers")
        print(
            f"full_report_html, defaults               {seconds(started)}   "
            f"(sample {report.rows_sampled:,} of {report.rows_total:,} rows, "
            f"minimal={report.minimal}, {len(report.html) / 1e6:.1f} MB of HTML)"
        )
        con.close()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
