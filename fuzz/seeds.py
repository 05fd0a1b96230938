#!/usr/bin/env python3
"""Writes the seed corpora in fuzz/corpus/<target>/ (run from anywhere; idempotent).

Each target's input format is in its doc comment (fuzz/fuzz_targets/*.rs). The seeds:
RFC 6455 section 5.7's examples, a valid handshake request and response, cases like
Autobahn's (fragmented text with invalid UTF-8, a ping inside a fragmented message,
close frames with invalid codes, 64-bit lengths, reserved opcodes) and compressed
messages (RFC 7692 section 7.2.3.1's "Hello", empty messages, a small bomb).
"""

import base64
import os
import struct
import zlib

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
KEY = bytes([0x37, 0xFA, 0x21, 0x3D])


def frame(b0, payload, mask=None, length=None):
    """One frame; `length` forces a length encoding: 7, 16 or 64 bits."""
    n = len(payload)
    bits = length or (7 if n <= 125 else 16 if n <= 0xFFFF else 64)
    m = 0x80 if mask else 0
    if bits == 7:
        head = bytes([b0, m | n])
    elif bits == 16:
        head = bytes([b0, m | 126]) + struct.pack(">H", n)
    else:
        head = bytes([b0, m | 127]) + struct.pack(">Q", n)
    if mask:
        head += mask
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return head + payload


def deflate(data):
    """RFC 7692 compression of one message (no context takeover)."""
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    out = c.compress(data) + c.flush(zlib.Z_SYNC_FLUSH)
    return out[:-4] if out.endswith(b"\x00\x00\xff\xff") else out


def close(code, reason=b""):
    return struct.pack(">H", code) + reason


def lp(b):
    """A length-prefixed byte string (one length byte)."""
    assert len(b) <= 255
    return bytes([len(b)]) + b


# RFC 6455 section 5.7.
HELLO = frame(0x81, b"Hello")
HELLO_MASKED = frame(0x81, b"Hello", KEY)
assert HELLO_MASKED == bytes.fromhex("818537fa213d7f9f4d5158")
FRAGMENTED = frame(0x01, b"Hel") + frame(0x80, b"lo")
PING = frame(0x89, b"Hello")
PONG_MASKED = frame(0x8A, b"Hello", KEY)
BIN_256_HEAD = bytes.fromhex("827e0100")
BIN_64K_HEAD = bytes.fromhex("827f0000000000010000")
# RFC 7692 section 7.2.3.1: "Hello" compressed.
HELLO_DEFLATED = bytes.fromhex("f248cdc9c90700")
assert HELLO_DEFLATED == deflate(b"Hello")

INVALID_UTF8 = "κόσμε".encode() + b"\xed\xa0\x80" + b"edited"


def fragments(text, cuts, mask=None, ping=False):
    out, start = b"", 0
    points = sorted(set(cuts + [len(text)]))
    for i, end in enumerate(points):
        last = end == len(text)
        out += frame((0x80 if last else 0) | (0x1 if i == 0 else 0x0), text[start:end], mask)
        if ping and not last:
            out += frame(0x89, b"ping", mask)
        start = end
    return out


REQUEST = (
    b"GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n"
    b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    b"Origin: http://example.com\r\nSec-WebSocket-Protocol: chat, superchat\r\n"
    b"Sec-WebSocket-Version: 13\r\n"
    b"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n"
)
RESPONSE = (
    b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: chat\r\n"
)
DEFLATE_ANSWER = b"Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover\r\n"


