"""Runs SQL on chDB, ClickHouse in-process (a current release), for the warehouse tests.

Reads one JSON object on stdin: {"database": NAME, "statements": [SQL...], "inserts": [{"table": T, "rows": [...]}],
"queries": [{"name": N, "sql": SQL}]}. Runs the statements in order, inserts the rows (JSONEachRow), then each
query, and prints one JSON object: {"version": V, "results": {N: <ClickHouse JSON output>}}. A failing statement or
query stops it with exit code 1 and the server's message on stderr.
"""
import json
import sys

from chdb import session


def main() -> int:
    spec = json.load(sys.stdin)
    s = session.Session()
    db = spec["database"]
    step = "setup"
    try:
        s.query(f"CREATE DATABASE IF NOT EXISTS {db}")
        s.query(f"USE {db}")
        for sql in spec.get("statements", []):
            step = sql
            s.query(sql)
        for ins in spec.get("inserts", []):
            step = f"insert into {ins['table']}"
            body = "\n".join(json.dumps(r) for r in ins["rows"])
            s.query(f"INSERT INTO {ins['table']} FORMAT JSONEachRow\n{body}")
        version = str(s.query("SELECT version()", "JSONEachRow")).strip()
        results = {}
        for q in spec.get("queries", []):
            step = q["name"]
            results[q["name"]] = json.loads(str(s.query(q["sql"], "JSON")))
    except Exception as err:  # noqa: BLE001 - report which step failed, then fail
        print(f"chdb failed at {step[:200]}: {err}", file=sys.stderr)
        return 1
    print(json.dumps({"version": json.loads(version)["version()"], "results": results}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
