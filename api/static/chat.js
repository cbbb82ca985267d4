// The chat page: lists the indexed documents (upload, delete), offers example questions made from
// their metadata, streams /v1/chat/completions, turns each [n] into a link and shows the cited span
// of the source document. Labels follow the language of the last question.
// Document text is only ever set through textContent, never parsed as HTML.
"use strict";

const $ = (id) => document.getElementById(id);
const history = [];         // OpenAI-style messages of this conversation
let documents = new Map();  // doc_id -> {doc_id, title, chars, meta} of the live index
let documentsLoaded = false;

const TEXT = {
  en: {
    tagline: "Cited answers from the indexed policy documents", apiKey: "API key",
    keyPlaceholder: "(if the server needs one)", examples: "Try asking",
    questionPlaceholder: "Ask about the documents…", ask: "Ask", documents: "Documents",
    uploadLabel: "Add a document (text, HTML, PDF or scan, Word, WPS, RTF, OFD, spreadsheet)", upload: "Upload", delete: "Delete",
    close: "Close", thinking: "Searching the documents…", sources: "Sources",
    closest: "Closest passages (no answer found)", askedAs: "Asked as:",
    page: (n) => `p. ${n}`, span: (s, e) => `characters ${s}–${e} of the stored text`,
    confirmDelete: (title) => `Delete “${title}” from the index?`,
    uploading: "Uploading and indexing…", deleting: "Deleting…",
    uploaded: (r) => `${r.status === "unchanged" ? "Unchanged" : r.status === "replaced"
      ? "Replaced" : "Added"}: ${r.doc_id} (${r.chunks} chunks in the index)`,
    deleted: (id) => `Deleted ${id}`, noDocuments: "The index holds no documents.",
    docCount: (n) => `(${n})`, instructionLike: "reads like an instruction to a model",
  },
  zh: {
    tagline: "根据已索引的政策文件作答，并注明出处", apiKey: "API 密钥",
    keyPlaceholder: "（服务器需要时填写）", examples: "可以这样问",
    questionPlaceholder: "就这些文件提问…", ask: "提问", documents: "文件",
    uploadLabel: "添加文件（文本、网页、PDF 或扫描件、Word、WPS、RTF、OFD、表格）", upload: "上传", delete: "删除",
    close: "关闭", thinking: "正在检索文件…", sources: "来源",
    closest: "最相关的段落（未找到答案）", askedAs: "理解为：",
    page: (n) => `第${n}页`, span: (s, e) => `存储文本第 ${s}–${e} 字符`,
    confirmDelete: (title) => `从索引中删除「${title}」？`,
    uploading: "正在上传并建立索引…", deleting: "正在删除…",
    uploaded: (r) => `${r.status === "unchanged" ? "未变化" : r.status === "replaced"
      ? "已替换" : "已添加"}：${r.doc_id}（索引共 ${r.chunks} 个片段）`,
    deleted: (id) => `已删除 ${id}`, noDocuments: "索引中没有文件。",
    docCount: (n) => `（${n}）`, instructionLike: "这段文字读起来像给模型的指令",
  },
};
let lang = (navigator.language || "").toLowerCase().startsWith("zh") ? "zh" : "en";
const t = (key) => TEXT[lang][key];

// A question is Chinese when it has at least as many Han characters as Latin words.
function languageOf(text) {
  const han = (text.match(/[\u3400-\u9fff\uf900-\ufaff]/g) || []).length;
  const words = (text.match(/[A-Za-z]+/g) || []).length;
  return han > 0 && han >= words ? "zh" : "en";
}

function setLanguage(next) {
  lang = next;
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of document.querySelectorAll("[data-i18n-placeholder]")) {
    el.placeholder = t(el.dataset.i18nPlaceholder);
  }
  for (const el of document.querySelectorAll("[data-i18n-aria-label]")) {
    el.setAttribute("aria-label", t(el.dataset.i18nAriaLabel));
  }
  for (const button of document.querySelectorAll("#doc-list button.delete")) {
    button.textContent = t("delete");
  }
  $("doc-count").textContent = documentsLoaded ? t("docCount")(documents.size) : "";
}

const keyInput = $("api-key");
keyInput.value = sessionStorage.getItem("rag-api-key") || "";
keyInput.addEventListener("change", () => {
  sessionStorage.setItem("rag-api-key", keyInput.value);
  loadDocuments();
});

