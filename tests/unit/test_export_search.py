"""The site's search index (export/site/search.py): any name, however hostile (quotes, markup,
bidi and other control characters, line separators, very long), comes back out of the page's
data block as the same name, the block never holds a character an HTML parser could end it
with, and each entry points at the page the site writes for that name. The search in a browser
is in test_export_chromium.py."""
import json
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from slurm_scoreboard.export.site import markup, search
from slurm_scoreboard.view import display

HOSTILE_NAMES = ['evil"\\\n<img src=x onerror=alert(1)><script>alert(2)</script>',
                 "</script><script>alert(3)</script>", "\u202egnp.exe", "a\u2028b\u2029c",
                 "x" * 5000, "&amp;", "alice", "Alice", "ünï", "-->", "<!--"]


def block_of(members):
    return search.data_block(search.entries(members))


def test_hostile_names_come_back_whole_and_point_at_their_pages():
    members = {"users": {name: None for name in HOSTILE_NAMES}, "groups": {"chem": None,
                                                                          "alice": None}}
    entries = json.loads(block_of(members))
    assert sorted((e["n"], e["k"]) for e in entries) == sorted(
        [(name, "player") for name in HOSTILE_NAMES] + [("chem", "group"), ("alice", "group")])
    for entry in entries:
        kind = "users" if entry["k"] == "player" else "groups"
        assert entry["p"] == markup.member_file(kind, entry["n"])     # plain and hashed alike
        assert entry.get("s", entry["n"]) == display.clean(entry["n"])
    long = next(e for e in entries if e["n"].startswith("xxx"))
    assert len(long["s"]) < 300                        # cut as every page cuts a name
    bidi = next(e for e in entries if e["n"].startswith("\u202e"))
    assert "\u202e" not in bidi["s"] and "\\u202e" in bidi["s"]


def test_the_index_is_in_name_order_players_and_groups_mixed():
    members = {"users": {"bob": None, "Alice": None, "carl": None}, "groups": {"bio": None}}
    assert [e["n"] for e in json.loads(block_of(members))] == ["Alice", "bio", "bob", "carl"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=80), max_size=8, unique=True),
       st.lists(st.text(min_size=1, max_size=80), max_size=4, unique=True))
def test_any_name_survives_the_data_block_and_cannot_end_it(users, groups):
    block = block_of({"users": dict.fromkeys(users), "groups": dict.fromkeys(groups)})
    assert block.isascii() and not re.search(r"[<>&\x00-\x1f\x7f]", block)
    entries = json.loads(block)
    assert sorted(e["n"] for e in entries if e["k"] == "player") == sorted(users)
    assert sorted(e["n"] for e in entries if e["k"] == "group") == sorted(groups)


def test_the_search_page_policy_allows_its_script_and_no_other():
    policy = markup.csp(search.SCRIPT)
    assert "script-src 'sha256-" in policy and "'unsafe-inline'" not in policy.split("script-src")[1]
    assert "script-src" not in markup.csp()
    assert "innerHTML" not in search.SCRIPT and "outerHTML" not in search.SCRIPT
    assert "insertAdjacentHTML" not in search.SCRIPT and "document.write" not in search.SCRIPT
