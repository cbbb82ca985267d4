// The chat page: streams /v1/chat/completions, turns each [n] into a link, and shows the cited
// span of the source document. Document text is only ever set through textContent, never HTML.
"use strict";

const $ = (id) => document.getElementById(id);
const history = [];       // OpenAI-style messages of this conversation
const keyInput = $("api-key");
keyInput.value = sessionStorage.getItem("rag-api-key") || "";
keyInput.addEventListener("change", () => sessionStorage.setItem("rag-api-key", keyInput.value));

function headers(extra) {
  const h = Object.assign({}, extra || {});
  if (keyInput.value) h["Authorization"] = "Bearer " + keyInput.value;
  return h;
}

// Render text into `el`: plain text nodes, and a link for each [n] that has a citation.
function renderWithLinks(el, text, citations) {
  el.replaceChildren();
  const byN = new Map((citations || []).map((c) => [c.n, c]));
  let last = 0;
  for (const m of text.matchAll(/\[(\d+)\]/g)) {
    el.append(document.createTextNode(text.slice(last, m.index)));
    const citation = byN.get(Number(m[1]));
    if (citation) {
      const a = document.createElement("a");
      a.className = "cite";
      a.href = "#source";
      a.textContent = m[0];
      a.dataset.n = m[1];
      a.addEventListener("click", (ev) => { ev.preventDefault(); showSource(citation); });
      el.append(a);
    } else {
      el.append(document.createTextNode(m[0]));
    }
    last = m.index + m[0].length;
  }
  el.append(document.createTextNode(text.slice(last)));
}

async function showSource(citation) {
  const response = await fetch("/v1/documents/" + citation.doc_id.split("/").map(encodeURIComponent).join("/"),
                               { headers: headers() });
  const body = await response.json();
  if (!response.ok) { $("status").textContent = body.error ? body.error.message : response.statusText; return; }
  const text = body.text;
  const mark = document.createElement("mark");
  mark.id = "cited-span";
  mark.textContent = text.slice(citation.start, citation.end);
  $("source-text").replaceChildren(document.createTextNode(text.slice(0, citation.start)), mark,
                                   document.createTextNode(text.slice(citation.end)));
  $("source-title").textContent = "[" + citation.n + "] " + (body.title || citation.doc_id);
  $("source-id").textContent = citation.doc_id + " [" + citation.start + "–" + citation.end + "]";
  $("source").hidden = false;
  mark.scrollIntoView({ block: "center" });
}

function addMessage(role, text) {
  const li = document.createElement("li");
  li.className = role;
  li.textContent = text;
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
  history.push({ role: "user", content: question });
  addMessage("user", question);
  const li = addMessage("assistant", "");
  $("send").disabled = true;
  $("status").textContent = "…";
  let content = "";
  let citations = [];
  try {
    const response = await fetch("/v1/chat/completions", {
      method: "POST",
      headers: headers({ "Content-Type": "application/json" }),
      body: JSON.stringify({ model: "cq-rag", messages: history, stream: true }),
    });
    if (!response.ok) {
      const body = await response.json().catch(() => ({}));
      throw new Error(body.error ? body.error.message : response.statusText);
    }
    await readEvents(response, (chunk) => {
      const choice = chunk.choices[0];
      if (choice.delta && choice.delta.content) content += choice.delta.content;
      if (chunk.citations) citations = chunk.citations;
      if (chunk.rag && chunk.rag.rewritten_question !== question) {
        li.title = "asked as: " + chunk.rag.rewritten_question;
      }
      renderWithLinks(li, content, citations);
    });
    history.push({ role: "assistant", content: content });
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
