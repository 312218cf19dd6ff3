// vmstor web page: plain JS over the read-only /api/v1. Tables are paged by
// the server (100 rows at a time), topology pictures are drawn for one VM,
// LUN or array at a time, so the page stays quick with 10,000 VMs.
"use strict";

const PAGE = 100;
// States with a colour (see app.css: .s-*, .f-*, .e-*).
const COLORS = { ok: 1, active: 1, degraded: 1, standby: 1, partial: 1, failed: 1, unknown: 1 };
const main = document.getElementById("main");
let token = sessionStorage.getItem("vmstor-token") || "";
let renderSeq = 0;

// h builds an element; text children are text nodes (never parsed as HTML).
function h(tag, attrs, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const k of kids.flat(Infinity)) {
    if (k === undefined || k === null || k === false) continue;
    el.append(k instanceof Node ? k : document.createTextNode(String(k)));
  }
  return el;
}
const SVG = "http://www.w3.org/2000/svg";
function s(tag, attrs, ...kids) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v);
  }
  for (const k of kids) el.append(k instanceof Node ? k : document.createTextNode(String(k)));
  return el;
}

// fill replaces el's children; nested arrays of children are flattened.
function fill(el, ...kids) {
  el.replaceChildren(...kids.flat(Infinity).filter((k) => k !== undefined && k !== null && k !== false && k !== "")
    .map((k) => (k instanceof Node ? k : document.createTextNode(String(k)))));
}

class AuthError extends Error {}

async function api(path, params) {
  const u = new URL("/api/v1" + path, location.origin);
  for (const [k, v] of Object.entries(params || {})) if (v !== undefined && v !== "") u.searchParams.set(k, v);
  const headers = token ? { Authorization: "Bearer " + token } : {};
  const r = await fetch(u, { headers });
  if (r.status === 401) throw new AuthError("this server needs a bearer token");
  const body = await r.json();
  if (!r.ok) throw new Error(body.error || r.statusText);
  return body;
}

function bytes(n) {
  if (!n) return "";
  const u = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return (i ? n.toFixed(1) : n) + " " + u[i];
}
const pill = (st) => h("span", { class: "pill s-" + (st || "unknown") }, st || "unknown");
const link = (hash, text) => h("a", { href: "#/" + hash }, text);
const enc = encodeURIComponent;
function pathCounts(p) {
  return h("span", { class: "pc" },
    h("span", { class: "a", title: "active" }, p.active + "▲"),
    p.standby ? h("span", { class: "s", title: "standby" }, p.standby + "◆") : null,
    p.failed ? h("span", { class: "f", title: "failed" }, p.failed + "✖") : null,
    p.unknown ? h("span", { class: "u", title: "unknown" }, p.unknown + "?") : null);
}

// route parses "#/vms?q=x&offset=100" into {view, id, params}.
function route() {
  const raw = location.hash.replace(/^#\/?/, "") || "vms";
  const [p, qs] = raw.split("?");
  const parts = p.split("/");
  return { view: parts[0], id: parts.length > 1 ? decodeURIComponent(parts.slice(1).join("/")) : "",
    params: new URLSearchParams(qs || "") };
}
function go(view, params) {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v) qs.set(k, v);
  const s = qs.toString();
  location.hash = "#/" + view + (s ? "?" + s : "");
}

