/* Review page: field <-> box selection, zoom, inline edits, line items, keyboard, copy. */
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var root = document.getElementById("review");
  if (!root) { return; }
  var dx = window.docextract;
  var canEdit = root.dataset.canEdit === "true";
  var inputs = Array.prototype.slice.call(document.querySelectorAll(".field-input"));

  function cssEscape(s) { return window.CSS && CSS.escape ? CSS.escape(s) : s.replace(/"/g, '\\"'); }

  /* Selecting a field lights its box (and scrolls it into view); clicking a box selects its field. */
  function select(key, scroll) {
    document.querySelectorAll(".field-box.selected, .field-row.selected").forEach(function (el) {
      el.classList.remove("selected");
    });
    if (!key) { return; }
    var row = document.querySelector('.field-row[data-key="' + cssEscape(key) + '"]');
    if (row) { row.classList.add("selected"); }
    document.querySelectorAll('.field-box[data-key="' + cssEscape(key) + '"]').forEach(function (box) {
      box.classList.add("selected");
      if (scroll && box.scrollIntoView) { box.scrollIntoView({ block: "center", inline: "nearest" }); }
    });
  }
  inputs.forEach(function (input) {
    input.addEventListener("focus", function () { select(input.dataset.key, true); });
  });
  document.querySelectorAll(".field-row").forEach(function (row) {
    row.addEventListener("click", function () { select(row.dataset.key, true); });
  });
  document.querySelectorAll(".field-box").forEach(function (box) {
    box.addEventListener("click", function () {
      var input = document.getElementById("f-" + box.dataset.key);
      select(box.dataset.key, false);
      if (input) { input.focus({ preventScroll: false }); }
    });
  });

  /* Line items: focusing a row's cell lights the row's box (rows as the model read them). */
  function selectRow(n) {
    document.querySelectorAll(".item-box.selected, .item-row.selected").forEach(function (el) {
      el.classList.remove("selected");
    });
    var row = document.querySelector('.item-row[data-row="' + n + '"]');
    if (row) { row.classList.add("selected"); }
    var box = document.querySelector('.item-box[data-row="' + n + '"]');
    if (box) {
      box.classList.add("selected");
      if (box.scrollIntoView) { box.scrollIntoView({ block: "center", inline: "nearest" }); }
    }
  }
  document.querySelectorAll(".item-row").forEach(function (row) {
    row.addEventListener("focusin", function () { selectRow(row.dataset.row); });
  });
  document.querySelectorAll(".item-box").forEach(function (box) {
    box.addEventListener("click", function () {
      var cell = document.querySelector('.item-row[data-row="' + box.dataset.row + '"] input');
      if (cell) { cell.focus(); }
    });
  });

  /* Zoom: the page column scrolls; boxes scale with the image (SVG viewBox in page pixels). */
  var zoom = 1;
  function applyZoom() {
    document.querySelectorAll(".page-inner").forEach(function (el) { el.style.width = (zoom * 100) + "%"; });
    document.getElementById("zoom-level").textContent = Math.round(zoom * 100) + "%";
  }
  document.getElementById("zoom-in").addEventListener("click", function () { zoom = Math.min(4, zoom * 1.25); applyZoom(); });
  document.getElementById("zoom-out").addEventListener("click", function () { zoom = Math.max(0.5, zoom / 1.25); applyZoom(); });
  document.getElementById("show-lines").addEventListener("change", function (e) {
    document.getElementById("page-stack").classList.toggle("hide-lines", !e.target.checked);
  });

  /* Inline edit: saved on change (or Enter), validated and normalised by the server. */
  function save(input) {
    if (!canEdit || input.value === input.dataset.saved) { return Promise.resolve(true); }
    var key = input.dataset.key;
    var err = document.getElementById("err-" + key);
    return dx.post(root.dataset.fieldUrl, { key: key, value: input.value }).then(function (res) {
      if (!res.ok) {
        input.classList.add("invalid");
        input.setAttribute("aria-invalid", "true");
        err.textContent = (res.body && res.body.message) || ("Not saved (" + res.status + ")");
        return false;
      }
      input.classList.remove("invalid");
      input.removeAttribute("aria-invalid");
      err.textContent = "";
      input.dataset.saved = res.body.value === null ? "" : res.body.value;
      var norm = document.getElementById("norm-" + key);
      var n = res.body.normalized;
      norm.textContent = n === null ? "" : (typeof n === "string" ? n : JSON.stringify(n));
      var row = document.getElementById("row-" + key);
      row.classList.add("corrected");
      row.classList.remove("attention");
      return true;
    });
  }
  inputs.forEach(function (input) {
    input.addEventListener("change", function () { save(input); });
  });

  var attention = inputs.filter(function (i) { return i.dataset.attention === "true"; });
  var approveForm = document.getElementById("approve-form");
  function approve() {
    var pending = inputs.filter(function (i) { return i.value !== i.dataset.saved; });
    Promise.all(pending.map(save)).then(function (oks) {
      if (oks.every(Boolean) && !document.querySelector(".field-input.invalid")) { approveForm.submit(); }
    });
  }
  if (approveForm) {
    approveForm.addEventListener("submit", function (e) { e.preventDefault(); approve(); });
  }
  document.addEventListener("keydown", function (e) {
    var t = e.target;
    var inField = t.classList && t.classList.contains("field-input");
    if (e.key === "Enter" && inField && !e.ctrlKey && !e.metaKey) {
      e.preventDefault();
      save(t);
      return;
    }
    if (e.key === "Enter" && approveForm && (e.ctrlKey || e.metaKey ||
        !(t.closest && t.closest("input, select, textarea, button, a, summary")))) {
      e.preventDefault();
      approve();
      return;
    }
    /* Tab from a field that needs attention goes to the next one that does (Shift+Tab: previous). */
    if (e.key === "Tab" && inField && attention.length > 1 && attention.indexOf(t) >= 0) {
      var i = attention.indexOf(t) + (e.shiftKey ? -1 : 1);
      if (i >= 0 && i < attention.length) { e.preventDefault(); attention[i].focus(); }
    }
  });

  /* Line items: edit cells, add/remove rows, save the whole table. */
  var items = document.getElementById("line-items");
  function rowHtmlInputs(tr) { return Array.prototype.slice.call(tr.querySelectorAll(".item-cell")); }
  function bindRemove(btn) { btn.addEventListener("click", function () { btn.closest("tr").remove(); }); }
  document.querySelectorAll(".remove-row").forEach(bindRemove);
  var add = document.getElementById("add-row");
  if (add && items) {
    add.addEventListener("click", function () {
      var body = items.tBodies[0];
      var n = body.rows.length + 1;
      var tr = document.createElement("tr");
      ["description", "quantity", "unit", "unit_price", "amount"].forEach(function (c) {
        var td = document.createElement("td");
        var input = document.createElement("input");
        input.className = "item-cell";
        input.dataset.col = c;
        input.setAttribute("aria-label", "Line " + n + " " + c.replace("_", " "));
        td.appendChild(input);
        tr.appendChild(td);
      });
      var td = document.createElement("td");
      var btn = document.createElement("button");
      btn.type = "button"; btn.className = "remove-row"; btn.textContent = "×";
      btn.setAttribute("aria-label", "Remove line");
      bindRemove(btn);
      td.appendChild(btn); tr.appendChild(td); body.appendChild(tr);
      tr.querySelector("input").focus();
    });
  }
  var saveItems = document.getElementById("save-items");
  if (saveItems && items) {
    saveItems.addEventListener("click", function () {
      var rows = Array.prototype.map.call(items.tBodies[0].rows, function (tr) {
        var out = {};
        rowHtmlInputs(tr).forEach(function (i) { out[i.dataset.col] = i.value; });
        return out;
      });
      var msg = document.getElementById("items-msg");
      dx.post(root.dataset.itemsUrl, { items: rows }).then(function (res) {
        msg.textContent = res.ok ? "Saved" : ((res.body && res.body.message) || "Not saved");
        msg.className = res.ok ? "" : "error";
      });
    });
  }

  /* Save: every edited field (and the line items table) without deciding. */
  var saveAll = document.getElementById("save");
  if (saveAll) {
    saveAll.addEventListener("click", function () {
      var pending = inputs.filter(function (i) { return i.value !== i.dataset.saved; });
      Promise.all(pending.map(save)).then(function (oks) {
        if (saveItems && items) { saveItems.click(); }
        document.getElementById("save-msg").textContent = oks.every(Boolean) ? "Saved" : "Some values are not valid";
      });
    });
  }

  /* Raw JSON: copy to the clipboard. */
  var copy = document.getElementById("copy-json");
  if (copy) {
    copy.addEventListener("click", function () {
      var text = document.getElementById("raw-json").textContent;
      var done = function () { document.getElementById("copy-msg").textContent = "Copied"; };
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(text).then(done, function () {
          document.getElementById("copy-msg").textContent = "Copy failed: select the text";
        });
      }
    });
  }
});
