#!/usr/bin/env python3
"""Checks contrib/'s Prometheus rules and Grafana dashboard against live scrapes.

usage: check-metric-names.py RULES.yml DASHBOARD.json METRICS.txt [METRICS.txt ...]

Every hyper_derp_* and process_* name used in an alert expression or a
dashboard query must be exported by one of the scrapes given (a relay's and
hdctl probe's /metrics). The dashboard's queries, with Grafana's variables
filled in, are also written out as recording rules for `promtool check rules`
(syntax check): the path is printed on stdout.
"""
import json
import re
import sys
import tempfile

NAME = re.compile(r"\b((?:hyper_derp|process)_[a-zA-Z0-9_]+)\b")


def exported(paths):
    names = set()
    for path in paths:
        for line in open(path, encoding="utf-8"):
            if line.startswith("# TYPE "):
                _, _, name, kind = line.split()[:4]
                names.add(name)
                if kind == "histogram":
                    names.update({name + "_bucket", name + "_sum", name + "_count"})
            elif line and not line.startswith("#"):
                match = re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", line)
                if match:
                    names.add(match.group(0))
    return names


def dashboard_queries(dashboard):
    queries = []
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            queries.append((panel["title"], target["expr"]))
    for variable in dashboard.get("templating", {}).get("list", []):
        query = variable.get("query")
        if isinstance(query, dict):
            queries.append(("variable " + variable["name"], query.get("query", "")))
    return queries


def main():
    rules_path, dashboard_path, scrapes = sys.argv[1], sys.argv[2], sys.argv[3:]
    names = exported(scrapes)
    missing = []
    rules_text = open(rules_path, encoding="utf-8").read()
    for name in sorted(set(NAME.findall(rules_text))):
        if name not in names:
            missing.append("%s: %s" % (rules_path, name))
    dashboard = json.load(open(dashboard_path, encoding="utf-8"))
    queries = dashboard_queries(dashboard)
    for title, expr in queries:
        for name in NAME.findall(expr):
            if name not in names:
                missing.append("%s: panel %r: %s" % (dashboard_path, title, name))
    if missing:
        print("metric names not exported by any scrape given:\n  " + "\n  ".join(missing))
        return 1
    # Grafana variables -> concrete values, so promtool can parse the queries.
    rules = ["groups:", "  - name: dashboard-queries", "    rules:"]
    for index, (title, expr) in enumerate(queries):
        if expr.startswith("label_values("):
            continue
        concrete = (expr.replace("$__rate_interval", "5m").replace("$instance", ".*")
                    .replace("$probe_job", "hyper-derp-probe"))
        rules.append("      - record: dashboard_query_%d" % index)
        rules.append("        expr: %s" % json.dumps(concrete))
    out = tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False)
    out.write("\n".join(rules) + "\n")
    out.close()
    print(out.name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