// table renders a server-paged list with a search box.
async function table(seq, opts) {
  const { view, title, path, columns, filters, params } = opts;
  const offset = +params.get("offset") || 0;
  const q = Object.fromEntries(filters.map((f) => [f, params.get(f) || ""]));
  const data = await api(path, { ...q, limit: PAGE, offset });
  if (seq !== renderSeq) return;
  const input = h("input", { type: "search", placeholder: "search " + title.toLowerCase() + "…", value: q.q || "",
    "aria-label": "search" });
  let timer;
  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => go(view, { ...q, q: input.value, offset: 0 }), 250);
  });
  const chips = filters.filter((f) => f !== "q" && q[f]).map((f) =>
    h("button", { onclick: () => go(view, { ...q, [f]: "", offset: 0 }), title: "remove filter" }, f + ": " + q[f] + " ✕"));
  const total = data.total;
  const end = offset + data.items.length;
  const pager = h("div", { class: "pager" },
    h("button", { disabled: offset === 0, onclick: () => go(view, { ...q, offset: Math.max(0, offset - PAGE) }) }, "‹ prev"),
    h("span", { class: "count" }, data.items.length ? `${offset + 1}–${end} of ${total}` : "no match"),
    h("button", { disabled: !data.next_offset, onclick: () => go(view, { ...q, offset: data.next_offset }) }, "next ›"));
  const rows = data.items.map((it) => h("tr", {}, columns.map((c) => h("td", { class: c.num ? "num" : "" }, c.cell(it)))));
  const focused = document.activeElement && document.activeElement.getAttribute("aria-label") === "search";
  fill(main, h("h2", {}, title), h("div", { class: "toolbar" }, input, chips), pager,
    h("table", { id: view + "-table" }, h("thead", {}, h("tr", {}, columns.map((c) => h("th", { class: c.num ? "num" : "" }, c.head)))),
      h("tbody", {}, rows)));
  if (focused) { input.focus(); input.setSelectionRange(input.value.length, input.value.length); }
}

