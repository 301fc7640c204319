/* medmine-tables.js: sortable, filterable tables with a search box and a CSV download.
 *
 * Shipped with medmine and copied next to the pages (assets/), like plotly.min.js: pages
 * work offline, nothing is fetched from a network. Every <table> inside <main> gets
 *   - a toolbar: a search box (any column), "n of N rows" and a CSV button (the rows that
 *     pass the filters, in the shown order, with exact values from data-value);
 *   - clickable column headers (also Enter/Space): ascending, then descending; numbers sort
 *     as numbers, missing values (empty or "—") always last;
 *   - a filter box under each header when the table is long or has data-filters="columns":
 *     text matches anywhere in the cell; ">0.5", ">=2", "<10", "<=3", "=4", "!=0" compare
 *     numbers;
 *   - paging for long tables: 100 rows at a time, "show more" and "show all".
 * window.medmineTables exposes sort(table, column, descending), search(table, text),
 * filter(table, column, expression), csv(table) and visible(table), used by the tests.
 */
(function () {
  "use strict";

  var PAGE = 100;       // rows shown before "show more"
  var LONG = 15;        // tables longer than this get column filters
  var MISSING = "\u2014";

  function text(el) {
    return (el.textContent || "").replace(/\s+/g, " ").trim();
  }

  function value(td) {
    if (!td) return "";
    return td.hasAttribute("data-value") ? td.getAttribute("data-value") : text(td);
  }

  function number(s) {
    var t = String(s === undefined || s === null ? "" : s).trim().replace(/,/g, "");
    if (/%$/.test(t)) t = t.slice(0, -1);
    if (t === "inf") return Infinity;
    if (t === "-inf") return -Infinity;
    if (!/^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(t)) return NaN;
    return parseFloat(t);
  }

  function missing(s) {
    return s === "" || s === MISSING || s === "\u2013" || s === "nan";
  }

  function slug(s) {
    return String(s || "").toLowerCase().replace(/[^a-z0-9]+/g, "_").replace(/^_+|_+$/g, "").slice(0, 60);
  }

  function tableName(table, index) {
    if (table.getAttribute("data-name")) return slug(table.getAttribute("data-name"));
    var el = table.closest(".mm-wrap") || table;
    while (el) {
      var prev = el.previousElementSibling;
      while (prev) {
        if (/^H[1-4]$/.test(prev.tagName)) return slug(text(prev));
        if (prev.tagName === "SUMMARY") return slug(text(prev));
        prev = prev.previousElementSibling;
      }
      el = el.parentElement;
      if (el && el.tagName === "DETAILS") {
        var summary = el.querySelector("summary");
        if (summary) return slug(text(summary));
      }
      if (!el || el.tagName === "MAIN") break;
    }
    return "table_" + (index + 1);
  }

  function pageName() {
    var last = (window.location.pathname || "").split("/").pop() || "page";
    return slug(last.replace(/\.html?$/, "")) || "page";
  }

  function csvField(s) {
    s = String(s === undefined || s === null ? "" : s);
    if (s === MISSING) s = "";
    return /[",\n\r]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
  }

  function compareFilter(expr) {
    var m = /^\s*(>=|<=|!=|>|<|=)\s*(.+?)\s*$/.exec(expr);
    if (!m) return null;
    var op = m[1];
    var target = number(m[2]);
    if (isNaN(target)) {
      var t = m[2].toLowerCase();
      if (op === "=") return function (v) { return v.toLowerCase() === t; };
      if (op === "!=") return function (v) { return v.toLowerCase() !== t; };
      return null;
    }
    return function (v) {
      var x = number(v);
      if (isNaN(x)) return false;
      switch (op) {
        case ">": return x > target;
        case ">=": return x >= target;
        case "<": return x < target;
        case "<=": return x <= target;
        case "=": return x === target;
        default: return x !== target;
      }
    };
  }

  function Table(table, index) {
    this.table = table;
    this.index = index;
    this.head = table.tHead ? table.tHead.rows[0] : table.rows[0];
    this.body = table.tBodies[0];
    this.rows = this.body ? Array.prototype.slice.call(this.body.rows) : [];
    this.sortCol = -1;
    this.sortDesc = false;
    this.query = "";
    this.filters = [];
    this.limit = PAGE;
    this.shown = this.rows.slice();
    this.build();
    this.apply();
  }

  Table.prototype.build = function () {
    var self = this;
    var table = this.table;
    var wrap = document.createElement("div");
    wrap.className = "mm-wrap";
    table.parentNode.insertBefore(wrap, table);
    var tools = document.createElement("div");
    tools.className = "mm-tools";
    var search = document.createElement("input");
    search.type = "search";
    search.placeholder = "Search this table";
    search.setAttribute("aria-label", "Search this table");
    search.addEventListener("input", function () { self.search(search.value); });
    var count = document.createElement("span");
    count.className = "mm-count muted";
    var csv = document.createElement("button");
    csv.type = "button";
    csv.className = "mm-csv";
    csv.textContent = "CSV";
    csv.title = "Download the rows shown (all pages) as CSV";
    csv.addEventListener("click", function () { self.download(); });
    tools.appendChild(search);
    tools.appendChild(count);
    tools.appendChild(csv);
    var scroll = document.createElement("div");
    scroll.className = "mm-scroll";
    wrap.appendChild(tools);
    wrap.appendChild(scroll);
    scroll.appendChild(table);
    var more = document.createElement("div");
    more.className = "mm-more";
    var moreBtn = document.createElement("button");
    moreBtn.type = "button";
    moreBtn.textContent = "Show " + PAGE + " more";
    moreBtn.addEventListener("click", function () { self.limit += PAGE; self.apply(); });
    var allBtn = document.createElement("button");
    allBtn.type = "button";
    allBtn.textContent = "Show all";
    allBtn.addEventListener("click", function () { self.limit = Infinity; self.apply(); });
    more.appendChild(moreBtn);
    more.appendChild(allBtn);
    wrap.appendChild(more);
    this.count = count;
    this.more = more;
    this.searchBox = search;
    if (!this.head) return;
    this.labels = [];
    Array.prototype.forEach.call(this.head.cells, function (th, col) {
      self.labels.push(text(th));
      th.classList.add("mm-sortable");
      th.tabIndex = 0;
      th.title = "Sort by " + text(th);
      th.addEventListener("click", function () { self.toggle(col); });
      th.addEventListener("keydown", function (e) {
        if (e.key === "Enter" || e.key === " ") { e.preventDefault(); self.toggle(col); }
      });
    });
    if (table.getAttribute("data-filters") === "columns" || this.rows.length > LONG) {
      var row = document.createElement("tr");
      row.className = "mm-filters";
      Array.prototype.forEach.call(this.head.cells, function (th, col) {
        var cell = document.createElement("th");
        var input = document.createElement("input");
        input.type = "text";
        input.placeholder = "filter";
        input.title = "Text, or >x, >=x, <x, <=x, =x, !=x for numbers";
        input.setAttribute("aria-label", "Filter " + self.labels[col]);
        input.addEventListener("input", function () { self.filter(col, input.value); });
        cell.appendChild(input);
        row.appendChild(cell);
      });
      this.head.parentNode.appendChild(row);
    }
  };

  Table.prototype.toggle = function (col) {
    this.sort(col, this.sortCol === col ? !this.sortDesc : false);
  };

  Table.prototype.sort = function (col, desc) {
    this.sortCol = col;
    this.sortDesc = !!desc;
    var self = this;
    Array.prototype.forEach.call(this.head.cells, function (th, i) {
      th.setAttribute("aria-sort", i === col ? (desc ? "descending" : "ascending") : "none");
    });
    var values = this.rows.map(function (tr) { return value(tr.cells[col]); });
    var numeric = values.every(function (v) { return missing(v) || !isNaN(number(v)); });
    var order = this.rows.map(function (tr, i) { return i; });
    order.sort(function (a, b) {
      var va = values[a], vb = values[b];
      var ma = missing(va), mb = missing(vb);
      if (ma || mb) return ma === mb ? a - b : (ma ? 1 : -1);
      var c = numeric ? number(va) - number(vb) : va.localeCompare(vb, undefined, { numeric: true });
      if (c === 0 || isNaN(c)) return a - b;
      return self.sortDesc ? -c : c;
    });
    this.rows = order.map(function (i) { return self.rows[i]; });
    this.apply();
  };

  Table.prototype.search = function (q) {
    this.query = String(q || "").toLowerCase().trim();
    this.limit = PAGE;
    this.apply();
  };

  Table.prototype.filter = function (col, expr) {
    expr = String(expr || "").trim();
    this.filters[col] = expr ? (compareFilter(expr) || (function (t) {
      return function (v, cellText) { return cellText.toLowerCase().indexOf(t) >= 0; };
    })(expr.toLowerCase())) : null;
    this.limit = PAGE;
    this.apply();
  };

  Table.prototype.matches = function (tr) {
    if (this.query && text(tr).toLowerCase().indexOf(this.query) < 0) return false;
    for (var col = 0; col < this.filters.length; col++) {
      var f = this.filters[col];
      if (f && !f(value(tr.cells[col]), text(tr.cells[col] || document.createElement("td")))) {
        return false;
      }
    }
    return true;
  };

  Table.prototype.apply = function () {
    var self = this;
    this.shown = this.rows.filter(function (tr) { return self.matches(tr); });
    var visible = this.shown.slice(0, this.limit);
    var on = new Set(visible);
    if (this.body) {
      this.rows.forEach(function (tr) {
        tr.style.display = on.has(tr) ? "" : "none";
        self.body.appendChild(tr);
      });
    }
    var n = this.rows.length;
    var label = this.shown.length === n ? n + (n === 1 ? " row" : " rows")
      : this.shown.length + " of " + n + " rows";
    if (visible.length < this.shown.length) label += ", first " + visible.length + " shown";
    this.count.textContent = label;
    this.more.style.display = visible.length < this.shown.length ? "" : "none";
  };

  // CSV cells: the exact number behind a formatted one ("12,345" -> 12345), else the text
  // shown ("12 / 400" stays as it is).
  function csvValue(td) {
    var shown = text(td);
    if (td.hasAttribute("data-value") && (missing(shown) || !isNaN(number(shown)))) {
      return td.getAttribute("data-value");
    }
    return shown;
  }

  Table.prototype.csv = function () {
    var lines = [this.labels.map(csvField).join(",")];
    this.shown.forEach(function (tr) {
      lines.push(Array.prototype.map.call(tr.cells, function (td) {
        return csvField(csvValue(td));
      }).join(","));
    });
    return lines.join("\r\n") + "\r\n";
  };

  Table.prototype.download = function () {
    var blob = new Blob([this.csv()], { type: "text/csv;charset=utf-8" });
    var a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = pageName() + "_" + tableName(this.table, this.index) + ".csv";
    document.body.appendChild(a);
    a.click();
    setTimeout(function () { URL.revokeObjectURL(a.href); a.remove(); }, 0);
  };

  var tables = [];

  function get(table) {
    for (var i = 0; i < tables.length; i++) if (tables[i].table === table) return tables[i];
    throw new Error("not a medmine table");
  }

  function init() {
    var found = document.querySelectorAll("main table");
    Array.prototype.forEach.call(found, function (table, i) {
      if (table.getAttribute("data-plain") !== null) return;
      try {
        tables.push(new Table(table, i));
      } catch (e) {
        if (window.console) console.error("medmine-tables: table " + (i + 1) + ": " + e);
      }
    });
    document.documentElement.setAttribute("data-mm-tables", String(tables.length));
  }

  window.medmineTables = {
    sort: function (table, col, desc) { get(table).sort(col, desc); },
    search: function (table, q) { get(table).search(q); },
    filter: function (table, col, expr) { get(table).filter(col, expr); },
    csv: function (table) { return get(table).csv(); },
    visible: function (table) { return get(table).shown.slice(0, get(table).limit); },
    tables: function () { return tables.map(function (t) { return t.table; }); }
  };

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
