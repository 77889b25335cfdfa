#include "steerdns/control/peer_page.h"

#include <nlohmann/json.hpp>

namespace steerdns::control {
namespace {

// Moved under the page's header by its script, so that it sits above a long member table.
// textContent only, as on the rest of the page: a peer's document never becomes markup.
constexpr std::string_view kSection =
    R"HTML(<section id="peers" data-servers="0" data-answered="0" data-differ="0">
<style>
  #peers { margin-bottom: 1em; }
  #peers h2 { font-size: 1.1em; margin: 0 0 .3em; }
  #peers table { table-layout: auto; margin-bottom: .6em; }
  #peers td.bad { color: var(--down); }
  #peers td.down { color: var(--down); font-weight: 600; }
  #peers td.up { color: var(--up); }
  #peers td.address { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; }
</style>
<h2>Servers of this NS set</h2>
<p><label>Token for servers that need one to read <input id="peer-token" type="password"
autocomplete="off" size="24"></label> (kept in this tab only)</p>
<table id="peer-servers"><thead><tr><th>Server</th><th>NSID</th><th>Zones (serial)</th>
<th>Members up / down</th><th>Read</th></tr></thead><tbody></tbody></table>
<table id="peer-differ"><thead><tr><th>Members whose state differs</th></tr></thead>
<tbody></tbody></table>
</section>
<script>
"use strict";
(function () {
  const peers = PEER_URLS;
  const section = document.getElementById("peers");
  const header = document.querySelector("header");
  if (header) header.after(section);
  function cell(tr, text, cls, title, tag) {
    const td = document.createElement(tag || "td");
    td.textContent = text;
    if (cls) td.className = cls;
    if (title) td.title = title;
    tr.appendChild(td);
  }
  function members(doc) {
    const out = new Map();
    for (const z of doc.zones || [])
      for (const p of z.pools || [])
        for (const m of p.members || []) out.set(z.zone + " " + p.name + " " + m.address, m);
    return out;
  }
  // A peer that is not open to this browser's network wants its --control-token-file token.
  // It stays in this tab's sessionStorage and goes only to the servers listed here, in a
  // header (never in a URL or a cookie); the server never writes it into the page.
  const tokenInput = document.getElementById("peer-token");
  tokenInput.value = sessionStorage.getItem("steerdns-peer-token") || "";
  tokenInput.addEventListener("change", () => {
    sessionStorage.setItem("steerdns-peer-token", tokenInput.value.trim());
    poll();
  });
  async function read(base) {
    // The peer must allow this page's origin: steerdns sends Access-Control-Allow-Origin on
    // GET /status, and answers the preflight of a GET with a token, when it is started with
    // --peer-status itself.
    const token = tokenInput.value.trim();
    const init = {cache: "no-store"};
    if (token) init.headers = {Authorization: "Bearer " + token};
    const r = await fetch(base + "/status", init);
    if (r.status === 401 || r.status === 403)
      throw new Error("HTTP " + r.status + (token ? ": wrong token?" : ": needs the token"));
    if (!r.ok) throw new Error("HTTP " + r.status);
    return r.json();
  }
  async function poll() {
    const bases = [""].concat(peers.map(p => p.replace(/\/+$/, "")));
    // fetch() rejects with a TypeError when nothing came back (down, or no CORS header).
    const got = await Promise.all(bases.map(b => read(b).then(doc => ({doc}),
        e => ({error: e instanceof TypeError
                   ? e.message + " (reachable from this browser, and started with --peer-status?)"
                   : e.message}))));
    const servers = section.querySelector("#peer-servers tbody");
    servers.replaceChildren();
    const views = [];
    got.forEach((g, i) => {
      const tr = document.createElement("tr");
      cell(tr, i === 0 ? "this server" : bases[i]);
      if (g.doc) {
        const ms = members(g.doc);
        let up = 0, down = 0;
        for (const m of ms.values()) {
          if (m.state === "up") up++;
          else if (m.state === "down") down++;
        }
        cell(tr, g.doc.nsid || "-");
        cell(tr, (g.doc.zones || []).map(z => z.zone + " (" + z.serial + ")").join(", "));
        cell(tr, up + " / " + down);
        cell(tr, "ok", "up");
        views.push({name: i === 0 ? "this server" : (g.doc.nsid || bases[i]), ms});
      } else {
        cell(tr, "-"); cell(tr, "-"); cell(tr, "-");
        cell(tr, g.error, "bad");
      }
      servers.appendChild(tr);
    });
    // Members any answering server has, whose state is not the same on all of them.
    const keys = new Set();
    for (const v of views) for (const k of v.ms.keys()) keys.add(k);
    const stateOn = (v, k) => v.ms.has(k) ? v.ms.get(k).state : "-";
    const differ = [...keys].sort().filter(k => new Set(views.map(v => stateOn(v, k))).size > 1);
    const table = section.querySelector("#peer-differ");
    const head = document.createElement("tr");
    cell(head, "Zone pool address", "", "", "th");
    for (const v of views) cell(head, v.name, "", "", "th");
    table.tHead.replaceChildren(head);
    const body = table.tBodies[0];
    body.replaceChildren();
    for (const k of differ) {
      const tr = document.createElement("tr");
      cell(tr, k, "address");
      for (const v of views) {
        const m = v.ms.get(k);
        cell(tr, m ? m.state : "-", m ? m.state : "", m && m.reason ? m.reason : "");
      }
      body.appendChild(tr);
    }
    if (!differ.length) {
      const tr = document.createElement("tr");
      cell(tr, views.length > 1 ? "none: the servers that answered agree" : "no peer answered");
      body.appendChild(tr);
    }
    const d = section.dataset;
    d.servers = String(bases.length);
    d.answered = String(views.length);
    d.differ = String(differ.length);
    d.refreshes = String(Number(d.refreshes || 0) + 1);
  }
  async function loop() {
    try { await poll(); } finally { setTimeout(loop, 5000); }
  }
  loop();
})();
</script>
)HTML";

}  // namespace

