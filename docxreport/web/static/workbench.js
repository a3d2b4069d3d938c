// The filing workbench: fill in the national report, checked live by the service (POST /v1/validate).
//
// User text only ever goes into the page through .value and .textContent: never as markup.

import { fromBlocks, toBlocks } from "./blocks.js";

const config = JSON.parse(document.getElementById("workbench-config").textContent);
const $ = (id) => document.getElementById(id);
const DRAFT_KEY = "docxreport.workbench.draft";
const KEY_KEY = "docxreport.workbench.key";
const CHECK_DELAY = 150;   // ms after the last change before checking (the whole round trip stays under 300 ms)
const SAVE_DELAY = 400;    // ms after the last change before saving (edit mode: the file; serve mode: the browser)
const BLOCK_SECTIONS = ["preamble", ...config.sections.filter((s) => !s.table).map((s) => s.key)];
const KIND_NAMES = { p: "段落", h: "小标题", r: "段首标题" };
const FIELD_NAMES = { organ: "机关名称", year: "年度", date: "成文日期", title: "标题", format: "报告格式" };

const state = {
  report: null,       // the report data being edited
  items: {},          // narrative section key → flat items (see blocks.js)
  placed: {},         // narrative section key → [{path, number, level}] per item
  previous: null,     // last year's report, for the cross-year rules
  problems: [],
  errors: 0,
  dirty: false,       // changed since last saved somewhere (file, download)
  checkSeq: 0,
  checkTimer: 0,
  checkPending: false,
  saveSeq: 0,
  saveTimer: 0,
  key: null,
  storePath: null,    // edit mode: the file
};

const cells = new Map();  // data key → input
for (const input of document.querySelectorAll("input.cell")) cells.set(input.dataset.key, input);

// ------------------------------------------------------------------ report paths

function getPath(obj, key) {
  let node = obj;
  for (const part of key.split(".")) {
    if (node === null || typeof node !== "object") return undefined;
    node = node[part];
  }
  return node;
}

function setPath(obj, key, value) {
  const parts = key.split(".");
  let node = obj;
  for (const part of parts.slice(0, -1)) {
    if (node[part] === null || typeof node[part] !== "object" || Array.isArray(node[part])) node[part] = {};
    node = node[part];
  }
  const leaf = parts[parts.length - 1];
  if (value === undefined) delete node[leaf];
  else node[leaf] = value;
}

function clone(value) { return value === undefined ? undefined : JSON.parse(JSON.stringify(value)); }

// ------------------------------------------------------------------ requests

// A header value is Latin-1: send the key's UTF-8 bytes one per character, as the server compares them.
function headerText(text) {
  return Array.from(new TextEncoder().encode(text), (b) => String.fromCharCode(b)).join("");
}

function headers(extra = {}) {
  const out = { ...extra };
  if (state.key) out["X-API-Key"] = headerText(state.key);
  return out;
}

async function call(url, options = {}) {
  const response = await fetch(url, { ...options, headers: headers(options.headers || {}), credentials: "same-origin" });
  if (response.status === 401 && config.mode === "serve") {
    sessionStorage.removeItem(KEY_KEY);
    state.key = null;
    askKey();
  }
  return response;
}

async function problemText(response) {
  try {
    const body = await response.json();
    return body.detail || body.title || `HTTP ${response.status}`;
  } catch {
    return `HTTP ${response.status}`;
  }
}

function status(text) { $("status").textContent = text; }

// ------------------------------------------------------------------ numbers in the tables

function parseCell(key, text) {
  const t = text.trim().replace(/[,，\s]/g, "");
  if (t === "") return undefined;
  if (/^\d+$/.test(t) && t.length < 16) return Number(t);
  if (config.fees.includes(key) && /^\d+\.\d+$/.test(t) && t.length < 22) return Number(t);
  return text.trim();  // kept as typed: the checker says what is wrong with it, at this cell
}

function cellText(value) {
  return value === undefined || value === null ? "" : String(value);
}

// The total a cell shows when none is typed: the sum of its terms (computed totals included).
function computed(key, seen = new Set()) {
  const value = getPath(state.report, key);
  if (typeof value === "number") return value;
  const terms = config.sums[key];
  if (!terms || seen.has(key)) return 0;
  seen.add(key);
  return terms.reduce((sum, term) => sum + computed(term, seen), 0);
}

