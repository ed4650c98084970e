"""The real sacct samples (../shared/sacct-samples, $SB_SACCT_SAMPLES) as the fast paths' property
tests draw from them: each file with the columns test_samples.py reads it with, its lines, its
fields, and sb-parse's records of it. Empty when the samples are absent (the tests skip)."""
import os
from typing import Dict, List, Tuple

from test_samples import NEGATIVE, WITH_USERS, WITHOUT_USERS, kwargs_of

from slurm_scoreboard.ingest import fields
from slurm_scoreboard.ingest.parser import SacctParser

SAMPLES = os.environ.get("SB_SACCT_SAMPLES", os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared", "sacct-samples"))
LATEST = "2999-01-01T00:00:00Z"


def layouts() -> Dict[str, dict]:
    """File name -> SacctParser's fields and delimiter for it (every sample; those the tables
    do not name are read as sb-parse reads them untold)."""
    if not os.path.isfile(os.path.join(SAMPLES, "INDEX.md")):
        return {}
    known = {name: (options[0] if name in WITH_USERS else options)
             for table in (WITH_USERS, WITHOUT_USERS, NEGATIVE) for name, options in table.items()}
    found = {}
    for name in sorted(os.listdir(SAMPLES)):
        if name.endswith(".txt"):
            options = kwargs_of(known.get(name, {}))
            columns = (fields.parse_field_list(options["fields_text"]) if options["fields_text"]
                       else fields.preset(options["preset"]) if options["preset"] else None)
            found[name] = {"fields": columns, "delimiter": options["delimiter"]}
    return found


LAYOUTS = layouts()


def lines_of(name: str) -> List[str]:
    with open(os.path.join(SAMPLES, name), "rb") as handle:
        return [line.decode("utf-8", "replace").rstrip("\r\n") for line in handle]


def records_of(name: str, lines=None) -> Tuple[List[dict], List[tuple]]:
    """sb-parse's records of a sample (or of `lines` read in its layout) and its problems."""
    problems: list = []
    parser = SacctParser(LAYOUTS[name]["fields"], LAYOUTS[name]["delimiter"], "",
                         lambda source, lineno, message: problems.append((lineno, message)),
                         latest=LATEST)
    try:
        found = list(parser.parse(lines_of(name) if lines is None else lines, name))
    except Exception as err:            # LayoutUnknown: the problem is the outcome
        problems.append(("stopped", str(err)))
        found = []
    return found, problems


def all_records() -> List[dict]:
    return [record for name in LAYOUTS for record in records_of(name)[0]]


def split_fields() -> List[List[str]]:
    """Every line of every sample split by its delimiter (the values sb-parse's columns hold)."""
    rows = []
    for name, layout in LAYOUTS.items():
        delimiter = layout["delimiter"] or "|"
        rows.extend(line.split(delimiter) for line in lines_of(name))
    return rows
