/**
 * The demo's single page: a Mattermost-like channel view of the stand-in's posts (buttons go
 * through the stand-in's real click endpoint, which calls the daemon's callback server; replies
 * sit in their post's thread, as `root_id` says) and a tctl-like panel to create, approve, deny
 * and delete requests in the Teleport stand-in. Below 760 px the sidebars give way and the panel
 * follows the channel, so a phone (390 px) can use it.
 */
export function demoPage(): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>teleport-mattermost demo</title>
<style>
  :root { --sidebar: #1e325c; --sidebar-text: #dde3ee; --accent: #1c58d9; --border: #e3e4e8; --muted: #6b6f76; --teleport: #512fc9; }
  * { box-sizing: border-box; }
  body { margin: 0; font: 14px/1.45 "Open Sans", "Segoe UI", Helvetica, Arial, sans-serif; color: #3d3c40; display: flex; height: 100vh; background: #fff; }
  .teams { width: 64px; background: #14213e; display: flex; flex-direction: column; align-items: center; padding-top: 14px; flex-shrink: 0; }
  .teams .team { width: 40px; height: 40px; border-radius: 8px; background: #fff; color: var(--sidebar); display: grid; place-items: center; font-weight: 700; box-shadow: 0 0 0 3px rgba(255,255,255,.35); }
  nav { width: 240px; background: var(--sidebar); color: var(--sidebar-text); padding: 0 0 14px; flex-shrink: 0; display: flex; flex-direction: column; }
  nav h1 { font-size: 16px; margin: 0; padding: 14px 16px; color: #fff; border-bottom: 1px solid rgba(255,255,255,.12); }
  nav .section { text-transform: uppercase; font-size: 11px; font-weight: 600; opacity: .64; margin: 16px 16px 4px; letter-spacing: .04em; }
  nav .chan { padding: 5px 16px; opacity: .72; }
  nav .chan::before { content: "#"; display: inline-block; width: 18px; opacity: .7; }
  nav .chan.active { background: rgba(255,255,255,.16); opacity: 1; font-weight: 600; border-left: 3px solid #5d89ea; padding-left: 13px; }
  nav .about { margin: auto 16px 0; font-size: 12px; opacity: .7; line-height: 1.5; }
  main { flex: 1; display: flex; flex-direction: column; min-width: 0; }
  header { border-bottom: 1px solid var(--border); padding: 10px 20px; display: flex; align-items: center; gap: 12px; min-height: 62px; }
  header h2 { margin: 0; font-size: 16px; }
  header .purpose { color: var(--muted); font-size: 13px; }
  header .who { margin-left: auto; color: var(--muted); font-size: 13px; }
  header .to-panel { display: none; font-size: 13px; }
  select, input, button { font: inherit; }
  select { padding: 3px 6px; border: 1px solid var(--border); border-radius: 4px; background: #fff; }
  #posts { flex: 1; overflow-y: auto; padding: 8px 20px 24px; }
  .separator { display: flex; align-items: center; gap: 10px; color: var(--muted); font-size: 12px; font-weight: 600; margin: 10px 0; }
  .separator::before, .separator::after { content: ""; flex: 1; border-top: 1px solid var(--border); }
  .post { display: flex; gap: 10px; padding: 8px 0; }
  .post:hover { background: #f8f8f9; }
  .avatar { width: 36px; height: 36px; border-radius: 50%; background: var(--teleport); color: #fff; display: grid; place-items: center; font-weight: 700; flex-shrink: 0; }
  .post .body { min-width: 0; }
  .post .name { font-weight: 700; }
  .tag { background: #e8e9ed; color: #55575c; font-size: 10px; font-weight: 700; padding: 1px 4px; border-radius: 3px; margin-left: 4px; vertical-align: 1px; }
  .time { color: var(--muted); font-size: 12px; margin-left: 6px; }
  .ephemeral { color: var(--muted); }
  .ephemeral .only { font-size: 12px; font-style: italic; margin-left: 4px; }
  .attachment { border: 1px solid var(--border); border-left: 4px solid #ccc; border-radius: 4px; padding: 10px 12px; margin-top: 6px; max-width: 640px; background: #fff; }
  .attachment .title { font-weight: 700; margin-bottom: 6px; }
  .fields { display: grid; grid-template-columns: 1fr 1fr; gap: 6px 18px; }
  .field.long { grid-column: 1 / -1; }
  .field .label { font-weight: 700; font-size: 13px; }
  a { color: var(--accent); text-decoration: none; }
  a:hover { text-decoration: underline; }
  code { background: #f2f3f5; border: 1px solid #e0e1e4; border-radius: 3px; padding: 0 4px; font-size: 12.5px; color: #c03a5b; overflow-wrap: anywhere; }
  .field > div { overflow-wrap: anywhere; }
  .thread { margin-top: 8px; border-left: 2px solid var(--border); padding-left: 10px; }
  .thread .count { color: var(--accent); font-size: 12px; font-weight: 600; }
  .reply { display: flex; gap: 8px; padding: 4px 0; }
  .reply .avatar { width: 24px; height: 24px; font-size: 12px; }
  .actions { margin-top: 10px; display: flex; gap: 8px; }
  .actions button { border-radius: 4px; padding: 6px 14px; font-weight: 600; cursor: pointer; border: 1px solid; background: #fff; }
  .actions button.good { color: #1a7f4b; border-color: #1a7f4b; }
  .actions button.good:hover { background: #1a7f4b; color: #fff; }
  .actions button.danger { color: #c43c3f; border-color: #c43c3f; }
  .actions button.danger:hover { background: #c43c3f; color: #fff; }
  .actions button:disabled { opacity: .5; cursor: wait; }
  .footer { color: var(--muted); font-size: 12px; margin-top: 6px; }
  .composer { margin: 0 20px 16px; border: 1px solid #c8c9cc; border-radius: 4px; padding: 10px 12px; color: #9a9ba0; }
  aside { width: 340px; border-left: 1px solid var(--border); padding: 14px 16px; overflow-y: auto; background: #f7f6fb; flex-shrink: 0; }
  aside .brand { display: flex; align-items: center; gap: 8px; font-weight: 700; color: var(--teleport); margin-bottom: 4px; }
  aside .brand .logo { width: 22px; height: 22px; border-radius: 6px; background: var(--teleport); color: #fff; display: grid; place-items: center; font-size: 13px; }
  aside .hint { color: var(--muted); font-size: 12px; margin: 0 0 14px; }
  aside h3 { margin: 0 0 8px; font-size: 13px; font-family: ui-monospace, Menlo, Consolas, monospace; color: #2d2b3a; }
  aside form { display: grid; gap: 6px; margin-bottom: 20px; }
  aside label { font-size: 12px; color: var(--muted); display: grid; gap: 2px; }
  aside input { padding: 5px 8px; border: 1px solid #d6d3e4; border-radius: 4px; background: #fff; color: #3d3c40; }
  aside button { padding: 5px 10px; border-radius: 4px; border: 1px solid var(--teleport); background: var(--teleport); color: #fff; cursor: pointer; }
  .req { border: 1px solid #e1deee; border-radius: 6px; padding: 8px 10px; margin-bottom: 8px; background: #fff; font-size: 13px; }
  .req .ops { display: flex; gap: 6px; margin-top: 6px; }
  .req .ops button { background: #fff; color: var(--teleport); padding: 2px 8px; font-size: 12px; }
  .state { display: inline-block; font-size: 11px; font-weight: 700; letter-spacing: .03em; padding: 1px 6px; border-radius: 10px; margin-top: 4px; background: #eee; }
  .state.PENDING { background: #fff3d6; color: #8a5a00; }
  .state.APPROVED { background: #daf3e5; color: #1a7f4b; }
  .state.DENIED { background: #fbe0e0; color: #b02a2d; }
  #dialog { position: fixed; inset: 0; background: rgba(0,0,0,.35); display: none; place-items: center; }
  #dialog .box { background: #fff; border-radius: 8px; padding: 18px 20px; width: 460px; box-shadow: 0 8px 30px rgba(0,0,0,.25); }
  #dialog h3 { margin: 0 0 8px; }
  #dialog label { font-weight: 600; font-size: 13px; }
  #dialog textarea { width: 100%; min-height: 80px; margin: 8px 0 4px; font: inherit; border: 1px solid #c8c9cc; border-radius: 4px; padding: 6px 8px; }
  #dialog .error { color: #c43c3f; font-size: 13px; min-height: 18px; }
  #dialog .buttons { display: flex; justify-content: flex-end; gap: 8px; margin-top: 8px; }
  #dialog .buttons button { padding: 6px 14px; border-radius: 4px; border: 1px solid #c8c9cc; background: #fff; cursor: pointer; font-weight: 600; }
  #dialog .buttons #dialog-submit { background: var(--accent); border-color: var(--accent); color: #fff; }
  #toast { position: fixed; bottom: 16px; left: 50%; transform: translateX(-50%); background: #3d3c40; color: #fff; padding: 8px 14px; border-radius: 4px; display: none; }
  @media (max-width: 760px) {
    body { flex-direction: column; height: auto; min-height: 100vh; }
    .teams, nav, .composer { display: none; }
    header { padding: 8px 12px; flex-wrap: wrap; min-height: 0; gap: 4px 12px; }
    header .who { margin-left: 0; }
    header .to-panel { display: inline; }
    #posts { padding: 4px 12px 16px; overflow: visible; }
    .fields { grid-template-columns: 1fr; }
    aside { width: auto; border-left: 0; border-top: 1px solid var(--border); }
    #dialog .box { width: calc(100vw - 24px); }
  }
</style>
</head>
<body>
<div class="teams" aria-hidden="true"><div class="team">Ac</div></div>
<nav>
  <h1>Acme</h1>
  <div class="section">Channels</div>
  <div class="chan">town-square</div>
  <div class="chan active" id="channel-name">access-requests</div>
  <div class="chan">off-topic</div>
  <div class="about">Demo: the real teleport-mattermost daemon between a Teleport stand-in and a Mattermost stand-in. Buttons go through Mattermost's click path.</div>
</nav>
<main>
  <header>
    <div>
      <h2 id="channel-title">Access requests</h2>
      <div class="purpose">Teleport access requests to approve or deny</div>
    </div>
    <a class="to-panel" href="#panel">Teleport panel ↓</a>
    <span class="who">Viewing as <select id="as" data-viewer><option value="bob">bob (approver)</option><option value="alice">alice (requester)</option></select></span>
  </header>
  <div id="posts" data-testid="posts"></div>
  <div class="composer" aria-hidden="true">Write to Access requests</div>
</main>
<aside id="panel">
  <div class="brand"><span class="logo">T</span>Teleport</div>
  <p class="hint">Acts on the Teleport stand-in, like tsh and tctl would.</p>
  <h3>tsh request create</h3>
  <form id="new-request" data-new-request>
    <label>user<input name="user" value="alice"></label>
    <label>roles<input name="roles" value="dba"></label>
    <label>reason<input name="reason" value="Need to check the replication lag"></label>
    <button type="submit">Create request</button>
  </form>
  <h3>tctl requests ls</h3>
  <div id="requests" data-requests></div>
</aside>
<div id="dialog" role="dialog" data-dialog><div class="box"><h3 id="dialog-title"></h3><div id="dialog-intro"></div>
  <label for="dialog-reason" id="dialog-label">Reason</label><textarea id="dialog-reason" data-dialog-reason></textarea>
  <div class="error" id="dialog-error"></div>
  <div class="buttons"><button id="dialog-cancel" data-dialog-cancel>Cancel</button><button id="dialog-submit" data-dialog-submit></button></div></div></div>
<div id="toast" role="status"></div>
<script>
const STATES = ["NONE", "PENDING", "APPROVED", "DENIED", "PROMOTED"];
let current = null;
function esc(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}
// Just enough Mattermost markdown for the daemon's posts: code spans, bold, italics, links, escapes, line breaks.
function md(text) {
  const parts = String(text).split(/(\`[^\`]*\`)/g);
  return parts.map((part) => {
    if (part.startsWith("\`") && part.endsWith("\`") && part.length > 1) return "<code>" + esc(part.slice(1, -1)) + "</code>";
    const slots = [];
    let out = part.replace(/\\\\(.)/g, (_, c) => { slots.push(c); return "\\u0000" + (slots.length - 1) + "\\u0000"; });
    out = esc(out).replace(/\\*\\*(.+?)\\*\\*/g, "<b>$1</b>").replace(/(^|\\s)_(.+?)_(?=\\s|$)/g, "$1<i>$2</i>")
      .replace(/\\[([^\\]]+)\\]\\((https?:\\/\\/[^)\\s]+)\\)/g, '<a href="$2" target="_blank" rel="noopener">$1</a>');
    return out.replace(/\\u0000(\\d+)\\u0000/g, (_, i) => esc(slots[Number(i)])).replace(/\\n/g, "<br>");
  }).join("");
}
function toast(text) {
  const el = document.getElementById("toast");
  el.textContent = text; el.style.display = "block";
  clearTimeout(toast.timer); toast.timer = setTimeout(() => (el.style.display = "none"), 3500);
}
async function api(path, body) {
  const res = await fetch(path, body ? { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) } : {});
  return res.json();
}
function authorOf(post, users) {
  return post.user_id === users.bob ? "bob" : post.user_id === users.alice ? "alice" : current.bot;
}
function timeOf(post) {
  return new Date(post.create_at).toLocaleTimeString([], { hour: "numeric", minute: "2-digit" });
}
function nameLine(author) {
  return '<span class="name">' + esc(author) + "</span>" + (author === current.bot ? '<span class="tag">BOT</span>' : "");
}
// A reply (root_id set) is drawn in its post's thread, like Mattermost, never as a channel post.
function renderReply(reply, users) {
  const author = authorOf(reply, users);
  return '<div class="reply" data-reply-id="' + esc(reply.id) + '" data-root-id="' + esc(reply.root_id) + '"><div class="avatar">' + esc(author[0].toUpperCase()) + '</div><div class="body"><div>' + nameLine(author) + '<span class="time">' + timeOf(reply) + "</span></div><div>" + md(reply.message) + "</div></div></div>";
}
function renderPost(post, users, replies) {
  const attachments = (post.props && post.props.attachments) || [];
  const author = authorOf(post, users);
  const idField = attachments.flatMap((a) => a.fields || []).find((f) => f.title === "Request ID");
  const requestId = idField ? String(idField.value).replace(/\`/g, "") : "";
  let html = '<div class="post" data-post-id="' + esc(post.id) + '" data-request-id="' + esc(requestId) + '"><div class="avatar">' + esc(author[0].toUpperCase()) + '</div><div class="body"><div>' + nameLine(author) + '<span class="time">' + timeOf(post) + "</span></div>";
  if (post.message) html += "<div>" + md(post.message) + "</div>";
  for (const a of attachments) {
    html += '<div class="attachment" style="border-left-color:' + esc(a.color || "#ccc") + '">';
    if (a.title) html += '<div class="title">' + md(a.title) + "</div>";
    if (a.text) html += "<div>" + md(a.text) + "</div>";
    html += '<div class="fields">' + (a.fields || []).map((f) => '<div class="field' + (f.short ? "" : " long") + '" data-field="' + esc(f.title) + '"><div class="label">' + esc(f.title) + "</div><div>" + md(f.value) + "</div></div>").join("") + "</div>";
    if (a.actions && a.actions.length) {
      html += '<div class="actions">' + a.actions.map((x) => '<button class="' + esc(x.style || "") + '" data-action="' + esc(x.id) + '" data-post="' + esc(post.id) + '">' + esc(x.name) + "</button>").join("") + "</div>";
    }
    if (a.footer) html += '<div class="footer">' + esc(a.footer) + "</div>";
    html += "</div>";
  }
  if (replies.length) {
    html += '<div class="thread" data-thread="' + esc(post.id) + '"><div class="count">' + replies.length + (replies.length === 1 ? " reply" : " replies") + "</div>" + replies.map((r) => renderReply(r, users)).join("") + "</div>";
  }
  return html + "</div></div>";
}
/** Markup last set per element, by replaceHtml. */
const shownHtml = new WeakMap();
/** Sets an element's markup unless it is already that (a rewrite would replace every node). */
function replaceHtml(element, html) {
  if (shownHtml.get(element) === html) return;
  shownHtml.set(element, html);
  element.innerHTML = html;
}
async function refresh() {
  current = await api("/api/state");
  const as = document.getElementById("as").value;
  const ids = new Set(current.posts.map((p) => p.id));
  const threads = {};
  for (const p of current.posts.slice().sort((a, b) => a.create_at - b.create_at)) {
    if (p.root_id && ids.has(p.root_id)) (threads[p.root_id] = threads[p.root_id] || []).push(p);
  }
  const items = current.posts.filter((p) => !(p.root_id && ids.has(p.root_id)))
    .map((p) => ({ at: p.create_at, html: renderPost(p, current.users, threads[p.id] || []) }))
    .concat((current.ephemeral[as] || []).map((p) => ({ at: p.create_at, html: '<div class="post" data-ephemeral><div class="avatar">' + esc(current.bot[0].toUpperCase()) + '</div><div class="body"><span class="name">' + esc(current.bot) + '</span><span class="tag">BOT</span><span class="time">' + timeOf(p) + '</span><div class="ephemeral">' + md(p.message) + '<span class="only">(Only visible to you)</span></div></div></div>' })));
  items.sort((a, b) => a.at - b.at);
  const dialog = (current.dialogs[as] || [])[0];
  const box = document.getElementById("dialog");
  if (dialog && box.dataset.state !== dialog.dialog.state) {
    box.dataset.state = dialog.dialog.state;
    const element = (dialog.dialog.elements || [])[0] || {};
    document.getElementById("dialog-title").textContent = dialog.dialog.title || "";
    document.getElementById("dialog-intro").innerHTML = md(dialog.dialog.introduction_text || "");
    document.getElementById("dialog-label").textContent = (element.display_name || "Reason") + (element.optional ? " (optional)" : "");
    document.getElementById("dialog-reason").value = "";
    document.getElementById("dialog-reason").placeholder = element.placeholder || "";
    document.getElementById("dialog-submit").textContent = dialog.dialog.submit_label || "Submit";
    document.getElementById("dialog-error").textContent = "";
  }
  box.style.display = dialog ? "grid" : "none";
  if (!dialog) box.dataset.state = "";
  const list = document.getElementById("posts");
  // Like Mattermost: stay at the newest post unless the reader scrolled up.
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  // Only what changed is redrawn: an event about something else keeps the reader's buttons,
  // selection and focus where they are.
  replaceHtml(list, items.length ? '<div class="separator">Today</div>' + items.map((i) => i.html).join("") : '<p class="ephemeral">No posts yet.</p>');
  if (atBottom) list.scrollTop = list.scrollHeight;
  replaceHtml(document.getElementById("requests"), current.requests.map((r) =>
    '<div class="req" data-request="' + esc(r.id) + '"><div><code>' + esc(r.id.slice(0, 8)) + "</code> " + esc(r.user) + " → " + esc((r.roles || []).join(", ")) + '</div><div class="state ' + STATES[r.state] + '" data-state="' + STATES[r.state] + '">' + STATES[r.state] + "</div>" +
    (r.state === 1 ? '<div class="ops"><button data-tctl="approve" data-id="' + esc(r.id) + '">approve</button><button data-tctl="deny" data-id="' + esc(r.id) + '">deny</button><button data-tctl="delete" data-id="' + esc(r.id) + '">delete</button></div>' : "") + "</div>").join("") || "<p>No requests.</p>");
}
document.addEventListener("click", async (event) => {
  const button = event.target.closest("button");
  if (!button) return;
  if (button.dataset.action) {
    button.disabled = true;
    const reply = await api("/api/click", { postId: button.dataset.post, actionId: button.dataset.action, as: document.getElementById("as").value });
    if (reply.status !== "OK") toast("Mattermost: " + (reply.message || reply.error || "click failed"));
    // A refused click leaves the post as it was (not redrawn): its button works again.
    button.disabled = false;
    refresh();
  } else if (button.id === "dialog-submit" || button.id === "dialog-cancel") {
    const reply = await api("/api/dialog", { as: document.getElementById("as").value, reason: document.getElementById("dialog-reason").value, cancelled: button.id === "dialog-cancel" });
    const problem = reply.error || (reply.errors && Object.values(reply.errors).join(" "));
    document.getElementById("dialog-error").textContent = problem || "";
    refresh();
  } else if (button.dataset.tctl) {
    await api("/api/tctl", { id: button.dataset.id, action: button.dataset.tctl });
  }
});
document.getElementById("new-request").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  await api("/api/requests", Object.fromEntries(form.entries()));
});
document.getElementById("as").addEventListener("change", refresh);
new EventSource("/api/events").onmessage = () => refresh();
refresh();
</script>
</body>
</html>
`;
}