function showTotals() {
  for (const target of Object.keys(config.sums)) {
    const input = cells.get(target);
    if (!input) continue;
    const stated = getPath(state.report, target);
    const sum = config.sums[target].reduce((s, term) => s + computed(term), 0);
    input.placeholder = String(sum);
    input.title = stated === undefined ? `自动计算：${sum}` : `已填写；按各项计算为 ${sum}`;
    input.classList.toggle("stated", stated !== undefined);
  }
}

// ------------------------------------------------------------------ filling the page from the report

function fillFields() {
  const r = state.report;
  $("field-organ").value = typeof r.organ === "string" ? r.organ : cellText(r.organ);
  $("field-year").value = r.year === undefined ? "" : String(r.year);
  $("field-date").value = typeof r.date === "string" ? r.date : "";
  const lines = Array.isArray(r.title) ? r.title : (typeof r.title === "string" ? [r.title] : []);
  document.querySelectorAll("input[data-field=title]").forEach((input) => {
    input.value = lines[Number(input.dataset.line)] || "";
  });
  updateTitlePlaceholders();
}

function updateTitlePlaceholders() {
  const organ = $("field-organ").value || "机关名称";
  const year = $("field-year").value || "某";
  document.querySelectorAll("input[data-field=title]").forEach((input) => {
    const line = config.titleLines[Number(input.dataset.line)];
    input.placeholder = line ? line.replace("{organ}", organ).replace("{year}", year) : "";
  });
}

function fillCells() {
  for (const [key, input] of cells) input.value = cellText(getPath(state.report, key));
  showTotals();
}

function loadReport(report, { previous = state.previous, announce = "" } = {}) {
  state.report = report && typeof report === "object" && !Array.isArray(report) ? report : clone(config.skeleton);
  state.previous = previous || null;
  for (const key of BLOCK_SECTIONS) state.items[key] = fromBlocks(state.report[key]);
  fillFields();
  fillCells();
  for (const key of BLOCK_SECTIONS) renderBlocks(key);
  showPrevious();
  if (announce) status(announce);
  scheduleCheck(0);
}

function showPrevious() {
  const note = $("previous-note");
  if (!state.previous) { note.hidden = true; return; }
  const p = state.previous;
  $("previous-text").textContent = `正在按上年报告（${typeof p.organ === "string" ? p.organ : "机关名称不详"} ${p.year ?? ""} 年度）核对“上年结转”。`;
  note.hidden = false;
}

// ------------------------------------------------------------------ narrative sections

function blockButton(text, label, action, hint = "") {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = text;
  if (label !== text) b.setAttribute("aria-label", label);
  b.title = hint || label;
  b.addEventListener("click", action);
  return b;
}

