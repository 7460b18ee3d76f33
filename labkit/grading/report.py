"""What a grading run writes, each file atomically, rewritten as each submission completes.

```
<out>/grades.csv              one row per submission and check: points, max_points, status, reason
<out>/totals.csv              one row per submission: points, max_points, seconds, sandbox, why it stopped
<out>/feedback/<name>.md      a short page per submission, for the learner
<out>/executed/<name>.ipynb   the executed copy, as the grader's papermill wrote it
<out>/records/<name>.json     what resumes an interrupted run
```
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from pathlib import Path

from labkit._io import atomic_write, write_json
from labkit.grading.sandbox import PROTECTION

GRADES = ("submission", "notebook", "check", "points", "max_points", "status", "reason")
TOTALS = ("submission", "notebook", "points", "max_points", "ran", "seconds", "sandbox", "reason")


def file_name(submission: str) -> str:
    """Makes a file name for a submission's pages (`alice/02_x` → `alice--02_x-1a2b3c`).

    Args:
        submission: the submission's name.

    Returns:
        A plain file stem, distinct for distinct names.
    """
    plain = re.sub(r"[^A-Za-z0-9._-]+", "-", submission.replace("/", "--")).strip(".-")[:80]
    return f"{plain}-{hashlib.sha1(submission.encode()).hexdigest()[:6]}"


def load_records(folder: Path) -> dict[str, dict]:
    """Reads the records of an earlier run (unreadable ones are graded again).

    Args:
        folder: `<out>/records`.

    Returns:
        `{submission: record}`.
    """
    records = {}
    for path in sorted(Path(folder).glob("*.json")) if Path(folder).is_dir() else []:
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
            records[record["submission"]] = record
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return records


def save(out: Path, record: dict, records: list[dict]) -> None:
    """Writes one finished submission's files, then the two tables of every finished one.

    Args:
        out: the output folder.
        record: the submission's record (`batch.grade_one`).
        records: every finished record, in the submissions' order.
    """
    stem = file_name(record["submission"])
    if record.get("executed"):
        atomic_write(out / "executed" / f"{stem}.ipynb", lambda f: f.write(record["executed"].encode("utf-8")))
    atomic_write(out / "feedback" / f"{stem}.md", lambda f: f.write(feedback(record).encode("utf-8")))
    write_json(out / "records" / f"{stem}.json", {k: v for k, v in record.items() if k != "executed"})
    grades = [{"submission": r["submission"], "notebook": r["notebook"], **row} for r in records for row in r["rows"]]
    _csv(out / "grades.csv", GRADES, grades)
    _csv(out / "totals.csv", TOTALS, [total(r) for r in records])


def total(record: dict) -> dict:
    """Sums one submission's rows.

    Args:
        record: the submission's record.

    Returns:
        A row of `totals.csv`.
    """
    return {
        "submission": record["submission"], "notebook": record["notebook"],
        "points": round(sum(r["points"] for r in record["rows"]), 2),
        "max_points": round(sum(r["max_points"] for r in record["rows"]), 2),
        "ran": "yes" if record.get("setup") and not record.get("reason") else "no",
        "seconds": record.get("seconds", 0.0), "sandbox": record.get("setup") or "-",
        "reason": record.get("reason") or "",
    }


def feedback(record: dict) -> str:
    """Writes the learner's page: the score, each check with its reason, why the run stopped.

    Args:
        record: the submission's record.

    Returns:
        Markdown.
    """
    line = total(record)
    lines = [f"# Feedback: {record['submission']}", "",
             f"Notebook `{record['notebook'] or '-'}`, re-executed by the grader in {line['seconds']:.1f} s "
             f"(sandbox: {line['sandbox']}).", "", f"**Score: {line['points']:g} / {line['max_points']:g}**", "",
             "| check | points | status | why |", "| --- | --- | --- | --- |"]
    for row in record["rows"]:
        lines.append(f"| {_cell(row['check'])} | {row['points']:g} / {row['max_points']:g} | {row['status']} | "
                     f"{_cell(row['reason'])} |")
    if record.get("reason"):
        lines += ["", f"The run did not reach its end: {_cell(record['reason'])}."]
    if record.get("setup") == "none":
        lines += ["", f"> **Warning**: {PROTECTION['none']}"]
    return "\n".join(lines) + "\n"


def _cell(text) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _csv(path: Path, columns: tuple[str, ...], rows: list[dict]) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write(path, lambda f: f.write(buffer.getvalue().encode("utf-8")))
