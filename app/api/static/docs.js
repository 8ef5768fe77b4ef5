"use strict";
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}
function json(value) { return el("pre", {}, JSON.stringify(value, null, 2)); }
function refName(schema) { return schema && schema.$ref ? schema.$ref.split("/").pop() : null; }
function schemaLink(schema) {
  const name = refName(schema);
  return name ? el("a", {href: "#schema-" + name}, name) : el("code", {}, JSON.stringify(schema));
}
function render(spec) {
  document.getElementById("title").textContent = spec.info.title + " " + spec.info.version;
  document.getElementById("description").textContent = spec.info.description || "";
  const byTag = {};
  for (const [path, item] of Object.entries(spec.paths)) {
    for (const [method, op] of Object.entries(item)) {
      (byTag[(op.tags || ["other"])[0]] ||= []).push([path, method, op]);
    }
  }
  const ops = document.getElementById("ops");
  ops.textContent = "";
  for (const [tag, list] of Object.entries(byTag)) {
    ops.append(el("h2", {}, tag));
    for (const [path, method, op] of list) {
      const body = el("div", {class: "body"});
      if (op.description) body.append(el("p", {}, op.description));
      if ((op.security || []).some(s => Object.keys(s).length)) body.append(el("p", {class: "lock"}, "Header X-API-Token (when the service has a token)"));
      const form = op.requestBody && op.requestBody.content["multipart/form-data"];
      if (form) {
        const t = el("table", {}, el("tr", {}, el("th", {}, "form field"), el("th", {}, "required"), el("th", {}, "schema")));
        for (const [name, s] of Object.entries(form.schema.properties)) {
          t.append(el("tr", {}, el("td", {}, el("code", {}, name)), el("td", {}, (form.schema.required || []).includes(name) ? "yes" : ""),
                       el("td", {}, s.$ref ? schemaLink(s) : "", " ", s.description || s.type || "")));
        }
        body.append(el("h4", {}, "Request (multipart/form-data)"), t);
      }
      const r = el("table", {}, el("tr", {}, el("th", {}, "status"), el("th", {}, "description"), el("th", {}, "body")));
      for (const [code, resp] of Object.entries(op.responses)) {
        const [type, media] = Object.entries(resp.content || {})[0] || ["", {}];
        r.append(el("tr", {}, el("td", {}, code), el("td", {}, resp.description), el("td", {}, type, " ", media.schema ? schemaLink(media.schema) : "")));
      }
      body.append(el("h4", {}, "Responses"), r);
      ops.append(el("details", {}, el("summary", {}, el("span", {class: "m " + method}, method), " ", el("code", {}, path), " \u2014 ", op.summary || ""), body));
    }
  }
  const schemas = document.getElementById("schemas");
  for (const [name, s] of Object.entries((spec.components || {}).schemas || {})) {
    schemas.append(el("details", {id: "schema-" + name}, el("summary", {}, el("code", {}, name), " ", s.description ? "\u2014 " + s.description.split("\n")[0] : ""), el("div", {class: "body"}, json(s))));
  }
}
fetch("openapi.json").then(r => r.json()).then(render).catch(e => { document.getElementById("ops").textContent = "Could not load openapi.json: " + e; });