function renderBlocks(key, focus = null) {
  const list = document.querySelector(`ol.blocks[data-section="${key}"]`);
  const items = state.items[key];
  const { placed } = toBlocks(items, key, config.numbering);
  state.placed[key] = placed;
  list.replaceChildren();
  items.forEach((item, i) => {
    const li = document.createElement("li");
    li.className = `block kind-${item.kind}`;
    li.dataset.index = String(i);
    li.dataset.level = String(placed[i].level);
    const where = `第 ${i + 1} 项`;
    const head = document.createElement("div");
    head.className = "block-head";
    const number = document.createElement("span");
    number.className = "number";
    number.textContent = placed[i].number;
    number.setAttribute("aria-hidden", "true");
    const kind = document.createElement("select");
    kind.setAttribute("aria-label", `${where}的类型`);
    for (const [value, name] of Object.entries(KIND_NAMES)) {
      const option = document.createElement("option");
      option.value = value;
      option.textContent = name;
      kind.append(option);
    }
    kind.value = item.kind;
    kind.addEventListener("change", () => {
      if (item.kind === "p" && kind.value !== "p") { item.heading = item.text; item.text = ""; }
      else if (item.kind !== "p" && kind.value === "p") { item.text = [item.heading, item.text].filter(Boolean).join(""); item.heading = ""; }
      item.kind = kind.value;
      blocksChanged(key, { index: i, part: "kind" });
    });
    head.append(number, kind);
    if (item.kind !== "p") {
      const level = document.createElement("span");
      level.className = "level";
      level.textContent = `第 ${item.depth + 1} 级`;
      head.append(level,
        blockButton("←", `${where}升一级`, () => { if (item.depth > 1) { item.depth -= 1; blocksChanged(key, { index: i, part: "shallower" }); } }),
        blockButton("→", `${where}降一级`, () => { if (item.depth < config.maxDepth) { item.depth += 1; blocksChanged(key, { index: i, part: "deeper" }); } }));
    }
    head.append(
      blockButton("↑", `${where}上移`, () => { if (i > 0) { items.splice(i - 1, 0, items.splice(i, 1)[0]); blocksChanged(key, { index: i - 1, part: "up" }); } }),
      blockButton("↓", `${where}下移`, () => { if (i < items.length - 1) { items.splice(i + 1, 0, items.splice(i, 1)[0]); blocksChanged(key, { index: i + 1, part: "down" }); } }),
      blockButton("＋", `在${where}之后插入段落`, () => { items.splice(i + 1, 0, { kind: "p", depth: item.depth, heading: "", text: "" }); blocksChanged(key, { index: i + 1, part: "text" }); }),
      blockButton("删除", `删除${where}`, () => { items.splice(i, 1); blocksChanged(key, { index: Math.min(i, items.length - 1), part: "remove" }); }),
    );
    li.append(head);
    if (item.kind !== "p") {
      const heading = document.createElement("input");
      heading.type = "text";
      heading.className = "heading-input";
      heading.value = item.heading;
      heading.dataset.part = "heading";
      heading.setAttribute("aria-label", `${where}的标题（序号${placed[i].number || "无"}由程序添加）`);
      heading.placeholder = "标题文字（不含序号）";
      heading.addEventListener("input", () => { item.heading = heading.value; blocksChanged(key); });
      li.append(heading);
    }
    if (item.kind !== "h") {
      const text = document.createElement("textarea");
      text.className = "text-input";
      text.rows = Math.min(8, Math.max(2, Math.ceil(item.text.length / 60)));
      text.value = item.text;
      text.dataset.part = "text";
      text.placeholder = item.kind === "r" ? "紧接标题的正文" : "段落正文";
      text.setAttribute("aria-label", item.kind === "r" ? `${where}的正文` : `${where}：段落`);
      text.addEventListener("input", () => { item.text = text.value; blocksChanged(key); });
      li.append(text);
    }
    list.append(li);
  });
  const add = list.parentElement.querySelector(".block-add");
  if (!add.childElementCount) {
    add.append(
      blockButton("添加段落", "添加段落", () => { items.push({ kind: "p", depth: 1, heading: "", text: "" }); blocksChanged(key, { index: items.length - 1, part: "text" }); }),
      blockButton("添加段首标题", "添加段首标题", () => { items.push({ kind: "r", depth: 1, heading: "", text: "" }); blocksChanged(key, { index: items.length - 1, part: "heading" }); }, "标题与正文在同一段，如“（一）主动公开。……”"),
      blockButton("添加小标题", "添加小标题", () => { items.push({ kind: "h", depth: 1, heading: "", text: "" }); blocksChanged(key, { index: items.length - 1, part: "heading" }); }, "单独成行的小标题，其下再添加段落"),
    );
  }
  if (focus && focus.index >= 0) {
    const li = list.children[focus.index];
    if (li) {
      const control = {
        up: `button[aria-label$="上移"]`, down: `button[aria-label$="下移"]`, kind: "select",
        shallower: `button[aria-label$="升一级"]`, deeper: `button[aria-label$="降一级"]`,
      }[focus.part];
      const target = (control && li.querySelector(control)) || li.querySelector(focus.part === "heading" ? ".heading-input" : "textarea, .heading-input") || li.querySelector("select");
      if (target) target.focus();
    }
  } else if (focus && focus.part === "remove") {
    list.parentElement.querySelector(".block-add button").focus();
  }
}

function blocksChanged(key, focus = null) {
  const { blocks } = toBlocks(state.items[key], key, config.numbering);
  if (key === "preamble" && blocks.length === 0) delete state.report.preamble;
  else state.report[key] = blocks;
  if (focus) renderBlocks(key, focus);
  else {
    // typing: refresh the numbers only, keep the focus where it is
    const { placed } = toBlocks(state.items[key], key, config.numbering);
    state.placed[key] = placed;
    document.querySelectorAll(`ol.blocks[data-section="${key}"] > li`).forEach((li, i) => {
      li.querySelector(".number").textContent = placed[i].number;
    });
  }
  changed();
}

