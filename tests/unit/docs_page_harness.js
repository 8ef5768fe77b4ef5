// Runs app/api/static/docs.js against a minimal DOM stand-in and the spec given as argv[3]:
// prints the number of operations and schemas rendered (the page's logic, without a browser).
"use strict";
const fs = require("fs");
class Node_ { constructor(tag) { this.tag = tag; this.children = []; this.attrs = {}; this._text = ""; }
  append(...c) { this.children.push(...c); } setAttribute(k, v) { this.attrs[k] = v; }
  set textContent(t) { this._text = t; this.children = []; } get textContent() { return this._text; } }
class Text_ { constructor(t) { this.text = t; } }
const ids = {title: new Node_("h1"), description: new Node_("p"), ops: new Node_("div"), schemas: new Node_("div")};
global.Node = Node_;
global.document = {createElement: t => new Node_(t), createTextNode: t => new Text_(t), getElementById: id => ids[id]};
const spec = JSON.parse(fs.readFileSync(process.argv[3], "utf8"));
global.fetch = () => Promise.resolve({json: () => Promise.resolve(spec)});
eval(fs.readFileSync(process.argv[2], "utf8"));
setTimeout(() => {
  const count = tag => ids.ops.children.filter(c => c.tag === tag).length;
  console.log(JSON.stringify({operations: count("details"), tags: count("h2"), schemas: ids.schemas.children.length,
                              title: ids.title.textContent}));
}, 50);