const views = {
  vms: (seq, r) => table(seq, { view: "vms", title: "VMs", path: "/vms", params: r.params,
    filters: ["q", "host", "lun", "array", "health"],
    columns: [
      { head: "VM", cell: (v) => link("vm/" + enc(v.id), v.name || v.id) },
      { head: "Host", cell: (v) => link("vms?host=" + enc(v.host), v.host) },
      { head: "State", cell: (v) => v.state },
      { head: "Disks", num: true, cell: (v) => v.disks },
      { head: "Capacity", num: true, cell: (v) => bytes(v.capacity_bytes) },
      { head: "Datastores", cell: (v) => v.datastores.join(", ") },
      { head: "LUNs", cell: (v) => v.luns.slice(0, 3).map((l) => [link("lun/" + enc(l), l), " "]).concat(v.luns.length > 3 ? ["+" + (v.luns.length - 3)] : []) },
      { head: "Arrays", cell: (v) => v.arrays.map((a) => [link("array/" + enc(a), a), " "]) },
      { head: "Health", cell: (v) => v.health ? pill(v.health) : h("span", { class: "muted" }, v.unresolved ? "unresolved" : "–") },
    ] }),
  luns: (seq, r) => table(seq, { view: "luns", title: "LUNs", path: "/luns", params: r.params,
    filters: ["q", "array", "host", "state"],
    columns: [
      { head: "LUN", cell: (l) => link("lun/" + enc(l.id), l.id) },
      { head: "Array", cell: (l) => l.array ? link("array/" + enc(l.array), l.array) : "" },
      { head: "Volume", cell: (l) => l.volume || "" },
      { head: "Product", cell: (l) => [l.vendor, l.product].filter(Boolean).join(" ") },
      { head: "Size", num: true, cell: (l) => bytes(l.size_bytes) },
      { head: "Paths", cell: (l) => pathCounts(l.paths) },
      { head: "I/O errors", num: true, cell: (l) => l.io_errors || "" },
      { head: "VMs", num: true, cell: (l) => l.vms ? link("vms?lun=" + enc(l.id), l.vms) : "0" },
      { head: "State", cell: (l) => pill(l.state) },
    ] }),
  arrays: (seq, r) => table(seq, { view: "arrays", title: "Arrays", path: "/arrays", params: r.params, filters: [],
    columns: [
      { head: "Array", cell: (a) => link("array/" + enc(a.id), a.id) },
      { head: "Vendor", cell: (a) => [a.vendor, a.family, a.model].filter(Boolean).join(" ") },
      { head: "LUNs", num: true, cell: (a) => link("luns?array=" + enc(a.id), a.luns) },
      { head: "VMs", num: true, cell: (a) => link("vms?array=" + enc(a.id), a.vms) },
      { head: "Size", num: true, cell: (a) => bytes(a.size_bytes) },
      { head: "Paths", cell: (a) => pathCounts(a.paths) },
      { head: "State", cell: (a) => pill(a.state) },
    ] }),
  datastores: (seq, r) => table(seq, { view: "datastores", title: "Datastores", path: "/datastores", params: r.params,
    filters: ["q", "host", "kind"],
    columns: [
      { head: "Name", cell: (d) => d.name },
      { head: "Kind", cell: (d) => d.kind + (d.type ? " " + d.type : "") },
      { head: "Host", cell: (d) => d.host || "" },
      { head: "Size", num: true, cell: (d) => bytes(d.size_bytes) },
      { head: "Free", num: true, cell: (d) => d.free_percent === undefined ? "" :
        h("span", { class: d.free_percent < 10 ? "error" : "" }, bytes(d.free_bytes) + " (" + d.free_percent.toFixed(0) + "%)") },
      { head: "VMs", num: true, cell: (d) => d.vms },
      { head: "LUNs", cell: (d) => d.luns.slice(0, 3).map((l) => [link("lun/" + enc(l), l), " "]) },
    ] }),
  vm: async (seq, r) => {
    const [d, g] = await Promise.all([api("/vms/" + enc(r.id)), api("/topology", { vm: r.id })]);
    if (seq !== renderSeq) return;
    const vm = d.vm;
    fill(main, 
      h("h2", {}, "VM ", vm.name, " ", d.summary.health ? pill(d.summary.health) : ""),
      h("p", { class: "muted" }, `${vm.platform} · host ${vm.host}${vm.cluster ? " · cluster " + vm.cluster : ""} · ${vm.state} · id ${vm.id}`),
      topology(g),
      h("h3", {}, "Disks"),
      h("table", { id: "disks-table" }, h("thead", {}, h("tr", {}, ["Disk", "Kind", "Source", "Capacity", "Datastore", "Chain", "LUNs"].map((x) => h("th", {}, x)))),
        h("tbody", {}, vm.disks.map((k) => h("tr", {},
          h("td", {}, k.name), h("td", {}, k.kind), h("td", {}, k.source), h("td", { class: "num" }, bytes(k.capacity_bytes)),
          h("td", {}, k.datastore || ""),
          h("td", {}, (k.chain || []).filter((l) => l.kind !== "lun").map((l) => l.kind + " " + l.name).join(" → "), k.error ? h("div", { class: "error" }, k.error) : ""),
          h("td", {}, (k.luns || []).map((l) => [link("lun/" + enc(l), l), " "])))))),
      h("h3", {}, "LUNs"), lunPaths(d.luns));
  },
  lun: async (seq, r) => {
    const [d, g] = await Promise.all([api("/luns/" + enc(r.id)), api("/topology", { lun: r.id })]);
    if (seq !== renderSeq) return;
    const l = d.lun;
    fill(main, 
      h("h2", {}, "LUN ", l.id, " ", pill(l.state)),
      h("p", { class: "muted" }, [l.vendor, l.product, bytes(l.size_bytes), l.volume && "volume " + l.volume, l.lun_path].filter(Boolean).join(" · "),
        d.summary.array ? [" · array ", link("array/" + enc(d.summary.array), d.summary.array)] : ""),
      blast(d.blast_radius, "this LUN"),
      topology(g),
      h("h3", {}, "Paths"), lunPaths([l]),
      d.above.length ? [h("h3", {}, "Layers above"), h("ul", {}, d.above.map((x) => h("li", {}, x.kind + " " + x.name + (x.host ? " on " + x.host : ""))))] : "",
      uses(d.blast_radius));
  },
  array: async (seq, r) => {
    const [d, g] = await Promise.all([api("/arrays/" + enc(r.id)), api("/topology", { array: r.id })]);
    if (seq !== renderSeq) return;
    const a = d.array;
    fill(main, 
      h("h2", {}, "Array ", a.id, " ", pill(a.state)),
      h("p", { class: "muted" }, [a.vendor, a.family, a.model, a.system_id].filter(Boolean).join(" · ")),
      blast(d.blast_radius, "this array"),
      topology(g),
      h("h3", {}, "LUNs"),
      h("table", { id: "array-luns" }, h("thead", {}, h("tr", {}, ["LUN", "Volume", "Size", "Paths", "VMs", "State"].map((x) => h("th", {}, x)))),
        h("tbody", {}, d.luns.slice(0, 500).map((l) => h("tr", {}, h("td", {}, link("lun/" + enc(l.id), l.id)), h("td", {}, l.volume || ""),
          h("td", { class: "num" }, bytes(l.size_bytes)), h("td", {}, pathCounts(l.paths)), h("td", { class: "num" }, l.vms), h("td", {}, pill(l.state)))))),
      uses(d.blast_radius));
  },
  scans: async (seq) => {
    const data = await api("/scans", { limit: 200 });
    if (seq !== renderSeq) return;
    const diffBox = h("div", { id: "diff" }, h("p", { class: "muted" }, "Click a scan to see what changed since the one before."));
    fill(main, h("h2", {}, "Scans"), timeline(data.items, diffBox), diffBox,
      h("h3", {}, "Stored scans (newest first)"),
      h("table", { id: "scans-table" }, h("thead", {}, h("tr", {}, ["Scan", "Time", "Status", "Duration", "VMs", "Disks", "LUNs", "Errors"].map((x) => h("th", {}, x)))),
        h("tbody", {}, data.items.map((sc) => h("tr", {}, h("td", {}, sc.id), h("td", {}, new Date(sc.time).toLocaleString()),
          h("td", {}, pill(sc.status || "ok")), h("td", { class: "num" }, sc.duration_seconds.toFixed(1) + " s"),
          h("td", { class: "num" }, sc.vms), h("td", { class: "num" }, sc.disks), h("td", { class: "num" }, sc.luns),
          h("td", {}, sc.errors.slice(0, 3).map((e) => h("div", { class: "error" }, e.source + (e.object ? ": " + e.object : "") + ": " + e.message))))))));
  },
  "who-uses": async (seq, r) => {
    const q = r.params.get("q") || "";
    const input = h("input", { type: "search", placeholder: "LUN id, array, datastore, server:/export, /dev/sdc", value: q, "aria-label": "who uses" });
    const form = h("form", { class: "toolbar", onsubmit: (e) => { e.preventDefault(); go("who-uses", { q: input.value }); } }, input, h("button", { type: "submit" }, "Who uses it?"));
    if (!q) { fill(main, h("h2", {}, "Who uses…"), form); return; }
    const data = await api("/who-uses", { q, limit: 1000 });
    if (seq !== renderSeq) return;
    fill(main, h("h2", {}, "Who uses ", q), form, h("p", {}, `${data.total} disk(s)`),
      h("table", { id: "who-table" }, h("thead", {}, h("tr", {}, ["VM", "Host", "Disk", "Source", "Via", "LUN"].map((x) => h("th", {}, x)))),
        h("tbody", {}, data.items.map((u) => h("tr", {}, h("td", {}, link("vm/" + enc(u.vm_id), u.vm)), h("td", {}, u.host), h("td", {}, u.disk),
          h("td", {}, u.source), h("td", {}, u.via + " " + u.match), h("td", {}, u.lun || ""))))));
  },
};

