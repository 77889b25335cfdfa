#include "steerdns/control/status_page.h"

namespace steerdns::control {

// Kept in one literal so the binary serves it without any file beside it. textContent only:
// zone data (pool names, probe reasons) never becomes markup.
std::string_view status_page_html() {
    static constexpr std::string_view kPage = R"HTML(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>steerdns status</title>
<style>
  :root { --up: #1a7f37; --up-bg: #dafbe1; --down: #cf222e; --down-bg: #ffebe9;
          --drained: #7d4e00; --drained-bg: #fff8c5; --line: #d0d7de; --muted: #57606a; }
  body { font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 1.5em;
         color: #1f2328; background: #fff; }
  h1 { font-size: 1.4em; margin: 0 0 .2em; }
  #summary { color: var(--muted); margin-bottom: 1em; }
  #summary b.up { color: var(--up); } #summary b.down { color: var(--down); }
  #summary b.drained { color: var(--drained); }
  #error { display: none; padding: .6em .8em; margin-bottom: 1em; border-radius: 6px;
           background: var(--down-bg); color: var(--down); border: 1px solid var(--down); }
  table { border-collapse: collapse; width: 100%; }
  th, td { text-align: left; padding: .35em .6em; border-bottom: 1px solid var(--line);
           vertical-align: top; }
  th { background: #f6f8fa; font-weight: 600; position: sticky; top: 0; }
  td.address, td.num { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; }
  td.num { text-align: right; }
  td.nowrap, .badge { white-space: nowrap; }
  td.reason { color: var(--muted); max-width: 28em; overflow-wrap: anywhere; }
  .badge { display: inline-block; min-width: 5.5em; text-align: center; font-weight: 600;
           border-radius: 1em; padding: .05em .6em; border: 1px solid; }
  tr.state-up .badge { color: var(--up); background: var(--up-bg); border-color: var(--up); }
  tr.state-down .badge { color: var(--down); background: var(--down-bg); border-color: var(--down); }
  tr.state-drained .badge { color: var(--drained); background: var(--drained-bg);
                            border-color: var(--drained); }
  tr.state-down td { background: #fff5f5; }
  tr.zone-row td { background: #f6f8fa; font-weight: 600; }
  tr.zone-row td span { font-weight: normal; color: var(--muted); }
  .problem { color: var(--down); font-weight: normal; }
</style>
</head>
<body>
<h1>steerdns</h1>
<div id="summary">loading&hellip;</div>
<div id="error"></div>
<table id="members">
  <thead><tr>
    <th>Zone</th><th>Pool</th><th>Policy</th><th>Address</th><th>State</th><th>Since</th>
    <th>Last probe</th><th>Reason</th><th>Latency</th><th>Weight</th><th>Priority</th>
    <th>Region</th>
  </tr></thead>
  <tbody></tbody>
</table>
<script>
"use strict";
function cell(tr, text, cls) {
  const td = document.createElement("td");
  td.textContent = text === null || text === undefined ? "" : String(text);
  if (cls) td.className = cls;
  tr.appendChild(td);
  return td;
}
function ago(iso, now) {
  if (!iso) return "";
  const s = Math.max(0, Math.round((Date.parse(now) - Date.parse(iso)) / 1000));
  const span = s < 120 ? s + " s" : s < 7200 ? Math.round(s / 60) + " min"
             : s < 172800 ? Math.round(s / 3600) + " h" : Math.round(s / 86400) + " d";
  return iso.replace("T", " ").replace("Z", " UTC") + " (" + span + " ago)";
}
function render(doc) {
  const body = document.querySelector("#members tbody");
  const rows = [];
  const count = { up: 0, down: 0, drained: 0 };
  for (const z of doc.zones) {
    const head = document.createElement("tr");
    head.className = "zone-row";
    const td = cell(head, z.zone);
    td.colSpan = 12;
    const info = document.createElement("span");
    info.textContent = "  serial " + z.serial + " \u00b7 " + z.file +
                       (z.loaded_at ? " \u00b7 loaded " + ago(z.loaded_at, doc.now) : "");
    td.appendChild(info);
    if (z.errors && z.errors.length) {
      const p = document.createElement("div");
      p.className = "problem";
      p.textContent = "file rejected, previous version serving: " + z.errors.join("; ");
      td.appendChild(p);
    }
    rows.push(head);
    for (const p of z.pools) {
      for (const m of p.members) {
        count[m.state] = (count[m.state] || 0) + 1;
        const tr = document.createElement("tr");
        tr.className = "member state-" + m.state;
        tr.dataset.zone = z.zone;
        tr.dataset.pool = p.name;
        tr.dataset.address = m.address;
        tr.dataset.state = m.state;
        cell(tr, z.zone);
        cell(tr, p.name);
        cell(tr, p.policy, "nowrap");
        cell(tr, m.address, "address");
        const st = cell(tr, "");
        const badge = document.createElement("span");
        badge.className = "badge";
        badge.textContent = m.state + (m.drained_by ? " (" + m.drained_by + ")" : "");
        st.appendChild(badge);
        cell(tr, ago(m.since, doc.now), "nowrap");
        cell(tr, m.check ? (m.last_result || "pending") + " \u00b7 " + m.check : "no check");
        cell(tr, m.reason, "reason");
        cell(tr, m.latency_seconds === null ? "" : (m.latency_seconds * 1000).toFixed(1) + " ms", "num");
        cell(tr, m.weight, "num");
        cell(tr, m.priority, "num");
        cell(tr, m.region);
        rows.push(tr);
      }
    }
  }
  body.replaceChildren(...rows);
  const sum = document.getElementById("summary");
  sum.replaceChildren();
  const add = (t, cls) => { const b = document.createElement(cls ? "b" : "span");
                            if (cls) b.className = cls; b.textContent = t; sum.appendChild(b); };
  add(count.up + " up", "up"); add(", ");
  add(count.down + " down", "down"); add(", ");
  add(count.drained + " drained", "drained");
  add(" \u00b7 steerdns " + doc.version + " \u00b7 updated " +
      doc.now.replace("T", " ").replace("Z", " UTC"));
  if (doc.rejected_files && doc.rejected_files.length) {
    add(" \u00b7 not served: " + doc.rejected_files.map(f => f.file).join(", "));
  }
}
async function refresh() {
  const err = document.getElementById("error");
  try {
    const r = await fetch("status", { cache: "no-store" });
    if (!r.ok) throw new Error("GET /status: HTTP " + r.status);
    render(await r.json());
    err.style.display = "none";
    document.body.dataset.refreshes = String(Number(document.body.dataset.refreshes || 0) + 1);
  } catch (e) {
    err.textContent = "cannot reach steerdns: " + e.message + " (retrying every 2 s)";
    err.style.display = "block";
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
