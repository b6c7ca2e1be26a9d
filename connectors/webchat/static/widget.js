/*! Frontdesk web chat widget. Embed with:
 *  <script src="https://support.example.com/widget.js" data-frontdesk-url="https://support.example.com"
 *          data-title="Chat with us" async></script>
 * Plain JavaScript, no dependencies, no build step. Talks to the API in docs/webchat-api.md.
 * Security rule for this file: server and customer text is only ever assigned with textContent. */
(function () {
  "use strict";
  if (window.Frontdesk) return; // embedded twice on the same page: keep the first one

  // document.currentScript is null inside callbacks, so read the tag's attributes right away.
  var script = document.currentScript || document.querySelector("script[data-frontdesk-url]") ||
    document.querySelector('script[src*="widget.js"]');
  var scriptOrigin = script && script.src ? new URL(script.src, location.href).origin : location.origin;
  var BASE = ((script && script.getAttribute("data-frontdesk-url")) || scriptOrigin).replace(/\/+$/, "");
  var TITLE = (script && script.getAttribute("data-title")) || "Chat with us";
  var KEY = "frontdesk:" + BASE; // several Frontdesk servers may be embedded on one site over time
  var POLL_MS = 4000, FETCH_TIMEOUT_MS = 30000, PING_MS = 25000, PAGE = 500;

  var CSS = [
    ":host{all:initial;position:fixed;right:20px;bottom:20px;z-index:2147483000;",
    "font:14px/1.4 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1f2933}",
    "*{box-sizing:border-box}[hidden]{display:none!important}",
    "button{font:inherit;cursor:pointer}",
    ".bubble{position:relative;width:56px;height:56px;border:0;border-radius:50%;background:#2457d6;color:#fff;",
    "box-shadow:0 4px 14px rgba(0,0,0,.25);display:flex;align-items:center;justify-content:center}",
    ".bubble svg{width:28px;height:28px;fill:currentColor}",
    ".badge{position:absolute;top:-4px;right:-4px;min-width:20px;height:20px;padding:0 5px;border-radius:10px;",
    "background:#d63324;color:#fff;font-size:12px;line-height:20px;text-align:center}",
    ".panel{position:absolute;right:0;bottom:72px;width:360px;max-width:calc(100vw - 40px);height:520px;",
    "max-height:calc(100vh - 112px);display:flex;flex-direction:column;background:#fff;border-radius:12px;",
    "box-shadow:0 8px 30px rgba(0,0,0,.25);overflow:hidden}",
    "header{display:flex;align-items:center;justify-content:space-between;padding:12px 14px;",
    "background:#2457d6;color:#fff;font-weight:600}",
    "header button{background:none;border:0;color:#fff;font-size:20px;line-height:1;padding:0 4px}",
    ".status{padding:4px 14px;background:#fff4d6;color:#7a5b00;font-size:12px}",
    ".list{flex:1;overflow-y:auto;padding:12px;display:flex;flex-direction:column;gap:8px;background:#f5f7fa}",
    ".msg{max-width:80%;display:flex;flex-direction:column;align-items:flex-start}",
    ".msg .who{font-size:11px;color:#616e7c;margin:0 4px 2px}",
    ".msg .text{padding:8px 11px;border-radius:14px;background:#fff;border:1px solid #e4e7eb;",
    "white-space:pre-wrap;overflow-wrap:anywhere}",
    ".msg.customer{align-self:flex-end;align-items:flex-end}",
    ".msg.customer .text{background:#2457d6;color:#fff;border-color:#2457d6}",
    ".msg.system{align-self:center;max-width:90%}.msg.system .text{background:none;border:0;color:#616e7c;",
    "font-size:12px;text-align:center}",
    ".msg .note{font-size:11px;color:#616e7c;margin:2px 4px 0}.msg[data-state=failed] .note{color:#d63324}",
    ".msg .files{display:flex;flex-direction:column;gap:4px;margin-top:4px}",
    ".msg .file{border:1px solid #cbd2d9;background:#fff;border-radius:8px;padding:4px 8px;text-align:left}",
    ".msg[data-state=sending] .text{opacity:.7}",
    ".typing{align-self:flex-start;padding:10px 12px;border-radius:14px;background:#fff;border:1px solid #e4e7eb}",
    ".typing span{display:inline-block;width:6px;height:6px;margin:0 2px;border-radius:50%;background:#9aa5b1;",
    "animation:fd-blink 1.2s infinite}.typing span:nth-child(2){animation-delay:.2s}",
    ".typing span:nth-child(3){animation-delay:.4s}@keyframes fd-blink{0%,80%,100%{opacity:.3}40%{opacity:1}}",
    ".quick{display:flex;flex-wrap:wrap;gap:6px;padding:0 12px 8px;background:#f5f7fa}",
    ".quick button{border:1px solid #2457d6;background:#fff;color:#2457d6;border-radius:14px;padding:4px 10px}",
    ".error{padding:6px 14px;background:#fde8e6;color:#a0261b;font-size:12px}",
    "form{display:flex;gap:8px;padding:10px;border-top:1px solid #e4e7eb}",
    "textarea{flex:1;resize:none;font:inherit;color:inherit;padding:8px 10px;border:1px solid #cbd2d9;",
    "border-radius:8px;max-height:120px;min-height:38px}",
    "form button{border:0;border-radius:8px;background:#2457d6;color:#fff;padding:0 14px}",
    ".sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}"
  ].join("");

  // ---------------------------------------------------------------- DOM
  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    for (var k in attrs) node.setAttribute(k, attrs[k]);
    if (text != null) node.textContent = text;
    return node;
  }

  var host = el("frontdesk-chat"); // custom tag: host-page selectors like `div {...}` do not reach it
  // An open root so automated tests (and curious integrators) can reach the elements.
  var root = host.attachShadow({ mode: "open" });
  root.appendChild(el("style", {}, CSS));

  var bubble = el("button", { "class": "bubble", "data-fd": "bubble", "aria-label": "Open chat",
    "aria-expanded": "false", type: "button" });
  var svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  var path = document.createElementNS("http://www.w3.org/2000/svg", "path");
  path.setAttribute("d", "M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2z");
  svg.appendChild(path);
  var badge = el("span", { "class": "badge", "data-fd": "badge", hidden: "" });
  bubble.append(svg, badge);

  var panel = el("div", { "class": "panel", "data-fd": "panel", role: "dialog", "aria-label": TITLE, hidden: "" });
  var header = el("header");
  var closeBtn = el("button", { type: "button", "data-fd": "close", "aria-label": "Close chat" }, "\u00d7");
  header.append(el("span", { "data-fd": "title" }, TITLE), closeBtn);
  var statusLine = el("div", { "class": "status", "data-fd": "status", role: "status", hidden: "" });
  // role=log is an implicit polite live region: screen readers announce new messages as they arrive.
  var list = el("div", { "class": "list", "data-fd": "messages", role: "log", "aria-live": "polite",
    "aria-relevant": "additions" });
  var typing = el("div", { "class": "typing", "data-fd": "typing", "aria-label": "Typing", hidden: "" });
  typing.append(el("span"), el("span"), el("span"));
  var quick = el("div", { "class": "quick", "data-fd": "quick-replies", hidden: "" });
  var errorLine = el("div", { "class": "error", "data-fd": "error", role: "alert", hidden: "" });
  var form = el("form", { "data-fd": "form" });
  var input = el("textarea", { "data-fd": "input", rows: "1", placeholder: "Type your message\u2026",
    "aria-label": "Message" });
  var sendBtn = el("button", { type: "submit", "data-fd": "send" }, "Send");
  form.append(input, sendBtn);
  list.appendChild(typing);
  panel.append(header, statusLine, list, quick, errorLine, form);
  root.append(panel, bubble);

  // ---------------------------------------------------------------- state
  var token = null, sessionPromise = null, sessionFailures = 0, lastReset = 0;
  var lastId = 0;              // highest message id rendered (quick replies, unread count)
  // The catch-up cursor: every message up to it has come from the history. Not lastId: a POST's
  // answer or a push can render a newer message first (a message held during an outage is sent
  // on reconnect before the catch-up runs), and fetching after it would skip what came between.
  var fetchedTo = 0;
  // Prototype-less maps: a client_message_id such as "constructor" must not find Object.prototype.
  var rendered = Object.create(null); // message id -> element (de-duplicates socket vs POST vs history)
  var pending = Object.create(null);  // client_message_id -> {cid, text, node, attempt, busy, timer}
  var inFlight = 0, serverTyping = false, typingTimer = null, unread = 0;
  var ws = null, wsUp = false, lastFrameAt = 0, wsFailures = 0, wsTimer = null, pingTimer = null, pollTimer = null;
  var netOk = true, catchingUp = null;

  function store(k, v) {
    try { if (v == null) localStorage.removeItem(KEY + k); else localStorage.setItem(KEY + k, v); }
    catch (e) { /* storage blocked (private mode, sandboxed iframe): the session lasts for this page only */ }
  }
  function load(k) { try { return localStorage.getItem(KEY + k); } catch (e) { return null; } }

  function uuid() {
    if (window.crypto && crypto.randomUUID) {
      try { return crypto.randomUUID(); } catch (e) { /* insecure context (plain http) */ }
    }
    var b = new Uint8Array(16);
    crypto.getRandomValues(b);
    b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  // Capped exponential backoff with "equal jitter", so a server restart is not hit by every
  // open tab in the same instant.
  function backoff(attempt) {
    var d = Math.min(30000, 500 * Math.pow(2, attempt));
    return d / 2 + Math.random() * d / 2;
  }

  // ---------------------------------------------------------------- HTTP
  function NetError() { this.network = true; }

  // Resolves with {status, data}; rejects with NetError when the server could not be reached.
  function api(method, path, body) {
    var headers = { "Content-Type": "application/json" }, used = token;
    if (used) headers.Authorization = "Bearer " + used;
    var ctrl = window.AbortController ? new AbortController() : null;
    var timer = ctrl && setTimeout(function () { ctrl.abort(); }, FETCH_TIMEOUT_MS);
    return fetch(BASE + path, { method: method, headers: headers, credentials: "omit",
      body: body ? JSON.stringify(body) : undefined, signal: ctrl && ctrl.signal })
      .then(function (res) {
        return res.json().catch(function () { return {}; })
          .then(function (data) { return { status: res.status, data: data, token: used }; });
      }, function () { netOk = false; updateStatus(); throw new NetError(); })
      .then(function (r) { netOk = true; updateStatus(); return r; })
      .finally(function () { clearTimeout(timer); });
  }

  function errorText(r) {
    var e = r.data && r.data.error;
    var msg = (e && typeof e.message === "string" && e.message) || "Something went wrong (HTTP " + r.status + ").";
    if (e && e.reference && msg.indexOf(e.reference) < 0) msg += " (reference " + e.reference + ")";
    return msg;
  }

  // ---------------------------------------------------------------- session
  function startSession(resume) {
    return api("POST", "/api/v1/sessions", resume ? { token: resume } : {}).then(function (r) {
      if (r.status === 401 && resume) { store(":token", null); return startSession(null); }
      if (r.status >= 300 || !r.data.token) throw new Error(errorText(r));
      token = r.data.token;
      store(":token", token);
      return token;
    });
  }

  // Single-flight: open(), identify() and the initial resume may all ask at once.
  function ensureSession() {
    if (token) return Promise.resolve(token);
    if (!sessionPromise) {
      sessionPromise = startSession(load(":token")).then(function (t) {
        sessionFailures = 0;
        return catchUp().then(function () { connect(); flushPending(); return t; });
      }, function (e) {
        sessionPromise = null;
        // Unreachable server: try again later; anything else is shown to the visitor.
        if (e && e.network) {
          setTimeout(function () { if (!token) ensureSession().catch(function () {}); }, backoff(++sessionFailures));
        } else {
          showError((e && e.message) || "The chat is unavailable right now.");
        }
        throw e;
      });
    }
    return sessionPromise;
  }

  // The server no longer accepts our token (expired or revoked): begin a fresh conversation.
  // `bad` is the token that was refused; a late answer for an already replaced token changes nothing.
  function resetSession(bad) {
    if (!token || token !== bad) return ensureSession();
    lastReset = Date.now();
    token = null; sessionPromise = null; lastId = 0; fetchedTo = 0; rendered = Object.create(null);
    store(":token", null);
    disconnect();
    while (list.firstChild !== typing) list.removeChild(list.firstChild);
    for (var cid in pending) list.insertBefore(pending[cid].node, typing);
    setQuickReplies(null);
    return ensureSession();
  }

  // ---------------------------------------------------------------- rendering
  function senderName(m) {
    if (m.sender === "customer") return "You";
    return m.sender_name || (m.sender === "agent" ? "Agent" : m.sender === "system" ? "" : "Assistant");
  }

  function bubbleFor(sender, text) {
    var node = el("div", { "class": "msg " + sender, "data-fd": "message", "data-sender": sender });
    node.append(el("div", { "class": "who", "data-fd": "sender" }), el("div", { "class": "text", "data-fd": "text" }, text));
    return node;
  }

  function setNote(node, state, note) {
    node.setAttribute("data-state", state);
    var n = node.querySelector(".note");
    if (!note) { if (n) n.remove(); return; }
    if (!n) node.appendChild(n = el("div", { "class": "note", "data-fd": "note" }));
    n.textContent = note;
  }

  // Pushes are at least once: a reply comes in the POST answer and as a push, and after a crash a
  // reclaimed outbox row pushes it again. The interaction id (m.id) is the key, so every copy after
  // the first changes nothing (no bubble, no unread count, no quick replies).
  function render(m, fromHistory) {
    if (!m || typeof m.id !== "number" || rendered[m.id]) return;
    var node, p = m.client_message_id && pending[m.client_message_id];
    if (p) { // our own optimistic bubble: confirm it in place instead of adding a copy
      node = p.node; clearTimeout(p.timer); delete pending[m.client_message_id];
      node.parentNode && node.remove();
    } else {
      node = bubbleFor(m.sender === "customer" || m.direction === "in" ? "customer" : m.sender || "bot", "");
    }
    node.querySelector(".who").textContent = senderName(m);
    node.querySelector(".text").textContent = m.text == null ? "" : String(m.text);
    setFiles(node, m.attachments);
    node.setAttribute("data-id", String(m.id));
    if (m.created_at) node.title = new Date(m.created_at).toLocaleString();
    setNote(node, "sent", "");
    rendered[m.id] = node;
    // Keep id order even when the POST response and the socket race; unsent bubbles stay last.
    var before = typing;
    for (var c = typing.previousSibling; c; c = c.previousSibling) {
      var cid = c.getAttribute("data-id");
      if (cid && Number(cid) < m.id) break;
      before = c;
    }
    var nearBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 80;
    list.insertBefore(node, before);
    if (m.id > lastId) {
      lastId = m.id;
      if (m.direction === "out") {
        setQuickReplies(m.quick_replies);
        serverTyping = false; updateTyping();
        if (!fromHistory && panel.hidden) { unread++; badge.textContent = String(unread); badge.hidden = false; }
      } else {
        setQuickReplies(null);
      }
    }
    if (nearBottom || m.direction === "in" || fromHistory) list.scrollTop = list.scrollHeight;
  }

  // An agent's files: a button each, fetched with the session token (never in a URL) and saved.
  function setFiles(node, files) {
    if (!Array.isArray(files) || !files.length) return;
    var box = el("div", { "class": "files", "data-fd": "files" });
    files.forEach(function (f) {
      if (!f || typeof f.url !== "string" || f.url.charAt(0) !== "/") return;
      var name = String(f.filename || "file");
      var b = el("button", { type: "button", "class": "file", "data-fd": "file" }, "\uD83D\uDCCE " + name);
      b.addEventListener("click", function () { download(f.url, name); });
      box.appendChild(b);
    });
    if (box.firstChild) node.appendChild(box);
  }

  function download(path, name) {
    fetch(BASE + path, { headers: { Authorization: "Bearer " + token }, credentials: "omit" })
      .then(function (res) { if (!res.ok) throw new Error("HTTP " + res.status); return res.blob(); })
      .then(function (blob) {
        var a = el("a", { href: URL.createObjectURL(blob), download: name });
        root.appendChild(a); a.click(); a.remove();
        setTimeout(function () { URL.revokeObjectURL(a.href); }, 60000);
      })
      .catch(function () { showError("The file could not be downloaded; try again."); });
  }

  function setQuickReplies(items) {
    quick.textContent = "";
    (Array.isArray(items) ? items : []).forEach(function (q) {
      if (!q || typeof q.payload !== "string") return;
      var b = el("button", { type: "button", "data-fd": "quick-reply" }, q.label || q.payload);
      b.addEventListener("click", function () { send(q.payload); });
      quick.appendChild(b);
    });
    quick.hidden = !quick.firstChild;
  }

  function updateTyping() {
    typing.hidden = !(inFlight > 0 || serverTyping);
    if (!typing.hidden) list.scrollTop = list.scrollHeight;
  }

  function updateStatus() {
    // Say "Reconnecting" while the server is unreachable, or while the socket is down and we
    // still expect it back; after repeated socket failures with REST working we are simply polling.
    var down = token && (!netOk || (!wsUp && wsFailures > 0 && wsFailures < 4));
    statusLine.textContent = down ? "Reconnecting\u2026" : "";
    statusLine.hidden = !down;
  }

  function showError(text) { errorLine.textContent = text || ""; errorLine.hidden = !text; }

  // ---------------------------------------------------------------- history
  // Fetches everything after fetchedTo, page by page; concurrent callers share one request chain.
  // What was rendered already (pushed, or a POST's answer) is fetched again and skipped by id.
  function catchUp() {
    if (!token) return Promise.resolve();
    if (catchingUp) return catchingUp;
    var first = fetchedTo === 0;
    var step = function () {
      return api("GET", "/api/v1/messages?after=" + fetchedTo + "&limit=" + PAGE).then(function (r) {
        if (r.status === 401) { resetSession(r.token).catch(function () {}); return; } // not returned: waits on us
        if (r.status !== 200 || !Array.isArray(r.data.messages)) return;
        r.data.messages.forEach(function (m) {
          render(m, first);
          if (typeof m.id === "number" && m.id > fetchedTo) fetchedTo = m.id;
        });
        if (r.data.messages.length === PAGE) return step();
      });
    };
    catchingUp = step().catch(function () { /* offline: the next poll or reconnect retries */ })
      .finally(function () { catchingUp = null; });
    return catchingUp;
  }

  // ---------------------------------------------------------------- sending
  function send(text) {
    text = String(text).replace(/^\s+|\s+$/g, "");
    if (!text) return;
    showError("");
    var p = { cid: uuid(), text: text, node: bubbleFor("customer", text), attempt: 0, busy: false, timer: null };
    p.node.querySelector(".who").textContent = "You";
    setNote(p.node, "sending", "Sending\u2026");
    pending[p.cid] = p;
    list.insertBefore(p.node, typing);
    list.scrollTop = list.scrollHeight;
    setQuickReplies(null);
    ensureSession().then(function () { post(p); }, function () { /* flushPending runs once a session exists */ });
  }

  function post(p) {
    if (p.busy || !pending[p.cid] || !token) return;
    p.busy = true; inFlight++; updateTyping();
    api("POST", "/api/v1/messages", { client_message_id: p.cid, text: p.text }).then(function (r) {
      if (r.status === 200 && r.data.message) {
        render(r.data.message);
        (r.data.replies || []).forEach(function (m) { render(m); });
      } else if (r.status === 401) {
        resetSession(r.token).catch(function () {});
      } else if (r.status >= 400 && r.status < 500) {
        // The server refused this message (too long, ...): its message says what to fix.
        delete pending[p.cid];
        setNote(p.node, "failed", "Not sent");
        showError(errorText(r));
      } else {
        retryLater(p, errorText(r));
      }
    }, function () {
      // Unknown whether it arrived: resend the SAME client_message_id and the server de-duplicates.
      retryLater(p, null);
    }).finally(function () {
      p.busy = false; inFlight--; updateTyping();
    });
  }

  function retryLater(p, serverError) {
    if (!pending[p.cid]) return;
    setNote(p.node, "sending", serverError ? "Not sent yet, retrying\u2026" : "Sending\u2026");
    clearTimeout(p.timer);
    p.timer = setTimeout(function () { post(p); }, backoff(p.attempt++));
  }

  function flushPending() {
    for (var cid in pending) { pending[cid].attempt = 0; clearTimeout(pending[cid].timer); post(pending[cid]); }
  }

  // ---------------------------------------------------------------- live updates
  function connect() {
    clearTimeout(wsTimer);
    if (ws || !token) return;
    if (!window.WebSocket) { startPolling(); return; }
    var sock;
    try { sock = new WebSocket(BASE.replace(/^http/, "ws") + "/api/v1/ws"); }
    catch (e) { wsFailures = 99; startPolling(); return; }
    ws = sock;
    var authToken = token;
    // The server answers the auth frame within seconds; a socket stuck before "ready" (a proxy
    // that swallows frames) would otherwise leave us with neither live updates nor polling.
    var readyTimer = setTimeout(function () { if (!wsUp && ws === sock) dropSocket(); }, 15000);
    sock.onopen = function () { sock.send(JSON.stringify({ type: "auth", token: authToken })); };
    sock.onmessage = function (ev) {
      var f;
      lastFrameAt = Date.now();
      try { f = JSON.parse(ev.data); } catch (e) { return; }
      if (f.type === "ready") {
        clearTimeout(readyTimer);
        wsUp = true; wsFailures = 0; stopPolling(); updateStatus();
        catchUp(); flushPending(); // anything posted while we were away
        clearInterval(pingTimer);
        // Pings keep idle proxies from cutting us off, and a missing pong reveals a connection
        // that died silently (Wi-Fi switch, sleeping laptop) long before TCP would notice.
        pingTimer = setInterval(function () {
          if (Date.now() - lastFrameAt > 2 * PING_MS + 5000) dropSocket();
          else if (sock.readyState === 1) sock.send(JSON.stringify({ type: "ping" }));
        }, PING_MS);
      } else if (f.type === "message") {
        render(f.message);
      } else if (f.type === "resync") {
        catchUp(); // an event too large to push: fetch it from the history
      } else if (f.type === "typing") {
        serverTyping = !!f.active; updateTyping();
        // Never leave the dots spinning if the "active: false" frame is lost.
        clearTimeout(typingTimer);
        if (serverTyping) typingTimer = setTimeout(function () { serverTyping = false; updateTyping(); }, 20000);
      }
    };
    sock.onclose = function (ev) {
      clearTimeout(readyTimer);
      if (ws !== sock) return; // a socket we already replaced
      // 4401: the token is no longer valid. (Rate-limited: a server whose socket refuses the tokens its
      // REST API just issued must not make us create a session per second; we poll instead.)
      if (ev.code === 4401 && authToken === token && Date.now() - lastReset > 60000) {
        disconnect(); resetSession(authToken).catch(function () {}); return;
      }
      socketLost();
    };
  }

  function socketLost() {
    ws = null; wsUp = false; clearInterval(pingTimer);
    wsFailures++; updateStatus();
    startPolling(); // REST keeps replies flowing until the socket is back
    clearTimeout(wsTimer);
    wsTimer = setTimeout(connect, backoff(Math.min(wsFailures, 6)));
  }

  // Closing a half-dead socket can take a long time to report; forget it right away instead.
  function dropSocket() {
    if (!ws) return;
    ws.onclose = null; ws.close();
    socketLost();
  }

  function disconnect() {
    clearTimeout(wsTimer); clearInterval(pingTimer);
    var sock = ws;
    ws = null; wsUp = false;
    if (sock) { sock.onclose = null; sock.close(); }
  }

  function startPolling() {
    if (!pollTimer) pollTimer = setInterval(function () { if (!document.hidden) catchUp(); }, POLL_MS);
  }
  function stopPolling() { clearInterval(pollTimer); pollTimer = null; }

  // The OS knows about network changes long before a half-dead TCP connection times out.
  window.addEventListener("offline", function () {
    netOk = false;
    dropSocket();
    updateStatus();
  });
  document.addEventListener("visibilitychange", function () { if (!document.hidden && pollTimer) catchUp(); });
  window.addEventListener("online", function () {
    if (!token) { ensureSession().catch(function () {}); return; }
    wsFailures = Math.max(wsFailures, 1);
    connect(); catchUp(); flushPending();
  });

  // ---------------------------------------------------------------- panel
  function open(restoring) {
    panel.hidden = false;
    bubble.setAttribute("aria-expanded", "true");
    bubble.setAttribute("aria-label", "Close chat");
    unread = 0; badge.hidden = true;
    try { sessionStorage.setItem(KEY + ":open", "1"); } catch (e) { /* ignore */ }
    // Starting a session creates a customer record, so wait until the visitor shows interest.
    ensureSession().catch(function () {});
    list.scrollTop = list.scrollHeight;
    if (restoring !== true) input.focus(); // re-opened after a navigation: do not steal the page's focus
  }
  function close() {
    panel.hidden = true;
    bubble.setAttribute("aria-expanded", "false");
    bubble.setAttribute("aria-label", "Open chat");
    try { sessionStorage.removeItem(KEY + ":open"); } catch (e) { /* ignore */ }
  }

  bubble.addEventListener("click", function () { if (panel.hidden) open(); else close(); });
  closeBtn.addEventListener("click", function () { close(); bubble.focus(); });
  panel.addEventListener("keydown", function (e) { if (e.key === "Escape") { close(); bubble.focus(); } });
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var text = input.value;
    input.value = ""; input.style.height = "";
    send(text);
    input.focus();
  });
  input.addEventListener("keydown", function (e) {
    // isComposing: Enter also confirms an IME candidate (Japanese, Chinese...); that is not a send.
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      if (form.requestSubmit) form.requestSubmit(); else sendBtn.click();
    }
  });
  input.addEventListener("input", function () {
    input.style.height = "";
    input.style.height = Math.min(input.scrollHeight + 2, 120) + "px";
  });

  window.Frontdesk = Object.freeze({
    open: function () { open(); },
    close: close,
    // Attach a name and e-mail to the visitor; the server answers with a new token to keep.
    identify: function (who) {
      who = who || {};
      var body = {};
      if (typeof who.name === "string") body.name = who.name;
      if (typeof who.email === "string") body.email = who.email;
      return ensureSession().then(function () { return api("POST", "/api/v1/identify", body); }).then(function (r) {
        if (r.status !== 200) throw new Error(errorText(r));
        if (r.data.token) { token = r.data.token; store(":token", token); }
        return r.data.customer;
      });
    }
  });

  function mount() {
    (document.body || document.documentElement).appendChild(host);
    // A returning visitor sees their conversation (and unread replies) without creating anything new.
    if (load(":token")) ensureSession().catch(function () {});
    var wasOpen = false;
    try { wasOpen = sessionStorage.getItem(KEY + ":open") === "1"; } catch (e) { /* ignore */ }
    if (wasOpen) open(true);
  }
  if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);
})();