// ------------------------------------------------------------------ changes

function changed() {
  state.dirty = true;
  scheduleCheck();
  scheduleSave();
}

function fieldChanged(input) {
  const field = input.dataset.field;
  if (field === "title") {
    const lines = [...document.querySelectorAll("input[data-field=title]")].map((i) => i.value.trim());
    while (lines.length && !lines[lines.length - 1]) lines.pop();
    if (lines.length) state.report.title = lines;
    else delete state.report.title;
  } else if (field === "year") {
    const t = input.value.trim();
    if (t === "") delete state.report.year;
    else state.report.year = /^\d{1,6}$/.test(t) ? Number(t) : t;
  } else {
    const t = field === "organ" ? input.value : input.value.trim();
    if (t === "") delete state.report[field];
    else state.report[field] = t;
  }
  updateTitlePlaceholders();
  changed();
}

document.querySelectorAll("input[data-field]").forEach((input) => {
  input.addEventListener("input", () => fieldChanged(input));
});

function cellChanged(input) {
  setPath(state.report, input.dataset.key, parseCell(input.dataset.key, input.value));
  showTotals();
  changed();
}

// ------------------------------------------------------------------ moving around the tables, pasting

function position(input) {
  const td = input.parentElement;
  return { table: td.closest("table"), row: Number(td.dataset.row), col: Number(td.dataset.col), span: Number(td.dataset.span) };
}

function neighbour(input, dRow, dCol) {
  const here = position(input);
  let best = null, bestScore = Infinity;
  for (const other of here.table.querySelectorAll("input.cell")) {
    if (other === input) continue;
    const p = position(other);
    let score;
    if (dRow) {
      const covers = p.col <= here.col && here.col < p.col + p.span;
      const ahead = dRow > 0 ? p.row > here.row : p.row < here.row;
      if (!covers || !ahead) continue;
      score = Math.abs(p.row - here.row);
    } else {
      const ahead = dCol > 0 ? p.col > here.col : p.col < here.col;
      if (p.row !== here.row || !ahead) continue;
      score = Math.abs(p.col - here.col);
    }
    if (score < bestScore) { best = other; bestScore = score; }
  }
  return best;
}

function onCellKey(event) {
  const input = event.target;
  let target = null;
  const atStart = input.selectionStart === 0 && input.selectionEnd === 0;
  const atEnd = input.selectionStart === input.value.length && input.selectionEnd === input.value.length;
  const all = input.selectionStart === 0 && input.selectionEnd === input.value.length;
  switch (event.key) {
    case "ArrowUp": target = neighbour(input, -1, 0); break;
    case "ArrowDown": target = neighbour(input, 1, 0); break;
    case "ArrowLeft": if (atStart || all) target = neighbour(input, 0, -1); break;
    case "ArrowRight": if (atEnd || all) target = neighbour(input, 0, 1); break;
    case "Enter": target = neighbour(input, event.shiftKey ? -1 : 1, 0); if (!target) event.preventDefault(); break;
    default: return;
  }
  if (target) {
    event.preventDefault();
    target.focus();
  }
}

function onCellPaste(event) {
  const text = (event.clipboardData || window.clipboardData).getData("text/plain");
  if (!/[\t\n]/.test(text.replace(/\r?\n$/, ""))) return;  // one value: the ordinary paste
  event.preventDefault();
  const rows = text.replace(/\r/g, "").replace(/\n+$/, "").split("\n").map((line) => line.split("\t"));
  let rowStart = event.target, filled = 0;
  for (const values of rows) {
    if (!rowStart) break;
    let input = rowStart;
    for (const value of values) {
      if (!input) break;
      input.value = value.trim();
      setPath(state.report, input.dataset.key, parseCell(input.dataset.key, input.value));
      filled += 1;
      input = neighbour(input, 0, 1);
    }
    rowStart = neighbour(rowStart, 1, 0);
  }
  showTotals();
  changed();
  status(`已粘贴 ${filled} 个单元格`);
}

