"""Seconds to standardise synthetic profiles (default 1,000,000 rows) with standardize_profiles.

The input is generated in DuckDB SQL: French names with accents and case noise, phones in five
written forms plus spreadsheet floats and junk, e-mails with tags, dates in three formats.

Run from the repository root:
    python -m benchmarks.standardize [--rows 1000000] [--threads 2]
"""
from __future__ import annotations

import argparse
import time

import duckdb

from cdp_core.standardize import PROFILE_FIELDS, standardize_profiles

_FIRST = ["Jean", "élodie", "MARIE-CLAIRE", "François", "chloé", "Jean-Pierre", "Zoé", "Noël"]
_LAST = ["Dupont", "LE GALL", "de la Fontaine", "MÜLLER", "N'Diaye", "Lefèvre", "O'Neil"]
_CITIES = ["Paris", "SAINT-ÉTIENNE", "st etienne", "Lyon 3e", "aix-en-provence", "Nîmes"]
_DOMAINS = ["gmail.com", "Orange.fr", "free.fr", "laposte.net", "example"]
_WORDS = ["oui", "NON", "o", "n", "1", "0", "yes", "peut-être"]

# Each column draws its own random() from a list given as a parameter.
_INPUT = """
CREATE TABLE bench_in AS
SELECT
    CAST(i AS VARCHAR) AS record_id,
    ['M.', 'Mme', 'Monsieur', 'madame', 'Mlle', 'Dr'][1 + i % 6] AS civility,
    CASE WHEN i % 5 <> 0 THEN $first[1 + floor(random() * len($first))::INTEGER] END AS first_name,
    CASE WHEN i % 5 <> 0 THEN $last[1 + floor(random() * len($last))::INTEGER] END AS last_name,
    CASE WHEN i % 5 = 0 THEN upper($last[1 + floor(random() * len($last))::INTEGER]) || ' '
        || $first[1 + floor(random() * len($first))::INTEGER] END AS full_name,
    'client' || i || CASE WHEN i % 3 = 0 THEN '+promo' ELSE '' END || '@'
        || $domains[1 + floor(random() * len($domains))::INTEGER] AS email,
    CASE i % 7
        WHEN 0 THEN '06 ' || lpad(CAST(i % 100000000 AS VARCHAR), 8, '0')
        WHEN 1 THEN '07' || lpad(CAST((i * 7919) % 100000000 AS VARCHAR), 8, '0')
        WHEN 2 THEN '+33 6 ' || lpad(CAST((i * 31) % 100000000 AS VARCHAR), 8, '0')
        WHEN 3 THEN '33' || '6' || lpad(CAST((i * 17) % 100000000 AS VARCHAR), 8, '0')
        WHEN 4 THEN '01.' || lpad(CAST((i * 13) % 100000000 AS VARCHAR), 8, '0')
        WHEN 5 THEN CAST(CAST(600000000 + (i * 37) % 100000000 AS DOUBLE) AS VARCHAR)
        ELSE CAST((random() * 1e6)::INTEGER AS VARCHAR)
    END AS phone,
    CASE i % 3
        WHEN 0 THEN strftime(DATE '1940-01-01' + (i % 25000)::INTEGER, '%Y-%m-%d')
        WHEN 1 THEN strftime(DATE '1940-01-01' + (i % 25000)::INTEGER, '%d/%m/%Y')
        ELSE strftime(DATE '1940-01-01' + (i % 25000)::INTEGER, '%Y%m%d')
    END AS birth_date,
    (i % 200) || '  rue de la   Paix' AS street,
    CAST(1000 + (i * 7) % 95000 AS VARCHAR) AS postcode,
    $cities[1 + floor(random() * len($cities))::INTEGER] AS city,
    ['France', 'FR', 'fra', 'Belgique', 'zz'][1 + i % 5] AS country,
    $words[1 + floor(random() * len($words))::INTEGER] AS consent_email,
    $words[1 + floor(random() * len($words))::INTEGER] AS consent_sms,
    strftime(TIMESTAMP '2015-01-01' + to_seconds(i * 97), '%Y-%m-%dT%H:%M:%S') AS created_at,
    strftime(TIMESTAMP '2015-01-01' + to_seconds(i * 89), '%d/%m/%Y %H:%M') AS updated_at,
    i AS loyalty_points
FROM range($rows) AS t(i)
"""


def main() -> None:
    """Build the input, then time one standardize_profiles call inside one transaction."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    con = duckdb.connect()
    con.execute(f"SET threads = {int(args.threads)}")
    con.execute(_INPUT, {"rows": args.rows, "first": _FIRST, "last": _LAST, "cities": _CITIES,
                         "domains": _DOMAINS, "words": _WORDS})
    con.begin()
    start, cpu_start = time.perf_counter(), time.process_time()
    stats = standardize_profiles(con, "bench_in", "bench_out", PROFILE_FIELDS,
                                 ["loyalty_points"], "bench")
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    con.commit()
    for stat in stats:
        print(f"  {stat.field:<14} {stat.rule:<16} non_empty={stat.non_empty:>9,} "
              f"changed={stat.changed:>9,} rejected={stat.rejected:>9,}")
    # CPU seconds (all threads) show the work done even when other processes share the cores.
    print(f"{args.rows:,} rows standardised in {seconds:.2f} s "
          f"({cpu:.2f} s CPU, {args.threads} threads)")


if __name__ == "__main__":
    main()
