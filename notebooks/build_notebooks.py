"""Write the analyst notebooks from their cell sources (kept here so diffs stay readable).

Run from the repository root: python notebooks/build_notebooks.py
"""
from __future__ import annotations

from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent

COLLECT = [
    ("md", "# Collect and catalogue, headless\n\nThe path the Sources and Catalogue pages "
           "take, through `cdp_core`: build a small demo workspace, ingest a new file, look at "
           "the mapping, the standardisation counts, the catalogue and a quick profile."),
    ("code", "import os\nimport tempfile\nfrom pathlib import Path\n\nimport pandas as pd\n\n"
             "from cdp_core import catalog, profiling\n"
             "from cdp_core.demo import build_demo, demo_files_dir\n"
             "from cdp_core.ingest import ingest_file, preview_file\n"
             "from cdp_core.workspace import Workspace\n\n"
             "folder = Path(tempfile.mkdtemp())\n"
             "people = int(os.environ.get('CDP_NOTEBOOK_PEOPLE', '2000'))\n"
             "print(build_demo(folder / 'demo.duckdb', n_people=people))"),
    ("md", "Every source, its department, collection mode and quality scores:"),
    ("code", "ws = Workspace.open(folder / 'demo.duckdb')\n"
             "overview = catalog.source_overview(ws.cursor())\n"
             "overview[['source', 'kind', 'department', 'collection_mode', 'rows',\n"
             "          'completeness', 'validity', 'uniqueness', 'freshness']]"),
    ("md", "A refresh of the loyalty cards (latin-1, `;`, dd/mm/yyyy dates): preview first, "
           "then ingest as version 2 of the same source; the saved mapping is reused."),
    ("code", "loyalty = demo_files_dir(folder / 'demo.duckdb') / 'cartes_fidelite.csv'\n"
             "preview = preview_file(loyalty)\n"
             "print(preview.notes)\n"
             "{m.field: m.column for m in preview.proposed}"),
    ("code", "result = ingest_file(ws, loyalty, 'Store loyalty cards')\n"
             "assert result.version == 2\n"
             "print(result.rows, 'rows;', result.changes)\n"
             "pd.DataFrame([s.__dict__ for s in result.stats])"),
    ("md", "The catalogue of that source and a quick profile of its raw table:"),
    ("code", "cur = ws.cursor()\n"
             "source = catalog.require_source(cur, 'Store loyalty cards')\n"
             "catalog.column_catalogue(cur, source.source_id)"),
    ("code", "raw_table, _ = catalog.table_names(source.source_id, result.version)\n"
             "profile = profiling.quick_profile(cur, raw_table)\n"
             "assert len(profile) == len(result.columns)\n"
             "profile[['column', 'type', 'null_pct', 'distinct', 'top_value']]"),
    ("code", "ws.close()"),
]

MATCHING = [
    ("md", "# Matching, headless\n\nWhat the Matching settings, Matching run and Pair review "
           "pages do, through `cdp_core`: suggested settings, blocking analysis, training, the "
           "model's evidence, prediction and clustering, labels and the threshold they suggest, "
           "and the pairwise accuracy against the demo company's ground truth."),
    ("code", "import os\nimport tempfile\nfrom pathlib import Path\n\n"
             "from cdp_core import labels, matching, model_evidence\n"
             "from cdp_core.demo import build_demo\n"
             "from cdp_core.workspace import Workspace\n\n"
             "folder = Path(tempfile.mkdtemp())\n"
             "people = int(os.environ.get('CDP_NOTEBOOK_PEOPLE', '2000'))\n"
             "build_demo(folder / 'demo.duckdb', n_people=people)\n"
             "ws = Workspace.open(folder / 'demo.duckdb')\ncur = ws.cursor()"),
    ("md", "Settings suggested from the catalogue and the data; every comparison and rule is "
           "plain data a user can edit:"),
    ("code", "settings = matching.suggest_settings(cur)\nmatching.save_settings(ws, settings)\n"
             "[(c.name, c.method, c.columns) for c in settings.comparisons]"),
    ("code", "blocking = matching.blocking_analysis(cur, settings)\n"
             "print('total comparisons:', blocking.attrs['total'], blocking.attrs['warning'])\n"
             "blocking"),
    ("md", "Values that must never link two people (placeholders, values shared too widely):"),
    ("code", "blocked = matching.detect_blocked_values(cur)\n"
             "matching.save_blocked_values(ws, blocked)\nblocked[['field', 'reason']]"),
    ("md", "Training: u by random sampling, the prior, m by expectation maximisation."),
    ("code", "with ws.transaction() as tx:\n    matching.build_match_input(tx, settings)\n"
             "model = matching.train(ws, settings)\n"
             "model_evidence.weights_table(model.splink_model).round(3)"),
    ("md", "Splink's own charts of the same model:"),
    ("code", "import altair as alt\n\n"
             "alt.Chart.from_dict(matching.match_weights_chart(cur, model))"),
    ("code", "run = matching.predict(ws, model)\nprint(run.summary())\n"
             "quality = matching.pairwise_quality(cur)\nquality"),
    ("md", "Without labels the accuracy curve is the model's own estimate; labels turn it "
           "into a measurement. Here the ground truth stands in for a reviewer on the ten most "
           "uncertain pairs:"),
    ("code", "queue = labels.review_queue(cur, threshold=model.threshold, size=10)\n"
             "truth = dict(cur.execute(\"SELECT c.unique_id, g.person_id FROM match.records c \"\n"
             "    \"JOIN demo.ground_truth g ON g.source = c.source_dataset \"\n"
             "    \"AND g.record_id = c.record_id\").fetchall())\n"
             "for pair in queue.itertuples():\n"
             "    same = truth.get(pair.unique_id_l) == truth.get(pair.unique_id_r)\n"
             "    labels.save_label(ws, pair.unique_id_l, pair.unique_id_r,\n"
             "                      'match' if same else 'non_match')\n"
             "labels.suggest_threshold(cur)"),
    ("code", "matching.export_clusters(cur).head()"),
    ("code", "ws.close()"),
]