function lunPaths(luns) {
  return h("table", { class: "paths" }, h("thead", {}, h("tr", {}, ["LUN", "Host", "Device", "Transport", "Target", "State", "I/O errors"].map((x) => h("th", {}, x)))),
    h("tbody", {}, luns.flatMap((l) => (l.paths || []).map((p) => h("tr", {},
      h("td", {}, link("lun/" + enc(l.id), l.id)), h("td", {}, p.host || ""), h("td", {}, p.device), h("td", {}, p.transport),
      h("td", {}, p.target || ""), h("td", {}, pill(p.state)), h("td", { class: "num" }, p.io_errors || ""))))));
}

function blast(b, what) {
  return h("div", { class: "cards", id: "blast" },
    h("div", { class: "card" }, h("b", {}, b.vms), "VMs on " + what),
    h("div", { class: "card" }, h("b", {}, b.disks), "virtual disks"),
    h("div", { class: "card" }, h("b", {}, b.hosts.length), "hosts: " + b.hosts.slice(0, 5).join(", ")),
    h("div", { class: "card" }, h("b", {}, b.datastores.length), "datastores: " + b.datastores.slice(0, 5).join(", ")));
}

function uses(b) {
  return [h("h3", {}, "Blast radius: disks affected" + (b.truncated ? " (first " + b.uses.length + ")" : "")),
    h("table", { id: "uses-table" }, h("thead", {}, h("tr", {}, ["VM", "Host", "Disk", "Datastore", "Source"].map((x) => h("th", {}, x)))),
      h("tbody", {}, b.uses.map((u) => h("tr", {}, h("td", {}, link("vm/" + enc(u.vm_id), u.vm)), h("td", {}, u.host),
        h("td", {}, u.disk), h("td", {}, u.datastore || ""), h("td", {}, u.source)))))];
}

