"""GET /preview?url=… and /preview/feeds/{name}: what cleaning does to a feed, item by item,
and a form to try a rule on the cached body. Nothing tried is stored.

The page is plain HTML and GET forms: no JavaScript, no inline style (a Content-Security-
Policy says so to the browser), one stylesheet at /preview.css. Every value it prints is
escaped; item HTML goes through the sanitiser (proxy.explain.marked_html) like served items.
When an access key is set, the page needs it (key= or Authorization: Bearer).
"""

from __future__ import annotations

import asyncio
import html
import time
from collections.abc import Mapping
from urllib.parse import urlencode, urlsplit

from aiohttp import web

from proxy import explain
from proxy.clean import DEFAULT_PACKS
from proxy.errors import BadRequest, Busy, Forbidden
from proxy.pipeline import process
from proxy.server import auth, links
from proxy.server.http import public_base
from proxy.server.keys import PIPELINE, SETTINGS

CSS_PATH = "/preview.css"
# Reports built at once: each runs the whole chain (and a visitor's regexes) in a worker
# thread; past this, a request gets 503 at once instead of queueing more work.
MAX_BUILDS = 2
_building = 0


async def by_url(request: web.Request) -> web.StreamResponse:
    settings = request.app[SETTINGS]
    if not settings.adhoc:
        raise Forbidden("ad-hoc feeds are turned off on this instance (FEEDSCRUB_ADHOC=false)")
    auth.require_key(settings, request.query, request.headers, "the preview page")
    url = request.query.get("url", "").strip()
    if not url:
        raise BadRequest("missing url parameter: use /preview?url=<feed URL>")
    return await _page(request, url=url)


async def by_name(request: web.Request) -> web.StreamResponse:
    auth.require_key(request.app[SETTINGS], request.query, request.headers, "the preview page")
    return await _page(request, name=request.match_info["name"])


async def stylesheet(_request: web.Request) -> web.StreamResponse:
    return web.Response(
        text=CSS,
        content_type="text/css",
        headers={"Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff"},
    )


def _tried(query: Mapping[str, str]) -> tuple[list[explain.TriedRule], dict[str, str]]:
    rules: list[explain.TriedRule] = []
    problems: dict[str, str] = {}
    for kind in explain.RULE_KINDS:
        value = query.get(kind, "")
        if not value.strip():
            continue
        rule = explain.TriedRule(kind, value)
        problem = explain.rule_problem(rule)
        if problem:
            problems[kind] = problem
        else:
            rules.append(rule)
    return rules, problems


async def _page(request: web.Request, *, url: str = "", name: str = "") -> web.StreamResponse:
    pipeline = request.app[PIPELINE]
    base = public_base(request)
    job = (
        pipeline.named_job(name, fmt=None, public_base=base)
        if name
        else pipeline.job(url, fmt=None, public_base=base)
    )
    rules, problems = _tried(request.query)
    started = time.perf_counter()
    state = await pipeline.body(job)
    facts = explain.fetch_facts(
        state, url=job.url, fetch_ms=(time.perf_counter() - started) * 1000, now=pipeline.clock()
    )
    stored = state.stored
    policy = process.image_policy(pipeline.settings, pipeline.key, base, job.options)
    learnt = await pipeline.learnt(job, stored)
    global _building
    if _building >= MAX_BUILDS:
        raise Busy("preview: busy building other reports; try again in a few seconds", 5)
    _building += 1
    try:
        report = await asyncio.to_thread(
            explain.build_report,
            stored.body,
            source=job.url,
            options=job.options,
            default_packs=DEFAULT_PACKS,
            ruleset=job.ruleset,
            policy=policy,
            fetch=facts,
            feed_name=name,
            tried=rules,
            final_url=stored.final_url,
            content_type=stored.content_type,
            learnt=learnt,
        )
    finally:
        _building -= 1
    body = render_page(
        report,
        action=request.path,
        query=request.query,
        problems=problems,
        name=name,
        subscribe=_subscribe_link(request, base, job.url, name),
    )
    img_sources = "'self'"
    if policy.mode in ("proxy", "template"):
        img_sources += " " + _origin(base)
        if policy.mode == "template":
            img_sources += " " + _origin(policy.template)
    else:
        img_sources += " http: https:"
    headers = {
        "Content-Security-Policy": (
            f"default-src 'none'; img-src {img_sources} data:; style-src 'self'; "
            "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
        ),
        "Cache-Control": "no-store",
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
    }
    return web.Response(
        status=400 if problems else 200, text=body, content_type="text/html", headers=headers
    )


