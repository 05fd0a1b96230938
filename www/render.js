// Rendering of decoded frames: field explanations, the coloured hex dump and the
// breakdown shared by the frame table's detail pane, the decode pane and the builder.
// The frames come from the wasm module (FrameReport objects); nothing here decodes.
"use strict";

(function (page) {
  /** Most frame bytes shown in a hex dump. */
  const MAX_DUMP_BYTES = 4096;

  /** `el("p", {class: "x"}, "text", child)`: a small DOM builder. */
  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "class") node.className = v;
      else if (k === "text") node.textContent = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? "" : String(v));
    }
    for (const c of children) {
      if (c === null || c === undefined || c === false) continue;
      node.append(c instanceof Node ? c : String(c));
    }
    return node;
  }

  /** Bytes as lowercase hex pairs joined by `sep`. */
  function hex(bytes, sep = " ") {
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(sep);
  }

  const b = (flag) => (flag ? "1" : "0");

  /** "0x1 text" */
  function opcodeLabel(f) {
    return `0x${f.opcode.toString(16)} ${f.opcodeName}`;
  }

  /** "1 · 37fa213d" or "0" */
  function maskLabel(f) {
    return f.masked ? `1 · ${hex(f.maskKey, "")}` : "0";
  }

  /** "5 (7-bit)" */
  function lengthLabel(f) {
    return `${f.payloadLength} (${f.lengthEncoding}-bit)`;
  }

  /** The fields of a frame, their byte ranges relative to the frame and what they mean. */
  function fieldsOf(f) {
    const rel = (r) => [r[0] - f.offset, r[1] - f.offset];
    const b0 = f.bytes[0];
    const b1 = f.bytes[1];
    const len7 = b1 & 0x7f;
    const fields = [
      {
        id: "flags",
        name: "FIN, RSV1-3, opcode",
        range: rel(f.ranges.flagsAndOpcode),
        explain:
          `Byte 0x${hex([b0])} = ${b0.toString(2).padStart(8, "0")}. ` +
          `FIN ${b(f.fin)}: ${f.fin ? "final fragment of its message" : "more fragments follow"}. ` +
          `RSV1-3 ${b(f.rsv1)}${b(f.rsv2)}${b(f.rsv3)}: ` +
          (f.compressed && f.rsv1
            ? "RSV1 marks a permessage-deflate compressed message. "
            : "reserved for extensions, 0 unless one is negotiated. ") +
          `Opcode 0x${f.opcode.toString(16)}: ${f.opcodeName}.`,
      },
      {
        id: "len",
        name: "mask bit, 7-bit length",
        range: rel(f.ranges.maskBitAndLength),
        explain:
          `Byte 0x${hex([b1])} = ${b1.toString(2).padStart(8, "0")}. ` +
          `Mask bit ${b(f.masked)}: ${f.masked ? "a 4-byte masking key follows the length" : "payload not masked"}. ` +
          `Length ${len7}: ` +
          (len7 === 126
            ? "the real length follows in 16 bits."
            : len7 === 127
              ? "the real length follows in 64 bits."
              : `the payload is ${len7} bytes.`),
      },
    ];
    if (f.ranges.extendedLength) {
      fields.push({
        id: "ext",
        name: `${f.lengthEncoding}-bit length`,
        range: rel(f.ranges.extendedLength),
        explain: `Extended payload length, big-endian: ${f.payloadLength} bytes.`,
      });
    }
    if (f.ranges.maskKey) {
      fields.push({
        id: "key",
        name: "masking key",
        range: rel(f.ranges.maskKey),
        explain:
          `${hex(f.maskKey)}. Payload byte i is XORed with key byte i mod 4. ` +
          "Clients mask every frame with a fresh random key.",
      });
    }
    fields.push({
      id: "payload",
      name: "payload",
      range: rel(f.ranges.payload),
      explain:
        `Payload, ${f.payloadLength} bytes` +
        (f.masked ? ", masked on the wire (unmasked below)." : ", not masked.") +
        (f.truncated ? " Only its start was kept." : ""),
    });
    return fields;
  }

  const tip = () => document.getElementById("field-tip");

  function showTip(target, text) {
    const t = tip();
    if (!t) return;
    t.textContent = text;
    t.hidden = false;
    const r = target.getBoundingClientRect();
    const left = Math.min(window.scrollX + r.left, window.scrollX + document.documentElement.clientWidth - 340);
    t.style.left = `${Math.max(window.scrollX + 4, left)}px`;
    t.style.top = `${window.scrollY + r.bottom + 6}px`;
  }

  function hideTip() {
    const t = tip();
    if (t) t.hidden = true;
  }

  window.addEventListener("resize", hideTip);

  /** A hex dump of the frame, each field in its own colour, with explanations on hover and focus. */
  function hexDump(f) {
    const fields = fieldsOf(f);
    const shown = Math.min(f.bytes.length, MAX_DUMP_BYTES);
    const bad = new Set(f.violations.map((v) => v.offset - f.offset));
    const fieldAt = (i) => fields.find((x) => i >= x.range[0] && i < x.range[1]);
    const dump = el("div", { class: "hexdump", role: "group", "aria-label": "Frame bytes, by field" });
    const explain = el("p", { class: "field-explain", "aria-live": "polite" }, "Hover or focus a field to see what it means.");
    const spans = [];
    const fieldBytes = (field) => {
      const end = Math.min(field.range[1], shown, field.range[0] + 16);
      const more = field.range[1] > end ? " …" : "";
      return hex(f.bytes.subarray(field.range[0], end)) + more;
    };
    const highlight = (field, on) => {
      for (const s of spans) {
        if (s.dataset.field === field.id) s.classList.toggle("hl", on);
      }
    };
    for (let row = 0; row < shown; row += 16) {
      const line = el("div", { class: "hex-row" });
      line.append(el("span", { class: "hex-off", "aria-hidden": "true" }, (f.offset + row).toString(16).padStart(6, "0")));
      for (let i = row; i < Math.min(row + 16, shown); i++) {
        const field = fieldAt(i);
        const first = field && field.range[0] === i;
        const span = el(
          "span",
          {
            class: `byte f-${field ? field.id : "none"}${bad.has(i) ? " bad" : ""}`,
            "data-field": field ? field.id : "",
            tabindex: first ? "0" : null,
            "aria-label": first ? `${field.name}, bytes ${fieldBytes(field)}: ${field.explain}` : null,
          },
          hex([f.bytes[i]]),
        );
        if (!first) span.setAttribute("aria-hidden", "true");
        if (field) {
          const enter = () => {
            highlight(field, true);
            explain.textContent = `${field.name}: ${field.explain}`;
            showTip(span, `${field.name}: ${field.explain}`);
          };
          const leave = () => {
            highlight(field, false);
            hideTip();
          };
          span.addEventListener("mouseenter", enter);
          span.addEventListener("focus", enter);
          span.addEventListener("mouseleave", leave);
          span.addEventListener("blur", leave);
        }
        spans.push(span);
        line.append(span);
      }
      dump.append(line);
    }
    const notes = [];
    if (f.bytes.length > shown) notes.push(`${f.bytes.length - shown} more bytes not shown.`);
    if (f.truncated) notes.push(`The frame is ${f.length} bytes; only its first ${f.bytes.length} were kept.`);
    const legend = el(
      "ul",
      { class: "legend", "aria-label": "Field colours" },
      ...fields.map((x) => el("li", { class: `f-${x.id}` }, el("span", { class: "swatch", "aria-hidden": "true" }), x.name)),
    );
    return el("div", { class: "dump-wrap" }, legend, dump, notes.length ? el("p", { class: "help" }, notes.join(" ")) : null, explain);
  }

  function payloadBlock(label, bytes) {
    const shown = bytes.subarray(0, MAX_DUMP_BYTES);
    const more = bytes.length > shown.length ? ` … (${bytes.length - shown.length} more)` : "";
    return [el("dt", {}, label), el("dd", { class: "mono" }, bytes.length ? hex(shown) + more : "(empty)")];
  }

  /** The full breakdown of one frame: fields, rules broken, hex dump, payload. */
  function frameBreakdown(f, heading) {
    const dl = el(
      "dl",
      { class: "fields" },
      el("dt", {}, "Offset"),
      el("dd", {}, `${f.offset} (frame of ${f.length} bytes, header ${f.headerLength})`),
      el("dt", {}, "FIN"),
      el("dd", { "data-k": "fin" }, b(f.fin)),
      el("dt", {}, "RSV1-3"),
      el("dd", { "data-k": "rsv" }, `${b(f.rsv1)}${b(f.rsv2)}${b(f.rsv3)}`),
      el("dt", {}, "Opcode"),
      el("dd", { "data-k": "opcode" }, opcodeLabel(f)),
      el("dt", {}, "Mask"),
      el("dd", { "data-k": "mask" }, f.masked ? `1, key ${hex(f.maskKey)}` : "0 (not masked)"),
      el("dt", {}, "Payload length"),
      el("dd", { "data-k": "length" }, lengthLabel(f)),
    );
    if (f.masked) dl.append(...payloadBlock("Payload on the wire (masked)", f.maskedPayload));
    dl.append(...payloadBlock(f.masked ? "Payload unmasked" : "Payload", f.payload));
    if (f.compressed) {
      dl.append(el("dt", {}, "Compressed"), el("dd", { "data-k": "compressed" }, "yes: permessage-deflate (RFC 7692)"));
      if (f.inflated) dl.append(...payloadBlock("Inflated", f.inflated));
    }
    if (f.text !== null) dl.append(el("dt", {}, "Text"), el("dd", { "data-k": "text", class: "text" }, f.text));
    if (f.close) {
      const code = f.close.code === null ? "none" : `${f.close.code} (${f.close.meaning})`;
      dl.append(el("dt", {}, "Close code"), el("dd", { "data-k": "close-code" }, code));
      dl.append(el("dt", {}, "Close reason"), el("dd", { "data-k": "close-reason" }, f.close.reason || "(none)"));
    }
    const rules = f.violations.length
      ? el(
          "ul",
          { class: "violations", "aria-label": "Rules this frame breaks" },
          ...f.violations.map((v) =>
            el("li", { "data-rule": v.rule }, el("strong", {}, `byte ${v.offset}: `), v.message, el("span", { class: "help" }, ` (a receiver closes with ${v.closeCode})`)),
          ),
        )
      : el("p", { class: "ok" }, "Breaks no rule of RFC 6455.");
    return el(
      "article",
      { class: "frame", "aria-label": heading },
      el("h3", {}, heading),
      rules,
      dl,
      hexDump(f),
    );
  }

  /** A wall-clock time (ms since the epoch) as hh:mm:ss.mmm. */
  function clock(ms) {
    const d = new Date(ms);
    const p = (n, w = 2) => String(n).padStart(w, "0");
    return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
  }

  page.render = { el, hex, clock, MAX_DUMP_BYTES, opcodeLabel, maskLabel, lengthLabel, fieldsOf, hexDump, frameBreakdown };
})((self.framewirePage ??= {}));
