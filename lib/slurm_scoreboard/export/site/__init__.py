"""The boards as a static web site in the look of Old School RuneScape's hiscores.

Plain HTML with its CSS inline: nothing is loaded from anywhere (a Content-Security-Policy in
every page says so to the browser too), no script runs but the search page's own (allowed by
its hash), and every link is relative, so the folder works from ``file://``, under any web
server and any URL prefix::

    index.html                                  the front page: this week, then Overall, all
                                                time, all clusters
    boards/<users|groups>/<window>/<skill>.html every cluster merged
    clusters/<c>/<users|groups>/<window>/<skill>.html
    players.html, players/<user>.html           everyone on the all-time Overall board
    groups.html, groups/<account>.html          every account on it
    records.html, competitions.html             when sb-rank wrote records.json, competitions.json
    search.html                                 where every page's search box goes

A board page shows its first `top` rows. A user's or group's page leads with the charts of
their progress, then their achievements, records, groups (or members' share of the month),
efficiency, every skill in every window for all clusters merged, and their all-time Overall on
each cluster. Names are untrusted: in text they
are escaped (control characters too, as sb-view shows them), in URLs percent-encoded, and a
name that is not a plain name (letters, digits, ``_ . @ -``) gets a page named by its SHA-256,
so no name can reach outside the site's folder. Every file is read through boardfiles.py: a user
who opted out is on no page, not even before the next rebuild.

The modules: markup (the frame, CSS, escaping, links, page paths), base (what the pages share),
boards, members (players and groups), documents (records, competitions), front (the week),
charts (inline SVG), search (the search page and its index), pages (the whole site).
"""
from .markup import esc
from .pages import Site

__all__ = ["Site", "esc"]
