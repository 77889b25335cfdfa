#include "steerdns/control/status_page.h"

namespace steerdns::control {

// Kept in one literal so the binary serves it without any file beside it. textContent only:
// zone data (pool names, probe reasons) never becomes markup; the one SVG (the sparkline) is
// cloned from a <template>, and only numbers computed here go into its attributes.
//
// It polls /status?since=REVISION every 2 s: the first answer is everything (with the answer
// series), the next ones only what changed (status_view.h), patched into the rows in place,
// so a 10 000-member table stays cheap to fetch and to redraw. Rows are in tables of 100 with
// the same fixed columns (inside 1280 px), skipped by layout and paint while off screen; the
// zone and the pool are only in their header lines.
std::string_view status_page_html() {
    static constexpr std::string_view kPage = R"HTML(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>steerdns status</title>
<style>
  :root { --up: #1a7f37; --up-bg: #dafbe1; --down: #cf222e; --down-bg: #ffebe9;
          --drained: #7d4e00; --drained-bg: #fff8c5; --open: #953800; --open-bg: #fff1e5;
          --line: #d0d7de; --muted: #57606a; --bar: #0969da; --head: #f6f8fa; }
  * { box-sizing: border-box; }
  body { font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 1em;
         color: #1f2328; background: #fff; }
  header { display: flex; flex-wrap: wrap; align-items: baseline; gap: .3em 1.2em;
           margin-bottom: .8em; }
  h1 { font-size: 1.4em; margin: 0; }
  #summary { color: var(--muted); flex: 1 1 30em; min-width: 0; }
  #summary b.up { color: var(--up); } #summary b.down { color: var(--down); }
  #summary b.drained { color: var(--drained); } #summary b.open { color: var(--open); }
  #controls { display: flex; gap: 1em; align-items: center; }
  #filter { width: 22em; font: inherit; padding: .2em .5em; border: 1px solid var(--line);
            border-radius: 6px; }
  #error { display: none; padding: .6em .8em; margin-bottom: 1em; border-radius: 6px;
           background: var(--down-bg); color: var(--down); border: 1px solid var(--down); }
  #rejected { display: none; padding: .5em .8em; margin-bottom: 1em; border-radius: 6px;
              border: 1px solid var(--down); background: #fff5f5; }
  #rejected h2 { font-size: 1em; margin: 0 0 .3em; color: var(--down); }
  #rejected ul { margin: .2em 0 .4em; padding-left: 1.4em; }
  #rejected li { overflow-wrap: break-word; }
  #rejected .file { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-weight: 600;
                    overflow-wrap: anywhere; }
  /* One table per block of rows, all with the same fixed columns: the blocks off screen are
     neither laid out nor painted (content-visibility), which keeps 10 000 rows cheap. */
  table { border-collapse: collapse; width: 100%; table-layout: fixed; }
  col.address { width: 170px; } col.state { width: 124px; } col.since { width: 62px; }
  col.answers { width: 196px; } col.probe { width: 128px; } col.num { width: 62px; }
  col.region { width: 72px; }
  #head { position: sticky; top: 0; z-index: 1; }
  th, td { text-align: left; padding: .3em .5em; border-bottom: 1px solid var(--line);
           vertical-align: top; }
  th { background: var(--head); font-weight: 600; border-bottom: 2px solid var(--line); }
  td { overflow: hidden; }
  td.address { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 13px;
               overflow-wrap: anywhere; }
  td.address small, td.probe small { display: block; color: var(--muted); font-size: 12px;
                                     font-family: system-ui, sans-serif; }
  td.num, th.num { text-align: right; }
  td.num { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; }
  td.nowrap { white-space: nowrap; text-overflow: ellipsis; }
  td.reason { color: var(--muted); overflow-wrap: break-word; word-break: normal; }
  .chunk { content-visibility: auto; contain-intrinsic-size: auto 3000px; }
  .badge { display: inline-block; min-width: 4.8em; text-align: center; font-weight: 600;
           font-size: 12.5px; border-radius: 1em; padding: 0 .6em; border: 1px solid;
           white-space: nowrap; }
  tr.state-up .badge, .badge.ok { color: var(--up); background: var(--up-bg); border-color: var(--up); }
  tr.state-down .badge, tr.state-suppressed .badge, .badge.empty { color: var(--down);
                                       background: var(--down-bg); border-color: var(--down); }
  tr.state-drained .badge, tr.state-draining .badge, .badge.degraded { color: var(--drained); background: var(--drained-bg);
                                             border-color: var(--drained); }
  .badge.failing-open { color: var(--open); background: var(--open-bg); border-color: var(--open); }
  tr.state-down td, tr.state-suppressed td { background: #fff5f5; }
  tr.state-pending .badge { color: var(--open); background: var(--open-bg); border-color: var(--open); }
  tr.state-standby .badge { color: #0969da; background: #ddf4ff; border-color: #0969da; }
  .zone-head { background: #eaeef2; font-weight: 600; font-size: 15px; padding: .45em .5em;
               margin-top: .6em; overflow-wrap: anywhere; border-bottom: 1px solid var(--line); }
  .zone-head span, .pool-head span.info { font-weight: normal; color: var(--muted); font-size: 13px; }
  .pool-head { background: var(--head); padding: .3em .5em; border-bottom: 1px solid var(--line);
               overflow-wrap: anywhere; }
  .pool-head b { margin-right: .5em; }
  .pool-head .badge { margin-right: .6em; }
  .problem { color: var(--down); font-weight: normal; font-size: 13px; }
  .ok-text { color: var(--up); } .fail-text { color: var(--down); }
  .share { display: flex; align-items: center; gap: .4em; white-space: nowrap; }
  .share .pct { width: 3.2em; text-align: right; font-family: ui-monospace, monospace;
                font-size: 12.5px; }
  .bar { display: inline-block; width: 40px; height: 8px; background: #eaeef2; border-radius: 2px;
         overflow: hidden; flex: none; }
  .bar span { display: block; height: 100%; width: 0; background: var(--bar); }
  svg.spark { width: 90px; height: 18px; flex: none; }
  svg.spark polyline { fill: none; stroke: var(--bar); stroke-width: 1.2;
                       vector-effect: non-scaling-stroke; }
  .hidden { display: none; }
</style>
</head>
<body>
<header>
  <h1>steerdns</h1>
  <div id="summary">loading&hellip;</div>
  <div id="controls">
    <input id="filter" type="search" placeholder="filter: zone, pool, address, state, reason"
           aria-label="filter rows">
    <label><input id="hide-healthy" type="checkbox"> hide healthy pools</label>
  </div>
</header>
<div id="error"></div>
<section id="rejected"><h2>Rejected files (nothing of them is served)</h2><div></div></section>
<template id="cols"><colgroup><col class="address"><col class="state"><col class="since">
  <col class="answers"><col class="probe"><col class="reason"><col class="num"><col class="num">
  <col class="region"></colgroup></template>
<table id="head">
  <thead><tr>
    <th>Address</th><th>State</th><th>Since</th>
    <th title="share of the pool's answers over the last minute; answers per 10 s over the last 10 minutes">Answers 1&#8239;min &middot; 10&#8239;min</th>
    <th>Last probe</th><th>Reason</th><th class="num">Weight</th><th class="num" title="priority">Prio</th>
    <th>Region</th>
  </tr></thead>
</table>
<div id="zones"></div>
<template id="spark"><svg class="spark" viewBox="0 0 59 18" preserveAspectRatio="none"><polyline points=""></polyline></svg></template>
<script>
"use strict";
const SAMPLES = 60, PER_MINUTE = 6, CHUNK = 100;
const STATE_ORDER = { down: 0, suppressed: 0, pending: 0, standby: 1, up: 1, draining: 2, drained: 3 };
const POOL_ORDER = { "failing open": 0, "empty": 1, "degraded": 2, "ok": 3 };
const container = document.getElementById("zones");
const colsTemplate = document.getElementById("cols").content.firstElementChild;
const sparkTemplate = document.getElementById("spark").content.firstElementChild;
document.getElementById("head").prepend(colsTemplate.cloneNode(true));
let revision = 0, now = 0, zones = new Map(), busy = false;

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}
function setText(node, text) { if (node.textContent !== text) node.textContent = text; }
function setTitle(node, text) { if (node.title !== text) node.title = text; }
function full(iso) { return iso ? iso.replace("T", " ").replace("Z", " UTC") : ""; }
// "45 s", "3 min", "5 h", "2 d": how long ago, against the server's clock.
function ago(iso) {
  if (!iso) return "";
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  return s < 90 ? s + " s" : s < 5400 ? Math.round(s / 60) + " min"
       : s < 172800 ? Math.round(s / 3600) + " h" : Math.round(s / 86400) + " d";
}
// "14:03:07" in the browser's time zone (with the day when it is not today). By hand: the
// locale formatters cost too much for 10 000 rows.
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
function two(n) { return n < 10 ? "0" + n : String(n); }
function clock(iso) {
  if (!iso) return "";
  const d = new Date(Date.parse(iso)), today = new Date(now);
  const hm = two(d.getHours()) + ":" + two(d.getMinutes());
  return d.getDate() === today.getDate() && d.getMonth() === today.getMonth() &&
         d.getFullYear() === today.getFullYear() ? hm + ":" + two(d.getSeconds())
       : MONTHS[d.getMonth()] + " " + d.getDate() + " " + hm;
}
function ms(seconds) {
  if (seconds === null || seconds === undefined) return "";
  const v = seconds * 1000;
  return (v < 10 ? v.toFixed(1) : String(Math.round(v))) + " ms";
}

// ---- the model: zones -> pools -> members, as /status lists them -----------------------------
function makeZone(z) {
  const Z = { data: z, pools: [], byName: new Map(), order: true };
  Z.el = el("div", "zone");
  const head = Z.el.appendChild(el("div", "zone-head"));
  Z.name = head.appendChild(el("b"));
  Z.info = head.appendChild(el("span"));
  Z.problem = head.appendChild(el("div", "problem"));
  for (const p of z.pools) {
    const P = makePool(Z, p);
    Z.pools.push(P);
    Z.byName.set(p.name, P);
    Z.el.appendChild(P.el);
  }
  delete z.pools;
  return Z;
}
function makePool(Z, p) {
  const P = { zone: Z, data: p, members: p.members, index: new Map(), columns: p.answers || [],
              rows: [], chunks: [], dirty: new Set(), order: true, head: true, answers: true };
  delete p.members; delete p.answers;
  P.el = el("div", "pool");
  P.el.dataset.pool = p.name;
  const head = P.el.appendChild(el("div", "pool-head"));
  P.name = head.appendChild(el("b"));
  P.badge = head.appendChild(el("span", "badge"));
  P.info = head.appendChild(el("span", "info"));
  P.members.forEach((m, i) => {
    P.index.set(m.address, i);
    P.rows.push(makeRow(Z, P));
    P.dirty.add(i);
  });
  for (let c = 0; c < P.rows.length; c += CHUNK) {
    const div = P.el.appendChild(el("div", "chunk"));
    const table = div.appendChild(el("table"));
    table.appendChild(colsTemplate.cloneNode(true));
    P.chunks.push(table.appendChild(el("tbody")));
  }
  return P;
}
function makeRow(Z, P) {
  const tr = el("tr", "member");
  tr.dataset.zone = Z.data.zone;
  tr.dataset.pool = P.data.name;
  const c = {};
  c.address = tr.appendChild(el("td", "address"));
  c.addr = c.address.appendChild(el("span"));
  c.via = c.address.appendChild(el("small"));
  c.state = tr.appendChild(el("td", "nowrap"));
  c.badge = c.state.appendChild(el("span", "badge"));
  c.since = tr.appendChild(el("td", "nowrap"));
  c.answers = tr.appendChild(el("td"));
  const share = c.answers.appendChild(el("div", "share"));
  c.pct = share.appendChild(el("span", "pct"));
  c.bar = share.appendChild(el("span", "bar")).appendChild(el("span"));
  c.spark = share.appendChild(sparkTemplate.cloneNode(true)).firstElementChild;
  c.probe = tr.appendChild(el("td", "probe nowrap"));
  c.result = c.probe.appendChild(el("span"));
  c.when = c.probe.appendChild(el("span"));
  c.latency = c.probe.appendChild(el("small"));
  c.reason = tr.appendChild(el("td", "reason"));
  c.weight = tr.appendChild(el("td", "num"));
  c.priority = tr.appendChild(el("td", "num"));
  c.region = tr.appendChild(el("td", "nowrap"));
  tr.cells_ = c;
  return tr;
}

// ---- drawing: what changed, plus the times and shares that move ----------------------------------
function drawZone(Z) {
  const z = Z.data;
  setText(Z.name, z.zone);
  // The hash's first digits, as git shows a commit: enough to see two servers differ.
  setText(Z.info, "  serial " + z.serial +
          (z.file_sha256 ? " \u00b7 sha256 " + z.file_sha256.slice(0, 12) : "") +
          " \u00b7 " + z.file +
          (z.loaded_at ? " \u00b7 loaded " + ago(z.loaded_at) + " ago" : ""));
  setTitle(Z.info, z.loaded_at ? "loaded " + full(z.loaded_at) : "");
  setText(Z.problem, z.errors && z.errors.length
          ? "file rejected, the previous version is serving: " + z.errors.join("; ") : "");
}
const POOL_WHY = {
  "ok": () => "every enabled member is up",
  "degraded": () => "some members are down; the others answer",
  "failing open": () => "no member up: fallback \"all\" answers every enabled member, down ones included",
  "empty": p => p.fallback_pool ? "no member up: pool " + p.fallback_pool + " answers instead"
              : "answers none of its members (none enabled, or none up with fallback \"none\")" };
function drawPoolHead(P, minute) {
  const p = P.data;
  setText(P.name, p.name);
  P.el.dataset.poolState = p.state;
  P.badge.className = "badge " + p.state.replace(" ", "-");
  setText(P.badge, p.state + (p.state === "empty" && p.fallback_pool ? " \u2192 " + p.fallback_pool : ""));
  setTitle(P.badge, POOL_WHY[p.state] ? POOL_WHY[p.state](p) : "");
  setText(P.info, p.policy + " \u00b7 TTL " + p.ttl + " s" +
          (p.ttl_degraded != null ? " (" + p.ttl_degraded + " s while degraded)" : "") +
          " \u00b7 fallback " + p.fallback +
          (p.fallback_pool ? " (" + p.fallback_pool + ")" : "") + " \u00b7 " + p.up + " up, " +
          p.down + " down, " + p.drained + " drained" +
          (minute.samples ? " \u00b7 " + minute.total + " answers/min" : ""));
}
// Per member: answers over the last minute (the last 6 samples), and the pool's total.
function lastMinute(P) {
  const cols = P.columns.slice(-PER_MINUTE), per = new Array(P.members.length).fill(0);
  let total = 0;
  for (const col of cols) for (let i = 0; i < per.length; ++i) { per[i] += col[i] || 0; total += col[i] || 0; }
  return { per, total, samples: cols.length };
}
function drawAnswers(P, i, minute) {
  const c = P.rows[i].cells_;
  if (!minute.samples) {
    setText(c.pct, "");
    setTitle(c.answers, "no sample yet (one every 10 s)");
    return;
  }
  const share = minute.total ? minute.per[i] / minute.total : 0;
  const pct = share * 100;
  setText(c.pct, !minute.total ? "\u2013" : (pct > 0 && pct < 9.95 ? pct.toFixed(1) : Math.round(pct)) + "%");
  c.bar.style.width = (share * 100).toFixed(1) + "%";
  const series = P.columns.map(col => col[i] || 0);
  while (series.length < SAMPLES) series.unshift(0);
  const max = Math.max(1, ...series);
  c.spark.setAttribute("points", series.map((v, x) => x + "," + (17 - 16 * v / max).toFixed(1)).join(" "));
  setTitle(c.answers, minute.per[i] + " of the pool's " + minute.total +
           " answers in the last minute; at most " + max + " per 10 s over the last 10 minutes");
}
function drawMember(P, i) {
  const m = P.members[i], tr = P.rows[i], c = tr.cells_;
  tr.className = "member state-" + m.state;
  tr.dataset.address = m.address;
  tr.dataset.state = m.state;
  setText(c.addr, m.address);
  setText(c.via, m.probe_address ? "probed at " + m.probe_address : "");
  // Draining: how long until no resolver can still hold an answer with it.
  const left = m.state === "draining" && m.safe_to_remove_at
    ? Math.max(0, Math.ceil((Date.parse(m.safe_to_remove_at) - now) / 1000))
    : null;
  // Standby: up, held out by the pool's "failback" until a delay ends or POST /failback.
  const fbLeft = m.state === "standby" && m.failback_until
    ? Math.max(0, Math.ceil((Date.parse(m.failback_until) - now) / 1000))
    : null;
  setText(c.badge, m.state === "standby"
      ? "up (awaiting failback" + (fbLeft !== null ? ", " + fbLeft + "s left" : "") + ")"
      : m.state + (m.drained_by ? " (" + m.drained_by + (left !== null ? ", " + left + "s left" : "") + ")" : ""));
  setTitle(c.badge, m.suppressed_reason
      ? m.suppressed_reason + ", until " + full(m.suppressed_until)
      : m.failback_reason ? m.failback_reason : "health: " + m.health);
  drawProbe(P, i);
  // A composite check: each part's state, and each part's last result on hover.
  setText(c.reason, m.checks ? m.checks.map(k => k.name + " " + k.state).join(", ") +
          " (require " + m.require + ")" : m.reason || "");
  setTitle(c.reason, m.checks ? m.checks.map(k => k.name + ": " + (k.reason || k.state)).join("\n") : "");
  setText(c.weight, String(m.weight));
  setText(c.priority, String(m.priority));
  setText(c.region, m.region || "");
  setTitle(c.region, m.region || "");
  tr.haystack_ = [P.zone.data.zone, P.data.name, m.address, m.probe_address || "", m.state,
                  m.reason || "", m.region || "", m.drained_by || "",
                  m.suppressed_reason || "", m.failback_reason || ""].join(" ").toLowerCase();
}
function drawProbe(P, i) {
  const m = P.members[i], c = P.rows[i].cells_;
  if (!m.check || !m.last_result) {
    setText(c.result, "");
    setText(c.when, m.check ? m.check + ": pending" : "no check");
    setText(c.latency, "");
    setTitle(c.probe, "");
    return;
  }
  const ok = m.last_result === "success";
  c.result.className = ok ? "ok-text" : "fail-text";
  setText(c.result, ok ? "ok " : "failed ");
  setText(c.when, clock(m.last_probe));
  setText(c.latency, m.check + (m.latency_seconds === null ? "" : " \u00b7 " + ms(m.latency_seconds)));
  setTitle(c.probe, m.check + " probe: " + m.last_result + " at " + full(m.last_probe) +
           (m.latency_seconds === null ? "" : ", took " + ms(m.latency_seconds)));
}
function drawSince(P, i) {
  const m = P.members[i], c = P.rows[i].cells_;
  setText(c.since, ago(m.since));
  setTitle(c.since, m.since ? m.state + " since " + full(m.since) : "");
}

// Down members first, then up, then drained; pools failing open or empty first, then degraded.
function sortPool(P) {
  const order = P.members.map((m, i) => i);
  order.sort((a, b) => (STATE_ORDER[P.members[a].state] ?? 3) - (STATE_ORDER[P.members[b].state] ?? 3) || a - b);
  order.forEach((i, k) => P.chunks[Math.floor(k / CHUNK)].appendChild(P.rows[i]));
}
function sortZone(Z) {
  const pools = Z.pools.map((P, i) => [P, i]);
  pools.sort((a, b) => (POOL_ORDER[a[0].data.state] ?? 4) - (POOL_ORDER[b[0].data.state] ?? 4) || a[1] - b[1]);
  for (const [P] of pools) Z.el.appendChild(P.el);
}

function draw() {
  for (const Z of zones.values()) {
    drawZone(Z);
    for (const P of Z.pools) {
      const minute = lastMinute(P);
      if (P.head || P.answers) drawPoolHead(P, minute);
      for (const i of P.dirty) drawMember(P, i);
      for (let i = 0; i < P.members.length; ++i) {
        drawSince(P, i);
        if (P.answers) drawAnswers(P, i, minute);
      }
      if (P.order) sortPool(P);
      P.dirty.clear();
      P.head = P.answers = P.order = false;
    }
    if (Z.order) sortZone(Z);
    Z.order = false;
  }
  applyFilter();
}

// ---- what the server sent ---------------------------------------------------------------------
function load(doc) {
  zones = new Map();
  // Built and drawn outside the document, then put in at once.
  const all = document.createDocumentFragment();
  for (const z of doc.zones) {
    const Z = makeZone(z);
    zones.set(z.zone, Z);
    all.appendChild(Z.el);
  }
  draw();
  container.replaceChildren(all);
}
// False when the patch does not fit what is shown (then everything is fetched again).
function patch(doc) {
  for (const z of doc.zones) {
    const Z = zones.get(z.zone);
    if (!Z) return false;
    if ("serial" in z) { const { pools, ...fields } = z; Object.assign(Z.data, fields); }
    for (const p of z.pools || []) {
      const P = Z.byName.get(p.name);
      if (!P) return false;
      const { members, probes, answers, ...fields } = p;
      if ("state" in fields) {
        if (fields.state !== P.data.state) Z.order = true;
        Object.assign(P.data, fields);
        P.head = true;
      }
      for (const m of members || []) {
        const i = P.index.get(m.address);
        if (i === undefined) return false;
        if (P.members[i].state !== m.state) P.order = true;
        P.members[i] = m;
        P.dirty.add(i);
      }
      for (const [address, [last, latency]] of Object.entries(probes || {})) {
        const i = P.index.get(address);
        if (i === undefined) return false;
        P.members[i].last_probe = last;
        P.members[i].latency_seconds = latency;
        drawProbe(P, i);
      }
      if (answers && answers.length) {
        P.columns = P.columns.concat(answers).slice(-SAMPLES);
        P.answers = true;
      }
    }
  }
  return true;
}

function drawRejected(files) {
  const box = document.getElementById("rejected"), list = box.querySelector("div");
  list.replaceChildren();
  for (const f of files || []) {
    list.appendChild(el("div", "file", f.file));
    const ul = list.appendChild(el("ul"));
    for (const e of f.errors) ul.appendChild(el("li", null, e));
  }
  box.style.display = files && files.length ? "block" : "none";
}
function drawSummary(doc) {
  const count = { up: 0, down: 0, drained: 0 };
  const pools = { "ok": 0, "degraded": 0, "failing open": 0, "empty": 0 };
  for (const Z of zones.values()) for (const P of Z.pools) {
    pools[P.data.state] = (pools[P.data.state] || 0) + 1;
    // Suppressed, pending and standby are out of answers (as down); draining as drained.
    for (const m of P.members) {
      const s = m.state === "suppressed" || m.state === "pending" || m.state === "standby" ? "down"
        : m.state === "draining" ? "drained" : m.state;
      count[s] = (count[s] || 0) + 1;
    }
  }
  const sum = document.getElementById("summary");
  sum.replaceChildren();
  const add = (t, cls) => sum.appendChild(el(cls ? "b" : "span", cls, t));
  add(count.up + " up", "up"); add(", ");
  add(count.down + " down", "down"); add(", ");
  add(count.drained + " drained", "drained");
  add(" \u00b7 pools: " + pools.ok + " ok, " + pools.degraded + " degraded, ");
  add(pools["failing open"] + " failing open", pools["failing open"] ? "open" : null);
  add(", ");
  add(pools.empty + " empty", pools.empty ? "down" : null);
  add(" \u00b7 steerdns " + doc.version + " \u00b7 updated " + clock(doc.now));
}

// ---- filter box and "hide healthy pools" (kept in the URL's #fragment) --------------------------
const filterBox = document.getElementById("filter"), hideBox = document.getElementById("hide-healthy");
function applyFilter() {
  const words = filterBox.value.toLowerCase().split(/\s+/).filter(Boolean);
  const hide = hideBox.checked;
  for (const Z of zones.values()) {
    let zoneShown = !hide && words.length === 0;
    for (const P of Z.pools) {
      const healthy = hide && P.data.state === "ok";
      let shown = 0;
      for (const tr of P.rows) {
        const match = !healthy && words.every(w => tr.haystack_.includes(w));
        tr.classList.toggle("hidden", !match);
        shown += match ? 1 : 0;
      }
      const poolShown = shown > 0 || (!healthy && words.length === 0);
      P.el.classList.toggle("hidden", !poolShown);
      zoneShown = zoneShown || poolShown;
    }
    Z.el.classList.toggle("hidden", !zoneShown);
  }
}
function saveView() {
  const parts = [];
  if (filterBox.value) parts.push("filter=" + encodeURIComponent(filterBox.value));
  if (hideBox.checked) parts.push("hide-healthy");
  history.replaceState(null, "", parts.length ? "#" + parts.join("&") : location.pathname);
  applyFilter();
}
for (const part of location.hash.slice(1).split("&")) {
  if (part.startsWith("filter=")) filterBox.value = decodeURIComponent(part.slice(7));
  if (part === "hide-healthy") hideBox.checked = true;
}
filterBox.addEventListener("input", saveView);
hideBox.addEventListener("change", saveView);

// ---- polling --------------------------------------------------------------------------------------
async function refresh() {
  if (busy) return;
  busy = true;
  const err = document.getElementById("error");
  try {
    let doc, text;
    for (;;) {
      const r = await fetch("status?since=" + revision, { cache: "no-store" });
      if (!r.ok) throw new Error("GET /status: HTTP " + r.status);
      text = await r.text();
      doc = JSON.parse(text);
      now = Date.parse(doc.now);
      if (doc.full) { load(doc); break; }
      if (patch(doc)) { draw(); break; }
      revision = 0;  // it does not fit what is shown: everything again, at once
    }
    revision = doc.revision;
    drawRejected(doc.rejected_files);
    drawSummary(doc);
    err.style.display = "none";
    const b = document.body.dataset;
    b.refreshes = String(Number(b.refreshes || 0) + 1);
    b.lastBytes = String(text.length);
    if (!doc.full) b.maxPatchBytes = String(Math.max(Number(b.maxPatchBytes || 0), text.length));
    // For the tests: the page fits the window (no sideways scrolling), and the Reason column
    // has room for words.
    b.scrollWidth = String(document.documentElement.scrollWidth);
    b.viewportWidth = String(document.documentElement.clientWidth);
    b.reasonWidth = String(Math.round(document.querySelector("#head th:nth-child(6)").getBoundingClientRect().width));
  } catch (e) {
    err.textContent = "cannot reach steerdns: " + e.message + " (retrying every 2 s)";
    err.style.display = "block";
  } finally {
    busy = false;
  }
}
refresh();
setInterval(refresh, 2000);
</script>
</body>
</html>
)HTML";
    return kPage;
}

}  // namespace steerdns::control