def seeds():
    s = {}

    # frame_decode: a context byte, then frames.
    fd = s.setdefault("frame_decode", {})
    fd["rfc-hello"] = b"\x01" + HELLO
    fd["rfc-hello-masked"] = b"\x02" + HELLO_MASKED
    fd["rfc-fragmented"] = b"\x00" + FRAGMENTED + PING + PONG_MASKED
    fd["rfc-256-header"] = b"\x00" + BIN_256_HEAD + b"x" * 8
    fd["rfc-64k-header"] = b"\x00" + BIN_64K_HEAD
    fd["len64-high-bit"] = b"\x01" + bytes.fromhex("827f8000000000000001")
    fd["len16-not-minimal"] = b"\x01" + frame(0x82, b"abc", length=16)
    fd["len64-not-minimal"] = b"\x01" + frame(0x82, b"abc", length=64)
    fd["reserved-opcodes"] = b"\x40" + frame(0x83, b"") + frame(0x8B, b"") + frame(0xF1, b"")
    fd["control-fragmented-long"] = b"\x60" + frame(0x09, b"p") + frame(0x89, b"x" * 126)

    # connection: 8 setup bytes (flags, frame/message/fragment limits, ping, idle,
    # close timeouts, window bits), then ops.
    def setup(flags=0, frame_l=0, msg=0, frags=0, ping=0, idle=0, close_t=50, bits=7):
        return bytes([flags, frame_l, msg, frags, ping, idle, close_t, bits])

    feed = lambda b: b"\x00" + lp(b)
    peer_frame = lambda b0, payload, wrong=0: bytes([1, b0, wrong]) + lp(payload)
    poll, echo = b"\x04", b"\x05"
    write_all = b"\x0c\xff\xff"
    tick = lambda ms: bytes([13, ms])
    cn = s.setdefault("connection", {})
    cn["server-rfc-hello"] = setup() + feed(HELLO_MASKED) + poll + write_all
    cn["client-rfc-examples"] = setup(1) + feed(HELLO + FRAGMENTED + PING) + poll + write_all
    cn["fragmented-invalid-utf8"] = (
        setup() + b"\x02\x00" + lp(bytes([4, 9])) + lp(INVALID_UTF8) + poll + write_all
    )
    cn["ping-inside-fragmented"] = (
        setup() + b"\x02\x01" + lp(bytes([2, 6])) + lp("κόσμε".encode()) + echo + poll + write_all
    )
    cn["close-invalid-codes"] = setup() + b"".join(
        peer_frame(0x88, close(c)) for c in (999, 1004, 1005, 1006, 1016, 2999, 5000)
    ) + poll + write_all
    cn["close-invalid-reason"] = setup() + peer_frame(0x88, close(1000, b"\xff\xfe")) + poll
    cn["echo-and-sends"] = (
        setup(0x80)
        + feed(HELLO_MASKED)
        + echo
        + b"\x06" + lp("€ text".encode())
        + b"\x07" + lp(b"\x00\x01\x02")
        + b"\x08\x01" + lp(b"frag")
        + b"\x09" + lp(b"ping")
        + b"\x08\x03" + lp(b"ment")
        + b"\x0c\x00\x03"
        + b"\x0b\x03\xe8" + lp(b"bye")
        + write_all
        + peer_frame(0x88, close(1000))
        + poll
        + write_all
    )
    cn["keepalive-and-idle"] = setup(0x0C, ping=20, idle=60) + tick(25) + write_all + tick(50) + poll + write_all
    cn["close-timeout"] = setup(close_t=10) + b"\x0b\x03\xe8" + lp(b"") + tick(5) + tick(20) + write_all
    cn["deflate-both-ways"] = (
        setup(0x10)
        + b"\x03\x01" + lp(b"Hello Hello Hello")
        + b"\x03\x03" + lp(b"compressed and split")
        + peer_frame(0xC1, HELLO_DEFLATED)
        + poll
        + b"\x06" + lp(b"x" * 100)
        + b"\x08\x00" + lp(b"")
        + b"\x08\x02" + lp(b"")
        + write_all
    )
    cn["small-limits"] = setup(0x02, 10, 20, 2) + feed(fragments(b"a" * 30, [5, 10, 15], KEY)) + poll

    # handshake_server: flags, extra, chunk size, deflate config, host lines, request.
    hs = s.setdefault("handshake_server", {})
    hs["accept"] = bytes([0x00, 0, 0, 0x3F]) + lp(b"") + REQUEST + HELLO_MASKED
    hs["accept-deflate-chunked"] = bytes([0x86, 0, 7, 0x3F]) + lp(b"") + REQUEST
    hs["accept-protocol-header"] = bytes([0x26, 0, 0, 0]) + lp(b"superchat\nSet-Cookie: a=1") + REQUEST
    # Asymmetric deflate settings (client window 10 bits, client no context takeover): the
    # fuzz target once compared the client's view of the agreement with the server's.
    hs["accept-deflate-asymmetric"] = bytes([0x26, 0, 0, 0x7A]) + lp(b"superchat\nSet-Cookie: a=1") + REQUEST
    hs["accept-bad-origin"] = bytes([0x08, 0, 0, 0]) + lp(b"") + REQUEST.replace(b"example.com\r\nUp", b"evil.com\r\nUp")
    hs["decline-403"] = bytes([0x10, 0, 0, 0]) + lp(b"403\nX-Why: no\nforbidden") + REQUEST
    hs["not-an-upgrade"] = bytes([0x00, 0, 0, 0]) + lp(b"") + b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"
    hs["too-large"] = bytes([0x01, 0, 16, 0]) + lp(b"") + REQUEST
    hs["incomplete"] = bytes([0x00, 0, 0, 0]) + lp(b"") + REQUEST[:40]

    # handshake_client: flags (deflate, ends, read), chunk size, response.
    hc = s.setdefault("handshake_client", {})
    hc["101"] = b"\x00\x00" + RESPONSE + b"\r\n" + HELLO
    hc["101-deflate-chunked"] = b"\x05\x05" + RESPONSE + DEFLATE_ANSWER + b"\r\n" + frame(0xC1, HELLO_DEFLATED)
    hc["101-bad-accept"] = b"\x00\x00" + RESPONSE.replace(b"s3pP", b"AAAA") + b"\r\n"
    hc["403-with-body"] = b"\x02\x03" + b"HTTP/1.1 403 Forbidden\r\nContent-Length: 9\r\n\r\nforbidden"
    hc["ended-early"] = b"\x02\x00" + RESPONSE[:30]

    # deflate: flags, level, window bits, message limit, offer, answer, messages.
    def real(data, flags=1, times=1):
        return bytes([0, flags, times - 1]) + lp(data)

    raw = lambda b0, payload: bytes([1, b0]) + lp(payload)
    df = s.setdefault("deflate", {})
    df["negotiate-and-hello"] = (
        bytes([0x01, 6, 7, 7, 0, 0])
        + lp(b"permessage-deflate; client_max_window_bits, permessage-deflate")
        + lp(b"permessage-deflate; server_no_context_takeover")
        + raw(0xC1, HELLO_DEFLATED)
        + real(b"Hello")
        + real(b"Hello", 3)
    )
    df["empty-messages"] = bytes([0x00, 1, 7, 7, 0, 0]) + lp(b"permessage-deflate") + lp(b"") + real(b"") + real(b"") + real(b"") + real(b"x")
    df["small-windows"] = (
        bytes([0x07, 9, 0, 1, 0, 0])
        + lp(b"permessage-deflate; client_max_window_bits=8; server_max_window_bits=9; client_no_context_takeover")
        + lp(b"permessage-deflate; client_max_window_bits=9")
        + real(bytes(range(200)), 0, 4)
        + real(b"abc" * 50, 3, 2)
    )
    df["bomb"] = bytes([0x09, 9, 7, 7, 0x01, 0x00]) + lp(b"") + lp(b"") + real(b"\x00" * 255, 0, 16)
    df["corrupt-and-invalid-utf8"] = (
        bytes([0x01, 6, 7, 7, 0, 0]) + lp(b"") + lp(b"")
        + raw(0xC1, b"\xff\xff\xff")
        + raw(0xC1, deflate(b"\xff\xfe"))
    )

    # hex: a selector (under 128: text; else a layout of the bytes).
    hx = s.setdefault("hex", {})
    hx["wireshark"] = b"\x00" + b"0000   81 85 37 fa 21 3d 7f 9f 4d 51 58 81 85 37 fa 21   ..7.!=..MQX..7.!\n0010   3d 7f 9f                                          =..\n"
    hx["hexdump-c"] = b"\x00" + b"00000000  81 85 37 fa 21 3d 7f 9f  4d 51 58 61 62 63 64 65  |..7.!=..MQXabcde|\n00000010  ab cd                                             |..|\n00000012\n"
    hx["xxd"] = b"\x00" + b"00000000: 6162 6364 6162 6364 6162 6364 6162 6364  abcdabcdabcdabcd\n00000010: 6162                                     ab\n"
    hx["tcpdump"] = b"\x00" + b"\t0x0000:  8185 37fa 213d 7f9f 4d51 58  ..7.!=..MQX\n"
    hx["plain-and-escapes"] = b"\x00" + b"{0x81, 0x85}\n\\x37\\xfa 21:3d 7f9f4d5158\n"
    hx["errors"] = b"\x00" + b"81 8g\n850\n"
    for i in range(8):
        hx[f"layout-{i}"] = bytes([0x80 + i]) + HELLO_MASKED + b"ab  cd|" + bytes(range(0, 256, 17))

    # inspector: flags, frame limit, message limit (2), fragment limit, buffer, chunks.
    chunk = lambda c2s, b: bytes([1 if c2s else 0]) + lp(b)
    ins = s.setdefault("inspector", {})
    ins["rfc-both-ways"] = (
        bytes([0, 0, 0, 0, 0, 0])
        + chunk(True, HELLO_MASKED[:4]) + chunk(True, HELLO_MASKED[4:])
        + chunk(False, HELLO + FRAGMENTED)
        + chunk(True, PONG_MASKED + frame(0x88, close(1000, b"bye"), KEY))
        + chunk(False, frame(0x88, close(1000)))
    )
    ins["deflate"] = (
        bytes([0x30, 0, 0, 0, 0, 0])
        + chunk(True, frame(0xC1, HELLO_DEFLATED, KEY))
        + chunk(False, frame(0x41, HELLO_DEFLATED[:3]) + frame(0x89, b"") + frame(0x80, HELLO_DEFLATED[3:]))
        + chunk(False, frame(0xC1, b"\x00"))
    )
    ins["small-buffer-limits"] = bytes([0x09, 10, 0, 20, 2, 4]) + chunk(True, fragments(b"a" * 40, [4, 8, 30], KEY)) + chunk(False, BIN_256_HEAD + b"z" * 40)
    ins["mid-stream-unmasked"] = bytes([0x06, 0, 0, 0, 0, 0]) + chunk(True, frame(0x80, b"lo") + HELLO) + chunk(False, frame(0x00, b"x"))

    # inspector_matches_connection: flags, limits, chunk size, the peer's bytes.
    dm = s.setdefault("inspector_matches_connection", {})
    dm["server-rfc-hello"] = bytes([0, 0, 0, 0, 3]) + HELLO_MASKED + PONG_MASKED
    dm["client-rfc-examples"] = bytes([1, 0, 0, 0, 5]) + HELLO + FRAGMENTED + PING
    dm["fragmented-invalid-utf8"] = bytes([0, 0, 0, 0, 1]) + fragments(INVALID_UTF8, [4, 9], KEY)
    dm["ping-inside-fragmented"] = bytes([0, 0, 0, 0, 2]) + fragments("κόσμε".encode(), [2, 6], KEY, ping=True)
    dm["close-invalid-code"] = bytes([1, 0, 0, 0, 4]) + frame(0x88, close(1005))
    dm["close-invalid-reason"] = bytes([1, 0, 0, 0, 4]) + frame(0x88, close(1000, b"\xce\xba\xff"))
    dm["len64-and-reserved"] = bytes([1, 0, 0, 0, 7]) + frame(0x82, b"abc", length=64) + frame(0x83, b"")
    dm["deflate-hello-and-corrupt"] = bytes([2, 0, 0, 0, 6]) + frame(0xC1, HELLO_DEFLATED, KEY) + frame(0xC1, b"\xff\xff", KEY)
    dm["small-limits"] = bytes([4, 10, 20, 2, 9]) + fragments(b"a" * 30, [5, 10, 15], KEY)

    # capture_import: whole files, every format the importer sniffs.
    cap = s.setdefault("capture_import", {})
    req = (b"GET /c HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
    resp = (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
            b"Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n")
    cap["capture-lines"] = (
        b'{"format":"framewire-capture","version":1,"connections":[{"conn":0,"request":"'
        + req.replace(b"\r\n", b"\\r\\n") + b'","response":"' + resp.replace(b"\r\n", b"\\r\\n")
        + b'","ended":true}]}\n'
        + b'{"t":1.5,"dir":"c2s","conn":0,"b64":"' + base64.b64encode(HELLO_MASKED) + b'"}\n'
        + b'{"t":2,"dir":"s2c","conn":0,"b64":"' + base64.b64encode(frame(0xC1, HELLO_DEFLATED) + PING) + b'"}\n'
    )
    cap["har"] = (
        b'{"log":{"entries":[{"request":{"method":"GET","url":"ws://h/c","headers":[{"name":"Host","value":"h"}]},'
        b'"response":{"status":101,"headers":[]},"_webSocketMessages":['
        b'{"type":"send","time":1.5,"opcode":1,"data":"hi"},{"type":"receive","time":2,"opcode":2,"data":"AAEC"}]}]}}'
    )
    cap["pcap-tcp-reordered"] = pcap([
        (True, 100, b"", 0x02), (False, 900, b"", 0x12), (True, 101, req, 0x10),
        (False, 901, resp, 0x10), (True, 101 + len(req) + 5, HELLO_MASKED[5:], 0x10),
        (True, 101 + len(req), HELLO_MASKED[:5], 0x10), (True, 101 + len(req), HELLO_MASKED[:5], 0x10),
        (False, 901 + len(resp), frame(0x88, close(1000)), 0x11),
    ])
    return s


def tcp_packet(from_client, seq, payload, flags):
    """Ethernet + IPv4 + TCP (checksums left 0: the importer does not check them)."""
    src, dst = (b"\x0a\x00\x00\x01", b"\x0a\x00\x00\x02") if from_client else (b"\x0a\x00\x00\x02", b"\x0a\x00\x00\x01")
    sport, dport = (40000, 9001) if from_client else (9001, 40000)
    tcp = struct.pack(">HHIIBBHHH", sport, dport, seq, 0, 5 << 4, flags, 65535, 0, 0) + payload
    ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 0, 0x4000, 64, 6, 0, src, dst) + tcp
    return b"\x02" * 6 + b"\x04" * 6 + b"\x08\x00" + ip


def pcap(packets):
    """A classic pcap (microseconds, Ethernet) of `packets`."""
    out = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
    for i, (c, seq, payload, flags) in enumerate(packets):
        p = tcp_packet(c, seq, payload, flags)
        out += struct.pack("<IIII", 1700000000, i * 1000, len(p), len(p)) + p
    return out


def main():
    total = 0
    for target, files in seeds().items():
        d = os.path.join(ROOT, target)
        os.makedirs(d, exist_ok=True)
        for name, data in files.items():
            with open(os.path.join(d, name), "wb") as f:
                f.write(data)
            total += len(data)
    print(f"wrote {sum(len(f) for f in seeds().values())} seeds, {total} bytes, in {ROOT}")


if __name__ == "__main__":
    main()
