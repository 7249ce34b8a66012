// The desk's little JavaScript: bulk enrolment with progress, and search by photo.
// Both post to the JSON API with the CSRF token from the page's <meta name="csrftoken">.
"use strict";

function csrf() {
  const m = document.querySelector('meta[name="csrftoken"]');
  return m ? m.content : "";
}

async function postForm(url, data) {
  const r = await fetch(url, { method: "POST", body: data, credentials: "same-origin",
                               headers: { "x-csrftoken": csrf() } });
  let body = null;
  try { body = await r.json(); } catch (e) { body = { error: r.statusText }; }
  return { ok: r.ok, status: r.status, body };
}

function parseCsv(text) {
  // RFC 4180: quoted fields, doubled quotes, commas and newlines inside quotes.
  const rows = []; let row = [], field = "", quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i++; }
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") { row.push(field); field = ""; }
    else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      row.push(field); field = ""; if (row.some(v => v.trim())) rows.push(row); row = [];
    } else field += c;
  }
  row.push(field); if (row.some(v => v.trim())) rows.push(row);
  const head = (rows.shift() || []).map(h => h.trim().replace(/^\ufeff/, ""));
  return rows.map(r => Object.fromEntries(head.map((h, i) => [h, (r[i] || "").trim()])));
}

async function enrolPersons(form) {
  const status = document.getElementById("enrol-status");
  const bar = document.getElementById("enrol-progress");
  const list = document.getElementById("enrol-results");
  const client = form.client.value;
  const files = [...form.folder.files, ...form.photos.files];
  const byName = new Map(files.map(f => [f.name, f]));
  const persons = new Map();
  if (form.csv.files.length) {
    for (const row of parseCsv(await form.csv.files[0].text())) {
      if (!row.person) continue;
      const p = persons.get(row.person) || { person: row.person, name: "", aliases: "", official: "", photos: [] };
      p.name = row.name || p.name; p.aliases = row.aliases || p.aliases; p.official = row.official || p.official;
      for (const name of (row.photo || "").split("|").map(s => s.trim()).filter(Boolean)) {
        const f = byName.get(name.split("/").pop());
        if (f) p.photos.push(f); else p.missing = (p.missing || []).concat(name);
      }
      persons.set(row.person, p);
    }
  } else {
    for (const f of form.folder.files) {
      const parts = (f.webkitRelativePath || f.name).split("/");
      if (parts.length < 3 || !f.type.startsWith("image/")) continue;
      const key = parts[parts.length - 2];
      const p = persons.get(key) || { person: key, name: "", aliases: "", official: "", photos: [] };
      p.photos.push(f); persons.set(key, p);
    }
  }
  const todo = [...persons.values()];
  if (!todo.length) { status.textContent = "No persons found: choose a folder of folders, or photos and a CSV."; return; }
  bar.hidden = false; bar.max = todo.length; bar.value = 0; list.innerHTML = "";
  let ok = 0;
  for (const [i, p] of todo.entries()) {
    status.textContent = `Enrolling ${i + 1} of ${todo.length}: ${p.person}…`;
    const li = document.createElement("li");
    if (!p.photos.length) { li.textContent = `${p.person}: no photo found (${(p.missing || []).join(", ")})`; li.className = "error"; }
    else {
      const data = new FormData();
      data.append("client", client); data.append("person", p.person); data.append("name", p.name);
      data.append("aliases", p.aliases); data.append("official", p.official);
      for (const f of p.photos) data.append("photos", f, f.name);
      const r = await postForm("/api/persons", data);
      if (r.ok) { ok++; li.textContent = `${p.person}: ${r.body.enrolled} photo(s) enrolled`; li.className = "ok"; }
      else { li.textContent = `${p.person}: ${r.body.error || r.status}`; li.className = "error"; }
    }
    list.appendChild(li); bar.value = i + 1;
  }
  status.textContent = `Done: ${ok} of ${todo.length} person(s) enrolled.`;
}

async function searchByPhoto(form) {
  const results = document.getElementById("results");
  const params = new URLSearchParams(new FormData(document.getElementById("search-form")));
  for (const [k, v] of [...params.entries()]) if (!v) params.delete(k);
  const data = new FormData(); data.append("file", form.file.files[0]);
  results.textContent = "Searching…";
  const r = await postForm("/api/search/by-photo?" + params.toString(), data);
  if (!r.ok) { results.textContent = r.body.error || String(r.status); return; }
  results.innerHTML = "";
  const p = document.createElement("p");
  p.innerHTML = `<strong id="total"></strong> found`; p.querySelector("strong").textContent = r.body.total;
  const ol = document.createElement("ol"); ol.className = "hits";
  for (const h of r.body.hits) {
    const li = document.createElement("li"); const a = document.createElement("a");
    a.href = h.url; a.textContent = h.title || h.doc_id; a.rel = "noreferrer noopener";
    const m = h.matches.map(x => `${x.signal} ${x.distance}`).join("; ");
    li.append(a, ` — ${h.platform} · ${h.uploader} · ${m}`); ol.appendChild(li);
  }
  results.append(p, ol);
}

document.addEventListener("DOMContentLoaded", () => {
  const enrol = document.getElementById("enrol");
  if (enrol) enrol.addEventListener("submit", e => { e.preventDefault(); enrolPersons(enrol); });
  const photo = document.getElementById("by-photo");
  if (photo) photo.addEventListener("submit", e => { e.preventDefault(); searchByPhoto(photo); });
});