for (const input of cells.values()) {
  input.addEventListener("input", () => cellChanged(input));
  input.addEventListener("keydown", onCellKey);
  input.addEventListener("paste", onCellPaste);
  input.addEventListener("focus", () => input.select());
}

// ------------------------------------------------------------------ live checking

function scheduleCheck(delay = CHECK_DELAY) {
  document.body.dataset.checking = "pending";  // "idle" once the newest result is shown (tests wait for it)
  state.checkPending = true;
  clearTimeout(state.checkTimer);
  state.checkTimer = setTimeout(check, delay);
}

async function check() {
  state.checkPending = false;
  const seq = ++state.checkSeq;
  // with last year's report: both, under their own media type, for the cross-year rules
  const body = state.previous ? { report: state.report, previous: state.previous } : state.report;
  const type = state.previous ? "application/vnd.docxreport.with-previous+json" : "application/json";
  let response;
  try {
    response = await call("/v1/validate", { method: "POST", headers: { "Content-Type": type }, body: JSON.stringify(body) });
  } catch {
    if (seq === state.checkSeq) { $("problem-summary").textContent = "无法连接服务，暂不能检查"; idle(seq); }
    return;
  }
  if (seq !== state.checkSeq) return;  // a newer check is on its way
  if (!response.ok) {
    $("problem-summary").textContent = `检查失败：${await problemText(response)}`;
    idle(seq);
    return;
  }
  const result = await response.json();
  if (seq !== state.checkSeq) return;
  showProblems(result.problems || []);
  idle(seq);
}

function idle(seq) {
  if (seq !== state.checkSeq || state.checkPending) return;
  if (!document.body.dataset.checking || document.body.dataset.checking === "pending") {
    if (!performance.getEntriesByName("docxreport:first-check").length) performance.mark("docxreport:first-check");
  }
  document.body.dataset.checking = "idle";
}