function headers(extra) {
  const h = Object.assign({}, extra || {});
  if (keyInput.value) h["Authorization"] = "Bearer " + keyInput.value;
  return h;
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

async function errorOf(response) {
  const body = await response.json().catch(() => ({}));
  return body.error ? body.error.message : response.statusText;
}

const docPath = (docId) => "/v1/documents/" + docId.split("/").map(encodeURIComponent).join("/");
const dateOf = (meta) => meta.date || meta.published || meta.signed || "";

// Title, then 发文字号 · publisher · date, then page: what a reader needs to find the paper copy.
function describe(docId, page) {
  const doc = documents.get(docId);
  const meta = doc ? doc.meta : {};
  const parts = [meta.doc_number, meta.publisher, dateOf(meta)].filter(Boolean);
  if (page) parts.push(t("page")(page));
  return parts.join(" · ");
}

// --- the documents of the index, and example questions made from them ---------------------------

async function loadDocuments() {
  const response = await fetch("/v1/documents", { headers: headers() });
  if (!response.ok) {
    $("library-status").textContent = await errorOf(response);
    return;
  }
  const body = await response.json();
  documents = new Map(body.documents.map((d) => [d.doc_id, d]));
  documentsLoaded = true;
  $("library-status").textContent = "";
  renderDocuments();
  renderExamples();
}

function renderDocuments() {
  $("doc-count").textContent = t("docCount")(documents.size);
  const items = [];
  for (const doc of documents.values()) {
    const li = el("li", "doc");
    li.dataset.docId = doc.doc_id;
    const text = el("div", "doc-text");
    text.append(el("span", "doc-title", doc.title || doc.doc_id), el("span", "doc-meta",
                                                                     describe(doc.doc_id)));
    const remove = el("button", "delete", t("delete"));
    remove.type = "button";
    remove.addEventListener("click", () => deleteDocument(doc));
    li.append(text, remove);
    items.push(li);
  }
  if (!items.length) items.push(el("li", "hint", t("noDocuments")));
  $("doc-list").replaceChildren(...items);
}

// Questions about a header field that a document has (index/clean.py reads them from its header
// block), else about its content: any corpus of official documents yields some. One question per
// document, each asking about a field the earlier examples did not, while one is left.
const TEMPLATES = [
  ["doc_number", (title) => `${title}的发文字号是什么？`],
  ["signed", (title) => `${title}的成文日期是哪天？`],
  ["publisher", (title) => `${title}的发布机构是哪个？`],
  ["addressee", (title) => `${title}的主送单位是谁？`],
];
const ABOUT = (title) => `${title}主要讲了什么？`;
const MAX_EXAMPLES = 4;

function exampleQuestions() {
  const questions = [];
  const asked = new Set();
  for (const doc of documents.values()) {
    if (!doc.title) continue;
    const fitting = TEMPLATES.filter(([field]) => doc.meta[field]);
    const [field, make] = fitting.find(([f]) => !asked.has(f)) || fitting[0] || ["", ABOUT];
    asked.add(field);
    questions.push(make(doc.title));
    if (questions.length === MAX_EXAMPLES) break;
  }
  return questions;
}

function renderExamples() {
  const items = exampleQuestions().map((question) => {
    const button = el("button", "example", question);
    button.type = "button";
    button.addEventListener("click", () => { if (!$("send").disabled) ask(question); });
    const li = el("li");
    li.append(button);
    return li;
  });
  $("examples").replaceChildren(...items);
  $("welcome").hidden = !items.length;
}

async function uploadDocument(file) {
  const form = new FormData();
  form.append("file", file, file.name);
  $("upload").disabled = true;
  $("library-status").textContent = t("uploading");
  try {
    const response = await fetch("/v1/documents", { method: "POST", headers: headers(), body: form });
    if (!response.ok) { $("library-status").textContent = await errorOf(response); return; }
    const result = await response.json();
    await loadDocuments();
    $("library-status").textContent = t("uploaded")(result);
    $("upload-form").reset();
  } finally {
    $("upload").disabled = false;
  }
}

async function deleteDocument(doc) {
  if (!window.confirm(t("confirmDelete")(doc.title || doc.doc_id))) return;
  $("library-status").textContent = t("deleting");
  const response = await fetch(docPath(doc.doc_id), { method: "DELETE", headers: headers() });
  if (!response.ok) { $("library-status").textContent = await errorOf(response); return; }
  await loadDocuments();
  $("library-status").textContent = t("deleted")(doc.doc_id);
}

// --- the source panel ---------------------------------------------------------------------------

// `ref` is a citation ({n, doc_id, title, start, end, page}) or a passage (no n).
async function showSource(ref) {
  const response = await fetch(docPath(ref.doc_id), { headers: headers() });
  if (!response.ok) { $("status").textContent = await errorOf(response); return; }
  const body = await response.json();
  const text = body.text;
  const mark = el("mark", "", text.slice(ref.start, ref.end));
  mark.id = "cited-span";
  $("source-text").replaceChildren(document.createTextNode(text.slice(0, ref.start)), mark,
                                   document.createTextNode(text.slice(ref.end)));
  const title = body.title || ref.title || ref.doc_id;
  $("source-title").textContent = ref.n ? "[" + ref.n + "] " + title : title;
  $("source-meta").textContent = describe(ref.doc_id, ref.page);
  $("source-id").textContent = ref.doc_id + " · " + t("span")(ref.start, ref.end);
  $("source").hidden = false;
  mark.scrollIntoView({ block: "center" });
}

$("source-close").addEventListener("click", () => { $("source").hidden = true; });

// --- messages -----------------------------------------------------------------------------------

// Render text into `node`: plain text nodes, and a link for each [n] that has a citation.
function renderWithLinks(node, text, citations) {
  node.replaceChildren();
  const byN = new Map((citations || []).map((c) => [c.n, c]));
  let last = 0;
  for (const m of text.matchAll(/\[(\d+)\]/g)) {
    node.append(document.createTextNode(text.slice(last, m.index)));
    const citation = byN.get(Number(m[1]));
    node.append(citation ? citeLink(citation) : document.createTextNode(m[0]));
    last = m.index + m[0].length;
  }
  node.append(document.createTextNode(text.slice(last)));
}

function citeLink(citation) {
  const a = el("a", "cite", "[" + citation.n + "]");
  a.href = "#source";
  a.dataset.n = String(citation.n);
  a.addEventListener("click", (ev) => { ev.preventDefault(); ev.stopPropagation(); showSource(citation); });
  return a;
}

// One card per cited span (or, after a refusal, per closest passage): title, then
// 发文字号 · publisher · date · page; a click shows the span in its document.
function sourceCards(citations, passages, words) {
  const box = el("div", "sources");
  const refs = citations.length ? citations : passages;
  if (!refs.length) return box;
  box.append(el("h3", "", citations.length ? words.sources : words.closest));
  const list = el("ol", "source-cards");
  for (const ref of refs) {
    const card = el("li", citations.length ? "source-card" : "source-card passage");
    card.tabIndex = 0;
    const head = el("div", "card-head");
    if (ref.n) head.append(citeLink(ref));
    const doc = documents.get(ref.doc_id);
    head.append(el("span", "card-title", (doc && doc.title) || ref.title || ref.doc_id));
    card.append(head, el("div", "card-meta", describe(ref.doc_id, ref.page)));
    if (!ref.n) card.append(el("div", "card-snippet", snippet(ref.text || "")));
    if (ref.instruction_like) card.append(el("div", "card-warning", "⚠ " + words.instructionLike));
    const open = () => showSource(ref);
    card.addEventListener("click", open);
    card.addEventListener("keydown", (ev) => { if (ev.key === "Enter") open(); });
    list.append(card);
  }
  box.append(list);
  return box;
}

function snippet(text) {
  const flat = text.split(/\s+/).join(" ");
  return flat.length > 80 ? flat.slice(0, 80) + "…" : flat;
}

function addMessage(role, text) {
  const li = el("li", role, text);
  $("messages").append(li);
  return li;
}

// Read a text/event-stream body and call onEvent with each parsed `data:` JSON object.
async function readEvents(response, onEvent) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      for (const line of block.split("\n")) {
        if (!line.startsWith("data: ")) continue;
        const data = line.slice(6);
        if (data === "[DONE]") return;
        onEvent(JSON.parse(data));
      }
    }
  }
}

