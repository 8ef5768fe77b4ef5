/* docextract review UI: helpers shared by every page (no framework, no inline script: CSP script-src 'self'). */
"use strict";
window.docextract = {
  csrf: function () { var m = document.querySelector('meta[name="csrf-token"]'); return m ? m.content : ""; },
  /* POST JSON with the CSRF token; resolves to {ok, status, body}. */
  post: function (url, data) {
    return fetch(url, { method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": window.docextract.csrf() },
      body: JSON.stringify(data) })
      .then(function (r) { return r.json().catch(function () { return {}; })
        .then(function (body) { return { ok: r.ok, status: r.status, body: body }; }); });
  }
};

/* Job page: poll until the job finishes, then reload to show its documents. */
document.addEventListener("DOMContentLoaded", function () {
  var job = document.getElementById("job");
  if (!job || job.dataset.finished === "true") { return; }
  var timer = setInterval(function () {
    fetch(job.dataset.statusUrl, { credentials: "same-origin" }).then(function (r) { return r.json(); })
      .then(function (s) {
        document.getElementById("job-status").textContent = s.status;
        document.getElementById("job-stage").textContent = s.stage;
        document.getElementById("job-progress").textContent = s.done + "/" + s.total;
        if (s.status !== "queued" && s.status !== "running") { clearInterval(timer); window.location.reload(); }
      }).catch(function () {});
  }, 1000);
});