// topology draws a graph in columns: nodes keep the order the server gives
// (a depth-first walk), empty columns are squeezed out, edges are curves
// coloured by path state.
function topology(g) {
  const NW = 170, NH = 38, GX = 44, GY = 10, TOP = 28;
  const cols = [...new Set(g.nodes.map((n) => n.column))].sort((a, b) => a - b);
  const colIdx = new Map(cols.map((c, i) => [c, i]));
  const size = cols.map(() => 0);
  for (const n of g.nodes) size[colIdx.get(n.column)]++;
  const most = Math.max(1, ...size);
  // Short columns are centred against the tallest one.
  const rows = size.map((k) => (most - k) / 2);
  const pos = new Map();
  for (const n of g.nodes) {
    const c = colIdx.get(n.column);
    pos.set(n.id, { x: 10 + c * (NW + GX), y: TOP + rows[c] * (NH + GY), n });
    rows[c]++;
  }
  const W = 20 + cols.length * (NW + GX) - GX, H = TOP + most * (NH + GY) + 10;
  const svg = s("svg", { width: W, height: H, viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": "topology" });
  const names = { vm: "VM", disk: "disk", lun: "LUN", path: "path", array: "array" };
  for (const [c, i] of colIdx) {
    const kinds = [...new Set(g.nodes.filter((n) => n.column === c).map((n) => names[n.kind] || "storage"))];
    svg.append(s("text", { x: 10 + i * (NW + GX), y: 16, class: "colhead" }, kinds.join(" / ")));
  }
  for (const e of g.edges) {
    const a = pos.get(e.from), b = pos.get(e.to);
    if (!a || !b) continue;
    const x1 = a.x + NW, y1 = a.y + NH / 2, x2 = b.x, y2 = b.y + NH / 2, mx = (x1 + x2) / 2;
    const attrs = { class: "edge", d: `M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2},${y2}` };
    if (e.state) attrs.class += " e-" + (e.state in COLORS ? e.state : "unknown");
    svg.append(s("path", attrs));
  }
  for (const { x, y, n } of pos.values()) {
    const grp = s("g", { class: "node k-" + n.kind + (n.link ? " link" : ""), "data-id": n.id, "data-state": n.state || "" });
    grp.append(s("rect", { class: "node", x, y, width: NW, height: NH, rx: 5 }));
    if (n.state) grp.append(s("rect", { x, y, width: 7, height: NH, rx: 2, class: "st f-" + (n.state in COLORS ? n.state : "unknown") }));
    const label = n.label.length > 24 ? "…" + n.label.slice(-23) : n.label;
    grp.append(s("text", { x: x + 12, y: y + 15 }, label));
    grp.append(s("text", { x: x + 12, y: y + 30, class: "sub" }, (n.detail || n.kind).slice(0, 27)));
    grp.append(s("title", {}, n.label + (n.detail ? "\n" + n.detail : "")));
    if (n.link) grp.addEventListener("click", () => { location.hash = "#/" + n.link; });
    svg.append(grp);
  }
  const legend = h("div", { class: "legend muted" }, ["active", "standby", "failed", "unknown"].map((k) =>
    h("span", {}, h("i", { class: "s-" + k }), k)), g.truncated ? h("span", { class: "error" }, "picture truncated at " + g.nodes.length + " boxes") : "");
  return [h("h3", {}, "Topology"), legend, h("div", { class: "topo", id: "topology" }, svg)];
}

function timeline(scans, diffBox) {
  const W = 900, H = 70;
  const svg = s("svg", { class: "timeline", width: W, height: H, viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": "scan timeline" });
  if (!scans.length) return h("p", { class: "muted" }, "No scan stored yet.");
  const ts = scans.map((x) => Date.parse(x.time));
  const t0 = Math.min(...ts), t1 = Math.max(...ts), span = Math.max(1, t1 - t0);
  svg.append(s("line", { x1: 20, y1: 40, x2: W - 20, y2: 40, stroke: "#98a2b3" }));
  svg.append(s("text", { x: 20, y: 62 }, new Date(t0).toLocaleString()));
  svg.append(s("text", { x: W - 20, y: 62, "text-anchor": "end" }, new Date(t1).toLocaleString()));
  scans.forEach((sc, i) => {
    const x = 20 + ((ts[i] - t0) / span) * (W - 40);
    const st = sc.status || "ok";
    const c = s("circle", { cx: x, cy: 40, r: 6, "data-scan": sc.id, class: "f-" + (st in COLORS ? st : "unknown") });
    c.append(s("title", {}, `scan ${sc.id} ${sc.time} ${sc.status} · ${sc.vms} VMs`));
    c.addEventListener("click", () => showDiff(sc, diffBox));
    svg.append(c);
  });
  return svg;
}

async function showDiff(sc, box) {
  box.replaceChildren(h("p", { class: "muted" }, "Loading changes of scan " + sc.id + "…"));
  try {
    const d = await api("/diff", { to: sc.id, limit: 500 });
    const ch = d.changes;
    box.replaceChildren(h("h3", {}, `Changes from scan ${d.from} to ${d.to}: ${ch.total}`),
      h("table", { id: "diff-table" }, h("thead", {}, h("tr", {}, ["Kind", "Object", "Detail", "Before", "After"].map((x) => h("th", {}, x)))),
        h("tbody", {}, ch.items.map((c) => h("tr", {}, h("td", {}, c.kind), h("td", {}, c.object), h("td", {}, c.detail || ""), h("td", {}, c.before || ""), h("td", {}, c.after || ""))))));
  } catch (e) {
    box.replaceChildren(h("p", { class: "error" }, String(e.message || e)));
  }
}

async function status() {
  const el = document.getElementById("status");
  try {
    const st = await api("/status");
    const sc = st.scan;
    el.replaceChildren(sc ? `scan ${sc.id} · ${new Date(sc.time).toLocaleString()} · ${st.counts.vms} VMs · ${st.counts.luns} LUNs` : "no scan yet",
      st.counts.lun_states.degraded + st.counts.lun_states.failed ? h("span", { class: "bad" }, ` · ${st.counts.lun_states.degraded} degraded, ${st.counts.lun_states.failed} failed LUNs`) : "",
      st.last_success ? "" : h("span", { class: "bad", id: "scan-failing" }, " · last scan failed: showing the last good one"));
  } catch (e) {
    el.replaceChildren("");
  }
}

function tokenForm(msg) {
  const input = h("input", { type: "password", autocomplete: "off", "aria-label": "token" });
  fill(main, h("form", { class: "token", onsubmit: (e) => {
    e.preventDefault(); token = input.value.trim(); sessionStorage.setItem("vmstor-token", token); render(); status();
  } }, h("p", {}, msg + ": paste the token from the server's --token-file."), input, h("button", { type: "submit" }, "Use token")));
}

async function render() {
  const seq = ++renderSeq;
  const r = route();
  for (const a of document.querySelectorAll("nav a")) {
    const tab = a.dataset.tab;
    a.classList.toggle("active", tab === r.view || tab === r.view + "s");
  }
  const fn = views[r.view] || views.vms;
  try {
    const t0 = performance.now();
    await fn(seq, r);
    document.body.dataset.ready = r.view;
    // For the browser test's figures: time since navigation start, and of
    // this view alone.
    if (!document.body.dataset.loadMs) document.body.dataset.loadMs = Math.round(performance.now());
    document.body.dataset.viewMs = Math.round(performance.now() - t0);
  } catch (e) {
    if (seq !== renderSeq) return;
    if (e instanceof AuthError) { tokenForm(e.message); return; }
    fill(main, h("p", { class: "error" }, String(e.message || e)));
    document.body.dataset.ready = "error";
  }
}

window.addEventListener("hashchange", render);
render();
status();
setInterval(status, 60000);
// A blocked resource means a bug in this page: say so in the console.
document.addEventListener("securitypolicyviolation", (e) => console.error("CSP violation:", e.violatedDirective, e.blockedURI));