function labelOf(path) {
  if (cells.has(path)) return cells.get(path).getAttribute("aria-label");
  const top = path.split(/[.[]/)[0];
  if (FIELD_NAMES[top]) return FIELD_NAMES[top];
  const section = config.sections.find((s) => s.key === top);
  if (section) return section.heading;
  if (top === "preamble") return "引言";
  return path;
}

// The element a problem belongs at: its cell, its field, its paragraph, or its section.
function elementOf(path) {
  if (cells.has(path)) return cells.get(path);
  const top = path.split(/[.[]/)[0];
  if (top === "title") {
    const m = /^title\[(\d+)\]/.exec(path);
    return document.querySelector(`input[data-field=title][data-line="${m ? m[1] : 0}"]`);
  }
  if (FIELD_NAMES[top] && $(`field-${top}`)) return $(`field-${top}`);
  if (state.placed[top]) {
    let best = -1, bestLength = -1;
    state.placed[top].forEach((p, i) => {
      if ((path === p.path || path.startsWith(p.path + ".") || path.startsWith(p.path + "[")) && p.path.length > bestLength) {
        best = i; bestLength = p.path.length;
      }
    });
    const li = document.querySelector(`ol.blocks[data-section="${top}"] > li[data-index="${best}"]`);
    if (li) {
      const part = path.endsWith(".heading") ? ".heading-input" : "textarea";
      return li.querySelector(part) || li.querySelector(".heading-input, textarea");
    }
    return document.querySelector(`#section-${top} .block-add button`);
  }
  // a table row or group that is wrong as a whole (requests.outcomes): its first cell
  for (const [key, input] of cells) if (key.startsWith(path + ".")) return input;
  const section = $(`section-${top}`);
  return section ? section.querySelector("input, textarea, button") : null;
}

function showProblems(problems) {
  for (const element of document.querySelectorAll("[aria-invalid], .has-warning")) {
    element.removeAttribute("aria-invalid");
    element.classList.remove("has-warning", "has-error");
    element.removeAttribute("aria-describedby");
  }
  const messages = $("messages");
  messages.replaceChildren();
  const list = $("problem-list");
  list.replaceChildren();
  const byElement = new Map();
  problems.forEach((problem, n) => {
    const element = elementOf(problem.path || "$");
    const message = document.createElement("span");
    message.id = `problem-${n}`;
    const kind = problem.severity === "warning" ? "警告" : "错误";
    message.textContent = `${kind}：${problem.message}`;
    messages.append(message);
    if (element) {
      if (!byElement.has(element)) byElement.set(element, []);
      byElement.get(element).push({ problem, id: message.id });
    }
    const li = document.createElement("li");
    li.className = problem.severity;
    const button = document.createElement("button");
    button.type = "button";
    const where = document.createElement("strong");
    where.textContent = labelOf(problem.path || "$");
    const text = document.createElement("span");
    text.textContent = `${kind}：${problem.message}`;
    const path = document.createElement("code");
    path.textContent = problem.path || "$";
    button.append(where, text, path);
    button.addEventListener("click", () => {
      const target = elementOf(problem.path || "$");
      if (target) { target.scrollIntoView({ block: "center" }); target.focus(); }
    });
    li.append(button);
    list.append(li);
  });
  for (const [element, found] of byElement) {
    const errors = found.filter((f) => f.problem.severity !== "warning");
    if (errors.length) element.setAttribute("aria-invalid", "true");
    element.classList.add(errors.length ? "has-error" : "has-warning");
    element.setAttribute("aria-describedby", found.map((f) => f.id).join(" "));
    element.title = found.map((f) => f.problem.message).join("\n");
  }
  state.problems = problems;
  state.errors = problems.filter((p) => p.severity !== "warning").length;
  const warnings = problems.length - state.errors;
  $("problem-summary").textContent = problems.length === 0
    ? "没有发现问题"
    : `${state.errors} 处错误，${warnings} 处警告`;
  updateDownloads();
}

function updateDownloads() {
  const blocked = state.errors > 0;
  const why = blocked ? `报告有 ${state.errors} 处错误，改正后才能下载 Word、PDF 和网页；可先“保存数据”或“保存为 Excel 工作簿”。` : "";
  for (const id of ["download-docx", "download-pdf", "download-html"]) {
    const button = $(id);
    const unavailable = id === "download-html" && !config.htmlDownload;
    button.setAttribute("aria-disabled", String(blocked || unavailable));
    button.title = unavailable ? "本服务暂不提供网页格式" : why;
  }
  $("download-why").textContent = why + (config.htmlDownload ? "" : "（网页格式暂不可用。）");
}

// ------------------------------------------------------------------ saving

function scheduleSave() {
  document.body.dataset.saving = "pending";  // "idle" once the last change is stored (tests wait for it)
  clearTimeout(state.saveTimer);
  state.saveTimer = setTimeout(save, SAVE_DELAY);
}

async function save() {
  const seq = ++state.saveSeq;
  const done = () => { if (seq === state.saveSeq) document.body.dataset.saving = "idle"; };
  try {
    await store();
  } finally {
    done();
  }
}

async function store() {
  if (config.mode === "serve") {
    try {
      localStorage.setItem(DRAFT_KEY, JSON.stringify({ report: state.report, previous: state.previous, saved: new Date().toISOString() }));
    } catch {
      status("浏览器无法保存草稿（存储空间不足或被禁用），请及时“保存数据”。");
    }
    return;
  }
  if (!state.storePath) { askLocation(); return; }
  let response;
  try {
    response = await call("/workbench/document", { method: "PUT", headers: { "Content-Type": "application/json" }, body: JSON.stringify(state.report) });
  } catch {
    status("无法保存到文件：与 docxreport edit 的连接已断开");
    return;
  }
  if (response.ok) {
    const result = await response.json();
    state.dirty = false;
    status(`已保存到 ${result.path}（${result.saved.slice(11)}）`);
  } else {
    status(`无法保存到文件：${await problemText(response)}`);
  }
}

function askLocation() {
  const dialog = $("location-dialog");
  if (!dialog.open) dialog.showModal();
}

$("location-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const response = await call("/workbench/document/location", {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ path: $("location-input").value }),
  });
  if (!response.ok) { $("location-error").textContent = await problemText(response); return; }
  state.storePath = (await response.json()).path;
  $("location-dialog").close();
  save();
});

// ------------------------------------------------------------------ downloads

function fileName(response, fallback) {
  const disposition = response.headers.get("Content-Disposition") || "";
  const star = /filename\*=UTF-8''([^;]+)/i.exec(disposition);
  if (star) { try { return decodeURIComponent(star[1]); } catch { /* the plain name below */ } }
  const plain = /filename="?([^";]+)"?/i.exec(disposition);
  return plain ? plain[1] : fallback;
}

