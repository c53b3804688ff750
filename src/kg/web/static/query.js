// Query page: runs SPARQL against /sparql with fetch, shows a table with clickable IRIs.
// No external libraries: works with no internet connection.
"use strict";

(function () {
  const form = document.getElementById("query-form");
  const textarea = document.getElementById("query");
  const status = document.getElementById("status");
  const results = document.getElementById("results");
  const errorBox = document.getElementById("error");
  const truncatedBox = document.getElementById("truncated");
  const downloads = document.getElementById("downloads");
  const base = "https://w3id.org/tokyo-sme-kg/";

  function withPrefixes(text) {
    return /\bPREFIX\b/i.test(text) ? text : textarea.dataset.prefixes + "\n" + text;
  }

  document.getElementById("examples").addEventListener("change", function (e) {
    if (e.target.value) textarea.value = withPrefixes(e.target.value);
  });
  document.getElementById("saved").addEventListener("change", function (e) {
    const option = e.target.selectedOptions[0];
    if (option && option.dataset.sparql) textarea.value = option.dataset.sparql;
  });

  function link(iri) {
    const a = document.createElement("a");
    a.href = iri.startsWith(base) ? "/" + iri.slice(base.length) : iri;
    a.textContent = iri;
    return a;
  }

  function cell(term) {
    const td = document.createElement("td");
    if (!term) return td;
    if (term.type === "uri") {
      td.appendChild(link(term.value));
    } else {
      td.textContent = term.value;
      if (term["xml:lang"] || term.datatype) {
        const small = document.createElement("small");
        small.textContent = term["xml:lang"] ? " @" + term["xml:lang"] : " ^^" + term.datatype.replace("http://www.w3.org/2001/XMLSchema#", "xsd:");
        td.appendChild(small);
      }
    }
    return td;
  }

  function table(doc) {
    const t = document.createElement("table");
    t.className = "results";
    if ("boolean" in doc) {
      const row = t.insertRow();
      row.insertCell().textContent = String(doc.boolean);
      return t;
    }
    const head = t.createTHead().insertRow();
    doc.head.vars.forEach(function (v) {
      const th = document.createElement("th");
      th.textContent = v;
      head.appendChild(th);
    });
    const body = t.createTBody();
    doc.results.bindings.forEach(function (b) {
      const row = body.insertRow();
      doc.head.vars.forEach(function (v) { row.appendChild(cell(b[v])); });
    });
    return t;
  }

  function setDownloads(query) {
    downloads.hidden = false;
    downloads.querySelectorAll("a").forEach(function (a) {
      a.href = "/sparql?" + new URLSearchParams({ query: query, format: a.dataset.format }).toString();
    });
  }

  async function run(event) {
    if (event) event.preventDefault();
    const query = textarea.value;
    errorBox.hidden = true;
    truncatedBox.hidden = true;
    results.replaceChildren();
    status.textContent = "実行中… running";
    const started = performance.now();
    try {
      const response = await fetch("/sparql", {
        method: "POST",
        headers: {
          "Content-Type": "application/x-www-form-urlencoded",
          "Accept": "application/sparql-results+json, text/turtle;q=0.9",
        },
        body: new URLSearchParams({ query: query }),
      });
      const text = await response.text();
      if (!response.ok) {
        status.textContent = "";
        errorBox.textContent = "エラー Error " + response.status + ": " + text;
        errorBox.hidden = false;
        return;
      }
      const type = response.headers.get("Content-Type") || "";
      if (type.startsWith("application/sparql-results+json")) {
        const doc = JSON.parse(text);
        results.appendChild(table(doc));
        const rows = "boolean" in doc ? 1 : doc.results.bindings.length;
        status.textContent = rows + " rows · " + Math.round(performance.now() - started) + " ms";
      } else {
        const pre = document.createElement("pre");
        pre.textContent = text;
        results.appendChild(pre);
        status.textContent = (response.headers.get("X-KG-Rows") || "?") + " triples";
      }
      if (response.headers.get("X-KG-Truncated") === "true") {
        truncatedBox.textContent = "結果は上限 " + response.headers.get("X-KG-Row-Limit") +
          " 行で打ち切られています。 Results were cut at the row limit.";
        truncatedBox.hidden = false;
      }
      setDownloads(query);
    } catch (err) {
      status.textContent = "";
      errorBox.textContent = "エラー Error: " + err;
      errorBox.hidden = false;
    }
  }

  form.addEventListener("submit", run);
  textarea.addEventListener("keydown", function (e) {
    if ((e.ctrlKey || e.metaKey) && e.key === "Enter") run(e);
  });
  if (new URLSearchParams(location.search).get("query")) run();
})();