UNIFY = [
    ("md", "# From pairs to people, headless\n\nWhat the Clusters, Golden records, Customer "
           "360 and Privacy pages do, through `cdp_core`: the review queue, a reviewer's "
           "decision that survives a re-run, unified profiles with their lineage, one "
           "customer's 360° view, a subject access export and an erasure."),
    ("code", "import os\nimport tempfile\nfrom pathlib import Path\n\n"
             "from cdp_core import clusters, customer360, golden, matching, privacy\n"
             "from cdp_core.demo import build_demo\n"
             "from cdp_core.workspace import Workspace\n\n"
             "folder = Path(tempfile.mkdtemp())\n"
             "people = int(os.environ.get('CDP_NOTEBOOK_PEOPLE', '2000'))\n"
             "print(build_demo(folder / 'demo.duckdb', n_people=people, unify=True))\n"
             "ws = Workspace.open(folder / 'demo.duckdb')\ncur = ws.cursor()"),
    ("md", "The clusters most worth a reviewer's time, and why:"),
    ("code", "queue = clusters.review_queue(cur, limit=10)\n"
             "queue['why'] = [clusters.review_reasons(row) for _, row in queue.iterrows()]\n"
             "queue[['cluster_id', 'size', 'sources', 'review_score', 'why']]"),
    ("code", "top = queue['cluster_id'].iloc[0]\n"
             "customer360.records_side_by_side(clusters.members(cur, top))"),
    ("md", "A reviewer takes the last record out of that cluster. The decision is stored as "
           "never-link pairs, so a full re-run of matching gives the same clusters:"),
    ("code", "record = clusters.members(cur, top)['unique_id'].iloc[-1]\n"
             "clusters.split_out(ws, record, reason='not the same customer', by='notebook')\n"
             "before = cur.execute('SELECT unique_id, cluster_id FROM match.clusters').fetchall()\n"
             "print(matching.run_match(ws).summary())\n"
             "after = cur.execute('SELECT unique_id, cluster_id FROM match.clusters').fetchall()\n"
             "assert sorted(before) == sorted(after)\n"
             "clusters.decisions(cur)"),
    ("md", "Unified profiles: survivorship rules per field, each value with the source record "
           "it came from, and what unification adds over the best single source:"),
    ("code", "result = golden.build(ws)\nprint(result.summary())\n"
             "golden.summary(cur)"),
    ("code", "person = clusters.cluster_of(cur, record)\n"
             "golden.lineage(golden.profile_of(cur, person))"),
    ("md", "The 360° view of one customer found by e-mail: every record and every event:"),
    ("code", "email = cur.execute('SELECT email FROM golden.profiles WHERE record_count >= 3 '\n"
             "    'AND email IS NOT NULL ORDER BY person_id LIMIT 1').fetchone()[0]\n"
             "found = customer360.search(cur, email.upper())\n"
             "person = found['person_id'].iloc[0]\n"
             "customer360.person_records(cur, person)"),
    ("code", "customer360.timeline(cur, person).head(10)"),
    ("md", "GDPR: the subject access file, then erasure from every table in one transaction; "
           "the audit log keeps the fact, not the person:"),
    ("code", "access = privacy.write_subject_access(ws, person, folder / 'access.xlsx')\n"
             "erased = privacy.erase(ws, person, reason='subject_request')\n"
             "assert customer360.search(cur, email).empty\n"
             "privacy.audit_log(cur, limit=5)"),
    ("code", "ws.close()"),
]