function offer(blob, name) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

function baseName() {
  const organ = typeof state.report.organ === "string" && state.report.organ.trim() ? state.report.organ.trim() : "报告";
  const year = state.report.year ?? "";
  return `${organ}${year}年政府信息公开工作年度报告`.replace(/[\\/:*?"<>|]/g, "_");
}

async function download(format) {
  if (format === "html" && !config.htmlDownload) { status("本服务暂不提供网页格式的报告，请下载 Word 或 PDF。"); return; }
  if (state.errors > 0) { status($("download-why").textContent); return; }
  const names = { docx: "Word", pdf: "PDF", html: "网页" };
  status(`正在生成${names[format]}…`);
  let response;
  try {
    response = await call(`/v1/render${format === "docx" ? "" : `?format=${format}`}`, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(state.report),
    });
  } catch {
    status(`无法生成${names[format]}：无法连接服务`);
    return;
  }
  if (!response.ok) { status(`无法生成${names[format]}：${await problemText(response)}`); return; }
  const name = fileName(response, `${baseName()}.${format}`);
  offer(await response.blob(), name);
  status(`已生成 ${name}`);
}

for (const id of ["download-docx", "download-pdf", "download-html"]) {
  $(id).addEventListener("click", () => download($(id).dataset.format));
}

$("save-data").addEventListener("click", () => {
  offer(new Blob([JSON.stringify(state.report, null, 2) + "\n"], { type: "application/json" }), `${baseName()}.json`);
  if (config.mode === "serve") state.dirty = false;
  status("已保存报告数据（JSON）");
});

// The data as a workbook in the national layout, written by the server (POST /v1/render?format=xlsx): a
// report with errors is saved as it is, like 保存数据; only data a workbook has no place for is refused.
$("save-workbook").addEventListener("click", async () => {
  status("正在生成 Excel 工作簿…");
  let response;
  try {
    response = await call("/v1/render?format=xlsx", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(state.report),
    });
  } catch {
    status("无法生成 Excel 工作簿：无法连接服务");
    return;
  }
  if (!response.ok) { status(`无法生成 Excel 工作簿：${await problemText(response)}`); return; }
  const name = fileName(response, `${baseName()}.xlsx`);
  offer(await response.blob(), name);
  if (config.mode === "serve") state.dirty = false;
  const errors = Number(response.headers.get("X-Report-Errors") || 0);
  status(`已保存为 Excel 工作簿 ${name}` + (errors ? `（报告仍有 ${errors} 处错误，再次打开时会列出）` : ""));
});

// ------------------------------------------------------------------ opening files

async function readReport(file) {
  const head = new Uint8Array(await file.slice(0, 4).arrayBuffer());
  const zip = head[0] === 0x50 && head[1] === 0x4b;  // a Word document or a workbook
  const pdf = head[0] === 0x25 && head[1] === 0x50;
  const text = zip || pdf ? null : await file.text();
  if (zip || pdf || /^\s*</.test(text)) {  // a finished report or a workbook: the server reads it by content
    const form = new FormData();
    form.append("file", file, file.name || "report");
    const response = await call("/v1/extract", { method: "POST", body: form });
    if (!response.ok) throw new Error(await problemText(response));
    const result = await response.json();
    const errors = (result.problems || []).filter((p) => p.severity !== "warning").length;
    return { data: result.data, note: errors ? `（读取时有 ${errors} 处无法识别，请核对）` : "" };
  }
  let data;
  try { data = JSON.parse(text); } catch (error) { throw new Error(`不是有效的 JSON：${error.message}`); }
  if (!data || typeof data !== "object" || Array.isArray(data)) throw new Error("JSON 的顶层应为对象（报告数据）");
  return { data, note: "" };
}

function confirmReplace() {
  return !state.dirty || config.mode === "edit" || window.confirm("当前报告有未保存的修改，确定要替换吗？");
}

$("open-button").addEventListener("click", () => $("open-file").click());
$("previous-button").addEventListener("click", () => $("open-previous").click());

$("open-file").addEventListener("change", async (event) => {
  const file = event.target.files[0];
  event.target.value = "";
  if (!file || !confirmReplace()) return;
  try {
    const { data, note } = await readReport(file);
    loadReport(data, { previous: null, announce: `已打开 ${file.name}${note}` });
    changed();
  } catch (error) {
    status(`无法打开 ${file.name}：${error.message}`);
  }
});