async function ask(question) {
  setLanguage(languageOf(question));
  const words = TEXT[lang];
  $("welcome").hidden = true;
  history.push({ role: "user", content: question });
  const user = addMessage("user", question);
  user.lang = lang === "zh" ? "zh-CN" : "en";
  const li = addMessage("assistant");
  li.lang = user.lang;
  const rewrite = el("p", "rewrite");
  rewrite.hidden = true;
  const body = el("div", "answer-text");
  li.append(rewrite, body);
  $("send").disabled = true;
  $("status").textContent = words.thinking;
  // The server sends the answer in pieces, then its plain-text source list as one last piece
  // (starting with a blank line); the page shows that list as cards instead.
  const pieces = [];
  let citations = [];
  let rag = null;
  try {
    const response = await fetch("/v1/chat/completions", {
      method: "POST",
      headers: headers({ "Content-Type": "application/json" }),
      body: JSON.stringify({ model: "cq-rag", messages: history, stream: true }),
    });
    if (!response.ok) throw new Error(await errorOf(response));
    await readEvents(response, (chunk) => {
      const choice = (chunk.choices || [])[0];  // a last `usage` chunk has no choices
      if (choice && choice.delta && choice.delta.content) pieces.push(choice.delta.content);
      if (chunk.citations) citations = chunk.citations;
      if (chunk.rag) rag = chunk.rag;
      const last = pieces.length - 1;
      const shown = last >= 0 && pieces[last].startsWith("\n\n") ? pieces.slice(0, last) : pieces;
      renderWithLinks(body, shown.join("").trim(), citations);
    });
    if (rag && rag.rewritten_question && rag.rewritten_question !== question) {
      rewrite.replaceChildren(el("span", "label", words.askedAs + " "),
                              el("q", "rewritten", rag.rewritten_question));
      rewrite.hidden = false;
    }
    if (!documentsLoaded) await loadDocuments();
    li.append(sourceCards(citations, rag ? rag.passages : [], words));
    history.push({ role: "assistant", content: pieces.join("") });
    li.dataset.done = "true";
    $("status").textContent = "";
  } catch (err) {
    history.pop();
    li.className = "error";
    li.textContent = String(err.message || err);
    $("status").textContent = "";
  } finally {
    $("send").disabled = false;
  }
}

$("ask-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const question = $("question").value.trim();
  if (!question) return;
  $("question").value = "";
  ask(question);
});

$("upload-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const file = $("upload-file").files[0];
  if (file) uploadDocument(file);
});

setLanguage(lang);
loadDocuments();
