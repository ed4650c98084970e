"""The search: every page's box sends its text to search.html (a plain GET form, so it needs no
script to get there), which holds the index of every player's and group's page and one small
script that finds the names starting with the text: one name found (or one exactly that name)
goes straight to its page, several are listed as links, and the list follows what is typed.

The index is JSON in a data block of that page (never run), with every character outside ASCII
and every ``<``, ``>``, ``&`` written as an escape, so no name can end the block. The script
writes names only as text (``textContent``), never as markup; the page's Content-Security-Policy
allows that one script by its SHA-256 and nothing else. Without script the page links to the
players and groups lists, which hold every page too. The index and the script work from
``file://`` as under a web server: nothing is fetched.
"""
from __future__ import annotations

import json
from typing import Dict, List
from urllib.parse import quote

from ...boardfiles import Row
from ...view import display
from .markup import SEARCH_PAGE, href, member_file

LISTED = 50         # names the page lists at most (the count says how many more start so)
KIND_WORDS = {"users": "player", "groups": "group"}

SCRIPT = """(function () {
  var names = JSON.parse(document.getElementById("sb-names").textContent);
  var box = document.getElementById("sb-q");
  var found = document.getElementById("sb-found");
  var status = document.getElementById("sb-status");
  function fold(text) { return text.toLowerCase(); }
  function starting(text) {
    var start = fold(text), out = [];
    for (var i = 0; i < names.length; i++) {
      if (fold(names[i].n).lastIndexOf(start, 0) === 0) { out.push(names[i]); }
    }
    return out;
  }
  function show(text) {
    while (found.firstChild) { found.removeChild(found.firstChild); }
    if (!text) { status.textContent = "Type the start of a player's or group's name."; return []; }
    var hits = starting(text);
    status.textContent = hits.length === 0 ? "No player or group name starts with that." :
      hits.length + (hits.length === 1 ? " name starts" : " names start") + " with that" +
      (hits.length > %(listed)d ? "; the first %(listed)d:" : ":");
    hits.slice(0, %(listed)d).forEach(function (hit) {
      var item = document.createElement("li"), link = document.createElement("a");
      link.href = hit.p;
      link.textContent = hit.s || hit.n;
      item.appendChild(link);
      item.appendChild(document.createTextNode(" (" + hit.k + ")"));
      found.appendChild(item);
    });
    return hits;
  }
  var asked = (new URLSearchParams(window.location.search).get("q") || "").slice(0, 200);
  box.value = asked;
  var hits = show(asked);
  var exact = hits.filter(function (hit) { return fold(hit.n) === fold(asked); });
  var only = hits.length === 1 ? hits[0] : exact.length === 1 ? exact[0] : null;
  if (asked && only) { window.location.replace(only.p); }
  box.addEventListener("input", function () { show(box.value.slice(0, 200)); });
})();
""" % {"listed": LISTED}


def entries(members: Dict[str, Dict[str, Row]]) -> List[dict]:
    """The index: each player's and group's name (``n``), the name as shown where it is not
    plain text (``s``: control characters escaped, cut as every page cuts it), what it is
    (``k``) and its page (``p``, from the site's top), sorted by name."""
    found = []
    for kind in ("users", "groups"):
        for name in members[kind]:
            entry = {"n": name, "k": KIND_WORDS[kind], "p": quote(member_file(kind, name))}
            shown = display.clean(name)
            if shown != name:
                entry["s"] = shown
            found.append(entry)
    found.sort(key=lambda entry: (entry["n"].casefold(), entry["n"], entry["k"]))
    return found


def data_block(index: List[dict]) -> str:
    """The index as JSON no HTML parser can end early and no name can reorder: ASCII only."""
    text = json.dumps(index, ensure_ascii=True, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def body(members: Dict[str, Dict[str, Row]]) -> str:
    """The search page's content (its script is :data:`SCRIPT`, given to the frame)."""
    here = SEARCH_PAGE
    return ('<h1>Find a player or group</h1>'
            f'<form class="search" role="search" method="get" action="{href(here, here)}">'
            '<input id="sb-q" type="search" name="q" maxlength="200" autocomplete="off" '
            'autofocus placeholder="The start of a name" '
            'aria-label="Find a player or group by the start of the name">'
            '<button type="submit">Search</button></form>'
            '<p class="note" id="sb-status" role="status">Every player and group has a page: '
            f'see the <a href="{href(here, "players.html")}">players</a> and '
            f'<a href="{href(here, "groups.html")}">groups</a> lists.</p>'
            '<ul class="found" id="sb-found"></ul>'
            '<script type="application/json" id="sb-names">'
            f'{data_block(entries(members))}</script>')
