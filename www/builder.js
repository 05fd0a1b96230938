// The frame builder: fields in, bytes out (through the wasm module's encodeFrame),
// shown with the same breakdown as decoded frames, broken rules included. Loaded by app.js
// when the builder is first used, not at the page's start.
"use strict";

(function (page) {
  const { el, hex, frameBreakdown } = page.render;
  const $ = (id) => document.getElementById(id);

  /** Names the opcode list's 4-bit values (index.html lists them) by the core itself. */
  function nameOpcodes(fw) {
    for (const option of $("b-opcode").options) {
      const op = Number(option.value);
      const probe = fw.decodeFrames(fw.encodeFrame({ opcode: op }), "any");
      option.textContent = `0x${op.toString(16)} ${probe.frames[0].opcodeName}`;
    }
  }

  function spec(fw) {
    const payloadText = $("b-payload").value;
    const payload = $("b-payload-kind").value === "hex" ? fw.parseHex(payloadText) : payloadText;
    const key = $("b-key").value.trim();
    const lengthBits = $("b-length").value;
    return {
      fin: $("b-fin").checked,
      rsv1: $("b-rsv1").checked,
      rsv2: $("b-rsv2").checked,
      rsv3: $("b-rsv3").checked,
      opcode: Number($("b-opcode").value),
      mask: $("b-mask").checked,
      maskKey: key ? fw.parseHex(key) : undefined,
      lengthBits: lengthBits ? Number(lengthBits) : undefined,
      payload,
    };
  }

  /** The last frame built, as hex. */
  let built = null;

  /** Wires up the builder; `decoder()` resolves to the wasm API (loaded at start) or null;
   *  `toDecode(hexText, role)` hands built bytes to the decode pane. */
  function initBuilder(decoder, toDecode) {
    page.loader.onDecoder(nameOpcodes);
    const out = $("builder-output");
    $("builder-form").addEventListener("submit", async (e) => {
      e.preventDefault();
      const fw = await decoder();
      out.replaceChildren();
      built = null;
      $("build-to-decode").disabled = true;
      if (!fw) {
        out.append(el("p", { class: "bad" }, "The decoder did not load, so frames cannot be built."));
        return;
      }
      try {
        const bytes = fw.encodeFrame(spec(fw));
        built = hex(bytes);
        const role = $("b-mask").checked ? "client" : "server";
        const report = fw.decodeFrames(bytes, role);
        out.append(
          el("p", {}, `${bytes.length} bytes, as sent by the ${role}:`),
          el("pre", { class: "mono built", "data-k": "built" }, built.length > 12000 ? `${built.slice(0, 12000)} …` : built),
          frameBreakdown(report.frames[0], "The built frame"),
        );
        $("build-to-decode").disabled = false;
      } catch (err) {
        out.append(el("p", { class: "bad", role: "alert" }, String(err.message ?? err)));
      }
    });
    $("build-to-decode").addEventListener("click", () => {
      if (built) toDecode(built, $("b-mask").checked ? "client" : "server");
    });
  }

  /** The hex of the last frame built, or null. */
  const lastBuilt = () => built;

  page.builder = { initBuilder, lastBuilt };
})((self.framewirePage ??= {}));