// Last year's report → this year's draft: 上年结转 from its 结转下年度继续办理, its text as the draft text.
function fromPrevious(previous) {
  const report = clone(config.skeleton);
  if (typeof previous.organ === "string") report.organ = previous.organ;
  if (Number.isInteger(previous.year)) report.year = previous.year + 1;
  for (const [target, source] of config.carry) {
    if (target.endsWith(".total")) continue;  // computed from the columns
    const value = getPath(previous, source);
    if (typeof value === "number") setPath(report, target, value);
  }
  for (const key of BLOCK_SECTIONS) {
    if (Array.isArray(previous[key]) && previous[key].length) report[key] = clone(previous[key]);
  }
  return report;
}

$("open-previous").addEventListener("change", async (event) => {
  const file = event.target.files[0];
  event.target.value = "";
  if (!file || !confirmReplace()) return;
  try {
    const { data, note } = await readReport(file);
    loadReport(fromPrevious(data), { previous: data, announce: `已从上年报告 ${file.name} 开始：上年结转已按其“结转下年度继续办理”填写，正文为上年文字，请逐段修改${note}` });
    changed();
  } catch (error) {
    status(`无法打开 ${file.name}：${error.message}`);
  }
});

$("new-report").addEventListener("click", () => {
  if (!confirmReplace()) return;
  loadReport(clone(config.skeleton), { previous: null, announce: "已新建报告" });
  changed();
  $("field-organ").focus();
});

$("drop-previous").addEventListener("click", () => {
  state.previous = null;
  showPrevious();
  changed();
});

// ------------------------------------------------------------------ nothing lost

window.addEventListener("beforeunload", (event) => {
  if (!state.dirty) return;
  if (config.mode === "serve") save();  // the draft is in the browser now; still ask: it is not in a file yet
  event.preventDefault();
  event.returnValue = "";
});

function askKey() {
  const dialog = $("key-dialog");
  if (!dialog.open) dialog.showModal();
}

$("key-form").addEventListener("submit", (event) => {
  event.preventDefault();
  state.key = $("key-input").value.trim();
  sessionStorage.setItem(KEY_KEY, state.key);
  $("key-dialog").close();
  scheduleCheck(0);
});

async function start() {
  const hash = new URLSearchParams(location.hash.slice(1));
  if (hash.get("key")) {
    state.key = hash.get("key");
    sessionStorage.setItem(KEY_KEY, state.key);
    history.replaceState(null, "", location.pathname + location.search);
  } else {
    state.key = sessionStorage.getItem(KEY_KEY);
  }
  updateDownloads();
  if (config.mode === "edit") {
    const response = await call("/workbench/document");
    if (!response.ok) { status(`无法读取文件：${await problemText(response)}`); loadReport(null); return; }
    const document_ = await response.json();
    state.storePath = document_.path;
    $("location-input").value = document_.suggested;
    const read = document_.problems || [];
    const readNote = read.length ? `；读取时发现 ${read.length} 处问题，如：${read[0].message}` : "";
    loadReport(document_.data, { announce: document_.path ? `正在编辑 ${document_.path}，修改自动保存${readNote}` : "新报告：第一次修改时选择保存位置" });
    return;
  }
  if (config.auth && !state.key) askKey();
  const draft = (() => { try { return JSON.parse(localStorage.getItem(DRAFT_KEY)); } catch { return null; } })();
  loadReport(null);
  if (draft && draft.report) {
    const organ = typeof draft.report.organ === "string" && draft.report.organ ? draft.report.organ : "未填机关名称";
    $("restore-text").textContent = `本浏览器中有 ${new Date(draft.saved).toLocaleString("zh-CN")} 自动保存的草稿（${organ}）。`;
    $("restore-dialog").showModal();
    $("restore-yes").onclick = () => {
      $("restore-dialog").close();
      loadReport(draft.report, { previous: draft.previous || null, announce: "已恢复草稿" });
    };
    $("restore-no").onclick = () => {
      $("restore-dialog").close();
      localStorage.removeItem(DRAFT_KEY);
      status("已放弃草稿");
    };
  }
}

start();