ACTIVATE = [
    ("md", "# Activate and measure, headless\n\nWhat the Traits, Predictive scores, Segment "
           "builder, Audiences, Use cases, Roadmap and KPI & ROI pages do, through `cdp_core`: "
           "the demo company unified and scored, a nested segment sized and exported, the "
           "campaigns' measured lift and the project's ROI."),
    ("code", "import os\nimport tempfile\nfrom pathlib import Path\n\nimport pandas as pd\n\n"
             "from cdp_core import kpi, scoring, segments, traits, use_cases\n"
             "from cdp_core.demo import build_demo\n"
             "from cdp_core.workspace import Workspace\n\n"
             "folder = Path(tempfile.mkdtemp())\n"
             "people = int(os.environ.get('CDP_NOTEBOOK_PEOPLE', '2000'))\n"
             "print(build_demo(folder / 'demo.duckdb', n_people=people, unify=True))\n"
             "ws = Workspace.open(folder / 'demo.duckdb')\n"
             "cur = ws.cursor()"),
    ("md", "Traits computed over every event through the clusters, and the RFM cells:"),
    ("code", "print(traits.summary(cur))\n"
             "traits.distribution(cur, 'rfm_cell')"),
    ("md", "The honest figures of the models trained on an earlier period and tested on the "
           "next one:"),
    ("code", "metrics = scoring.latest_metrics(cur)\n"
             "pd.DataFrame({kind: {k: v for k, v in m.items() if isinstance(v, int | float)}\n"
             "              for kind, m in metrics.items()})"),
    ("md", "A nested segment with event conditions: e-mail consent, and either an order over "
           "50 € in the last 90 days or a champion, but no cart in the last 30 days:"),
    ("code", "rule = {'all': [\n"
             "    {'field': 'consent_email', 'op': 'eq', 'value': True},\n"
             "    {'any': [{'event': 'orders', 'did': True, 'amount_gt': 50, 'within_days': 90},\n"
             "             {'field': 'rfm_cell', 'op': 'eq', 'value': 'champions'}]},\n"
             "    {'not': {'event': 'carts', 'did': True, 'within_days': 30}}]}\n"
             "size = segments.size(cur, rule)\n"
             "print(size, f'{size.share:.1%} of the base')\n"
             "segments.preview(cur, rule, limit=5)"),
    ("code", "segments.save(ws, segments.Segment('Notebook audience', rule, channel='email'))\n"
             "result = segments.export(ws, 'Notebook audience', folder / 'audience.csv')\n"
             "print(result.summary())\n"
             "names = segments.names(cur)[:5]\n"
             "segments.overlap(cur, names).pivot(index='row', columns='column', values='people')"),
    ("md", "The campaigns' lift against their control groups, then the use cases by priority "
           "and the project's ROI with measured benefits where the data allows:"),
    ("code", "lift = kpi.campaign_lift(cur)\n"
             "print(f'{lift.absolute_lift:+.2%} conversion, p = {lift.p_value:.2g}')\n"
             "kpi.lift_groups(lift)"),
    ("code", "library = use_cases.load_library()\n"
             "ranked = use_cases.waves(use_cases.prioritise(cur, library))\n"
             "ranked[['rank', 'name', 'value', 'complexity', 'readiness', 'benefit', 'wave']]"),
    ("code", "benefits = kpi.use_case_benefits(cur, kpi.portfolio(library))\n"
             "costs = kpi.load_costs(cur).with_use_cases(benefits)\n"
             "result = kpi.evaluate(benefits['benefit_per_year'].sum(), costs)\n"
             "print(f'ROI {result.roi:.0%}, NPV {result.npv:,.0f} EUR, payback month '\n"
             "      f'{result.payback_month}')\n"
             "kpi.attribute(benefits, kpi.load_attribution(cur), costs)"),
    ("code", "ws.close()"),
]


def write(name: str, cells: list[tuple[str, str]]) -> None:
    """One notebook from (kind, source) pairs, without outputs."""
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                       "language": "python"}
    notebook.cells = [nbformat.v4.new_markdown_cell(text) if kind == "md"
                      else nbformat.v4.new_code_cell(text) for kind, text in cells]
    nbformat.write(notebook, HERE / name)


if __name__ == "__main__":
    write("01_collect_and_catalogue.ipynb", COLLECT)
    write("02_matching.ipynb", MATCHING)
    write("03_unify.ipynb", UNIFY)
    write("04_activate_and_measure.ipynb", ACTIVATE)
