// Payload decoders for the message view, loaded by analysis.js the first time a message
// looks like one of them or its connection negotiated a subprotocol that names one: JSON (pretty-printed, collapsible), Socket.IO/Engine.IO packets
// (`42["event",…]`) and STOMP frames (`SEND\nheader:value\n\nbody\0`). A classic script.
"use strict";

(function (page) {
  const { el } = page.render;

  /** Engine.IO packet types (the first character). */
  const ENGINE = { 0: "open", 1: "close", 2: "ping", 3: "pong", 4: "message", 5: "upgrade", 6: "noop" };
  /** Socket.IO packet types (the second character of an Engine.IO message). */
  const SOCKET = { 0: "CONNECT", 1: "DISCONNECT", 2: "EVENT", 3: "ACK", 4: "CONNECT_ERROR", 5: "BINARY_EVENT", 6: "BINARY_ACK" };
  const STOMP = /^(CONNECT|STOMP|CONNECTED|SEND|SUBSCRIBE|UNSUBSCRIBE|ACK|NACK|BEGIN|COMMIT|ABORT|DISCONNECT|MESSAGE|RECEIPT|ERROR)\r?\n/;

  function parseJson(text) {
    try {
      return { ok: true, value: JSON.parse(text) };
    } catch {
      return { ok: false };
    }
  }

  function jsonBlock(label, value) {
    return el("details", { class: "json" }, el("summary", {}, label), el("pre", {}, JSON.stringify(value, null, 2)));
  }

  /** A Socket.IO/Engine.IO reading of `text`, or null. */
  function socketIo(text) {
    const m = /^([0-6])(?:([0-6])(\d+-)?(\/[^,]*,)?(\d+)?)?(.*)$/s.exec(text);
    if (!m || (m[1] === "4" && !m[2])) return null;
    const rest = m[6];
    // Bare digits are far likelier numbers than packets: past two characters, a JSON payload is required.
    if (text.length > 2 && !/^[[{]/.test(rest)) return null;
    const json = rest ? parseJson(rest) : { ok: true, value: undefined };
    if (!json.ok) return null;
    const kind = m[1] === "4" && m[2] ? `Socket.IO ${SOCKET[m[2]]}${m[4] ? ` ${m[4].slice(0, -1)}` : ""}${m[5] ? ` ack ${m[5]}` : ""}` : `Engine.IO ${ENGINE[m[1]]}`;
    return json.value === undefined ? el("span", { class: "decoded" }, kind) : jsonBlock(kind, json.value);
  }

  /** A STOMP reading of `text`, or null. */
  function stomp(text) {
    const m = STOMP.exec(text);
    if (!m) return null;
    const [head, ...body] = text.replace(/\0$/, "").split(/\r?\n\r?\n/);
    const headers = head.split(/\r?\n/).slice(1);
    return el("details", { class: "stomp" }, el("summary", {}, `STOMP ${m[1]}`), el("pre", {}, [...headers, "", body.join("\n\n")].join("\n")));
  }

  /** A JSON reading of `t` (trimmed), or null. */
  function json(t) {
    const parsed = parseJson(t);
    if (!parsed.ok) return null;
    const v = parsed.value;
    const what = Array.isArray(v) ? `array of ${v.length}` : v !== null && typeof v === "object" ? `object, ${Object.keys(v).length} keys` : typeof v;
    return jsonBlock(`JSON ${what}`, v);
  }

  /** The decoder the negotiated subprotocol names (`v12.stomp`, `stomp`, `json`, `graphql-transport-ws`…), or null. */
  function byProtocol(protocol) {
    if (/stomp/i.test(protocol)) return stomp;
    if (/json|graphql|wamp/i.test(protocol)) return (text) => json(text.trim());
    return null;
  }

  /** The message text as a node: read by the decoder the subprotocol `protocol` names
   *  when there is one (its label says so), else by the first decoder that recognises
   *  it, else the text. */
  function render(text, protocol) {
    if (!text) return text;
    const chosen = protocol ? byProtocol(protocol)?.(text) : null;
    if (chosen) {
      chosen.querySelector("summary")?.append(` (subprotocol ${protocol})`);
      return chosen;
    }
    const t = text.trim();
    return ((t.startsWith("{") || t.startsWith("[")) && json(t)) || stomp(text) || socketIo(t) || text;
  }

  page.decoders = { render };
})((self.framewirePage ??= {}));