def _origin(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme in ("http", "https") and parts.netloc:
        return f"{parts.scheme}://{parts.netloc}"
    return ""


def _subscribe_link(request: web.Request, base: str, url: str, name: str) -> str:
    settings = request.app[SETTINGS]
    if name:
        return links.named_feed_link(settings, base, name)
    return base + links.sign_feed_url(url, settings.access_key)


# --- rendering ---------------------------------------------------------------------------------


def e(value: object) -> str:
    return html.escape(str(value), quote=True)


def render_page(
    report: explain.FeedReport,
    *,
    action: str,
    query: Mapping[str, str],
    problems: Mapping[str, str],
    name: str,
    subscribe: str,
) -> str:
    """The whole page (every value escaped, item HTML sanitised)."""
    parts = [
        '<!doctype html><html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>Preview: {e(report.title or report.source)} · feedscrub</title>",
        f'<link rel="stylesheet" href="{CSS_PATH}"></head><body>',
        '<header><p class="crumbs"><a href="/">feedscrub</a> › preview</p>',
        f'<h1 id="feed-title">{e(report.title or "(untitled feed)")}</h1>',
        f'<p class="source">Upstream: <a href="{e(report.source)}" rel="noreferrer">'
        f"{e(report.source)}</a></p>",
        f'<p class="subscribe">Subscribe to: <a id="subscribe" href="{e(subscribe)}">'
        f"<code>{e(subscribe)}</code></a></p></header>",
        _summary(report),
        _form(action, query, problems, _snippet(report, name)),
        '<main id="items">',
        *(_item(item) for item in report.items),
        "</main></body></html>",
    ]
    return "\n".join(parts)


def _summary(report: explain.FeedReport) -> str:
    f = report.fetch
    timings = dict(report.timings)
    if f.fetch_ms is not None:
        timings = {"fetch": f.fetch_ms, **timings}
    facts = [
        ("status", str(f.status) if f.status is not None else "from the cache"),
        ("cache", f.cache + (f" ({f.stale_reason})" if f.stale_reason else "")),
        ("age", f"{f.age} s"),
        ("size", f"{f.size:,} bytes"),
        ("items", f"{report.total} upstream, {len(report.items)} served"),
        ("time", ", ".join(f"{stage} {ms:.0f} ms" for stage, ms in timings.items())),
    ]
    rows = "".join(f"<dt>{e(k)}</dt><dd>{e(v)}</dd>" for k, v in facts)
    hits = (
        "".join(
            f'<tr data-rule="{e(rule)}"><td class="rule">{e(rule)}</td>'
            f'<td class="count">{count}</td><td class="why">{e(report.reason_of(rule))}</td></tr>'
            for rule, count in report.hits.items()
        )
        or '<tr><td colspan="3">no rule removed anything</td></tr>'
    )
    boiler = (
        "".join(
            f'<li><span class="rule">{e(b.rule)}</span> {"a line " if b.kind == "line" else ""}'
            f"in {b.items} items: <q>{e(b.text)}</q></li>"
            for b in report.boilerplate
        )
        or "<li>none found</li>"
    )
    dropped = (
        "".join(f"<li>#{d.number} <q>{e(d.title)}</q>: {e(d.reason)}</li>" for d in report.dropped)
        or "<li>none</li>"
    )
    return (
        '<section id="summary" class="summary">'
        f'<div><h2>Fetch</h2><dl id="fetch">{rows}</dl></div>'
        '<div><h2>Hits per rule</h2><table id="hits"><thead><tr><th>rule</th><th>hits</th>'
        f"<th>why</th></tr></thead><tbody>{hits}</tbody></table></div>"
        f'<div><h2>Boilerplate found</h2><ul id="boilerplate">{boiler}</ul>'
        f'<h2>Dropped by filters</h2><ul id="dropped">{dropped}</ul></div></section>'
    )


_FIELD_HELP = {
    "remove": "CSS selector",
    "remove_xpath": "XPath",
    "remove_text": "regex over an element's text",
    "remove_after": "regex: this and everything after",
    "unwrap": "CSS selector (content kept)",
    "strip_params": "query parameter globs, comma-separated",
}


def _form(action: str, query: Mapping[str, str], problems: Mapping[str, str], snippet: str) -> str:
    """The "Try a rule" section: a field per rule kind, then snippet (see _snippet)."""
    hidden = "".join(
        f'<input type="hidden" name="{k}" value="{e(query[k])}">'
        for k in ("url", "key")
        if query.get(k)
    )
    fields = []
    for kind, help_text in _FIELD_HELP.items():
        problem = problems.get(kind)
        error = f'<span class="error" id="error-{kind}">{e(problem)}</span>' if problem else ""
        fields.append(
            f'<p><label for="f-{kind}"><code>{kind}</code> <small>{e(help_text)}</small></label>'
            f'<input id="f-{kind}" name="{kind}" value="{e(query.get(kind, ""))}" '
            f'maxlength="{explain.MAX_RULE_CHARS}" autocomplete="off">{error}</p>'
        )
    return (
        f'<section id="try"><h2>Try a rule</h2><form method="get" action="{e(action)}">'
        f'{hidden}<div class="fields">{"".join(fields)}</div>'
        '<p><button type="submit">Try on these items</button> '
        f'<a href="{e(_without_rules(action, query))}">clear</a></p></form>{snippet}</section>'
    )


def _snippet(report: explain.FeedReport, name: str) -> str:
    """The tried rules as a config entry to paste, or nothing when none were tried."""
    if not report.rules:
        return ""
    toml = explain.toml_snippet(report.rules, name=name or "my-feed", url=report.source)
    return (
        "<p>Tried on the cached copy, not stored. To keep it, add this to the config "
        f'file:</p><pre id="toml">{e(toml)}</pre>'
    )


def _without_rules(action: str, query: Mapping[str, str]) -> str:
    kept = {k: query[k] for k in ("url", "key") if query.get(k)}
    return action + ("?" + urlencode(kept) if kept else "")


def _web_link(url: str) -> bool:
    # Strict on purpose: only a plain http(s) URL becomes a link (no spaces or controls that
    # a browser would drop before reading the scheme); anything else is shown as text.
    return url.lower().startswith(("http://", "https://")) and not any(
        ord(ch) <= 0x20 or ord(ch) == 0x7F for ch in url
    )


def _marked(item: explain.ItemReport) -> str:
    return explain.marked_html(item.before, [shown.removal for shown in item.removals])


def _item(item: explain.ItemReport) -> str:
    removals = []
    for shown in item.removals:
        r = shown.removal
        what = e(shown.part) if r.action == "unwrap" else f"<code>{e(shown.part)}</code>"
        text = f' <q class="removed-text">{e(r.text)}</q>' if r.text else ""
        links = "".join(f"<li><code>{e(href)}</code></li>" for href in shown.links)
        removals.append(
            f'<li data-rule="{e(r.rule)}" title="{e(r.reason)}"><span class="rule">'
            f"{e(r.rule)}</span> {what}{text}"
            + (f'<ul class="links">{links}</ul>' if links else "")
            + "</li>"
        )
    changes = "".join(
        f'<li data-rule="{e(c.rule)}" title="{e(c.reason)}"><span class="rule">{e(c.rule)}</span> '
        f"<code>{e(c.old)}</code> → <code>{e(c.new)}</code></li>"
        for c in item.links
    )
    failed = (
        f'<p class="error">Rule {e(item.failed)} failed on this item: it is served as it came '
        "(sanitised).</p>"
        if item.failed
        else ""
    )
    title = e(item.title or "(untitled)")
    heading = (
        f'<a href="{e(item.link)}" rel="noreferrer">{title}</a>' if _web_link(item.link) else title
    )
    return (
        f'<article class="item" id="item-{item.number}" data-item="{item.number}">'
        f'<h2><span class="num">#{item.number}</span> {heading}</h2>{failed}'
        '<div class="columns">'
        f'<section class="before"><h3>Before <small>upstream {e(item.field)}, removed parts '
        f'marked</small></h3><div class="html">{_marked(item)}</div></section>'
        '<section class="after"><h3>After <small>as served</small></h3>'
        f'<div class="html">{item.after}</div></section></div>'
        f"<details open><summary>{len(item.removals)} removals, {len(item.links)} changed links"
        f'</summary><ul class="removals">{"".join(removals) or "<li>nothing removed</li>"}</ul>'
        + (f'<ul class="changed-links">{changes}</ul>' if changes else "")
        + "</details></article>"
    )


CSS = """
:root{--removed:#b3261e;--bg-removed:#fdecea;--rule:#0b57d0;--line:#ddd}
*{box-sizing:border-box}
body{font:15px/1.5 system-ui,sans-serif;margin:0;padding:1rem 1.5rem;color:#1f1f1f}
header h1{margin:.2rem 0;font-size:1.5rem}
.crumbs,.source,.subscribe{margin:.2rem 0;color:#555;overflow-wrap:anywhere}
code{background:#f4f4f4;padding:0 .2em;overflow-wrap:anywhere}
.summary{display:grid;grid-template-columns:repeat(auto-fit,minmax(16rem,1fr));gap:1rem;
  border:1px solid var(--line);border-radius:6px;padding:.5rem 1rem;margin:1rem 0}
.summary h2,#try h2{font-size:1.05rem;margin:.4rem 0}
dl{display:grid;grid-template-columns:auto 1fr;gap:.1rem .8rem;margin:0}
dt{color:#555}dd{margin:0}
table{border-collapse:collapse}td,th{padding:.1rem .6rem;text-align:left;
  border-bottom:1px solid var(--line)}
td.count{text-align:right;font-variant-numeric:tabular-nums}td.why{color:#555;font-size:.85em}
.rule{color:var(--rule);font-family:ui-monospace,monospace;font-size:.9em}
#try{border:1px solid var(--line);border-radius:6px;padding:.5rem 1rem;margin:1rem 0}
#try .fields{display:grid;grid-template-columns:repeat(auto-fit,minmax(18rem,1fr));gap:0 1rem}
#try .fields p{margin:.3rem 0}#try label{display:block}#try input{width:100%}
.error{color:var(--removed);display:block;font-size:.9em}
pre#toml{background:#f4f4f4;padding:.5rem;overflow:auto}
.item{border-top:2px solid var(--line);padding:.5rem 0 1rem}
.item h2{font-size:1.15rem;margin:.5rem 0}.num{color:#777}
.columns{display:grid;grid-template-columns:1fr 1fr;gap:1rem}
@media (max-width:50rem){.columns{grid-template-columns:1fr}}
.columns section{border:1px solid var(--line);border-radius:6px;padding:0 .8rem;min-width:0}
.columns h3{font-size:.95rem;margin:.4rem 0;color:#444}
.html{overflow-wrap:anywhere}.html img{max-width:100%;height:auto}
del.fs-removed{display:block;text-decoration:line-through var(--removed);
  background:var(--bg-removed);outline:1px dashed var(--removed);margin:.2rem 0;
  padding:.1rem .3rem}
del.fs-removed del.fs-removed{display:inline-block}
del.fs-removed.fs-line,del.fs-removed del.fs-removed.fs-line{display:inline;margin:0;
  padding:0 .2rem}
.fs-rule{display:inline-block;background:var(--removed);color:#fff;font:12px/1.4 ui-monospace,
  monospace;padding:0 .3rem;border-radius:3px;margin-right:.3rem}
q.removed-text{color:var(--removed)}
ul.removals,ul.changed-links{margin:.3rem 0;padding-left:1.2rem}
ul.links{margin:0;padding-left:1rem;font-size:.85em}
"""