bool parse_peer_url(std::string_view text, std::string& out, std::string& error) {
    std::string_view rest = text;
    if (rest.starts_with("http://")) {
        rest.remove_prefix(7);
    } else if (rest.starts_with("https://")) {
        rest.remove_prefix(8);
    } else {
        error = "not an http:// or https:// URL (e.g. http://192.0.2.53:8053)";
        return false;
    }
    if (rest.ends_with('/')) rest.remove_suffix(1);
    if (rest.empty()) {
        error = "no host (e.g. http://192.0.2.53:8053)";
        return false;
    }
    for (char c : rest) {
        // The page adds /status itself: a path, a query or characters that would need quoting
        // are a mistake in the option.
        if (c == '/' || c == '?' || c == '#' || c == '"' || c == '\'' || c == '\\' || c == '<' ||
            c == '>' || static_cast<unsigned char>(c) <= 0x20 ||
            static_cast<unsigned char>(c) >= 0x7f) {
            error = std::string("unexpected '") + c +
                    "': give the control endpoint's base URL only, e.g. http://192.0.2.53:8053";
            return false;
        }
    }
    out = std::string(text.substr(0, text.size() - (text.ends_with('/') ? 1 : 0)));
    return true;
}

std::string with_peer_status(std::string_view page, const std::vector<std::string>& peers) {
    if (peers.empty()) return std::string(page);
    constexpr std::string_view kMark = "PEER_URLS";
    constexpr std::string_view kEnd = "</body>";
    const size_t at = page.rfind(kEnd);
    if (at == std::string_view::npos) return std::string(page);
    // The URLs are checked by parse_peer_url (no quotes, no '<'): a JSON array of them cannot
    // end the script.
    const std::string urls = nlohmann::json(peers).dump();
    const size_t mark = kSection.find(kMark);
    std::string out;
    out.reserve(page.size() + kSection.size() + urls.size());
    out.append(page.substr(0, at));
    out.append(kSection.substr(0, mark));
    out.append(urls);
    out.append(kSection.substr(mark + kMark.size()));
    out.append(page.substr(at));
    return out;
}

}  // namespace steerdns::control
