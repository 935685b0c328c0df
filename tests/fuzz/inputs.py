"""What the hostile remotes of tests/fuzz/run.py send: valid upgrade requests, responses and frame
streams, then maybe damaged (bad opcodes, RSV bits, lengths, masking, invalid UTF-8, oversized or
fragmented control frames, bit flips, truncation, splices). Python standard library only."""

from __future__ import annotations

import base64
import hashlib
import random
import re
import struct

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

TEXTS = ["a", "Z", " ", "0", "\u0000", "é", "ß", "€", "中", "😀", "\U0010ffff"]
BAD_UTF8 = [b"\xff", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\x80", b"\xe2\x82("]
CODES = [1000, 1001, 1002, 1003, 1007, 1008, 1011, 1014, 3000, 4000, 4999]
BAD_CODES = [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535]


def utf8(rng: random.Random, n: int) -> bytes:
    out = bytearray()
    if n > 1000:
        out += b"x" * (n - 8)
    while len(out) < n:
        out += rng.choice(TEXTS).encode()
    return bytes(out)


def size(rng: random.Random) -> int:
    r = rng.randrange(100)
    if r < 60:
        return rng.randrange(20)
    if r < 90:
        return rng.randint(20, 300)
    if r < 98:
        return rng.randint(300, 5000)
    return rng.randint(5000, 70000)


class Frame:
    def __init__(self, opcode: int, fin: bool, payload: bytes, masked: bool, rng: random.Random):
        self.opcode, self.fin, self.payload, self.rsv = opcode, fin, payload, 0
        self.mask = rng.randbytes(4) if masked else None
        self.length: int | None = None  # a claimed length other than the payload's
        self.wide = 0  # 16 or 64: a non-minimal length field

    def encode(self) -> bytes:
        out = bytearray([(0x80 if self.fin else 0) | (self.rsv & 7) << 4 | (self.opcode & 0xF)])
        n = len(self.payload) if self.length is None else self.length
        m = 0x80 if self.mask else 0
        if self.wide == 64 or n > 0xFFFF:
            out += bytes([m | 127]) + struct.pack(">Q", n)
        elif self.wide == 16 or n >= 126:
            out += bytes([m | 126]) + struct.pack(">H", n)
        else:
            out.append(m | n)
        if self.mask:
            out += self.mask
            p = self.payload
            k = (self.mask * (len(p) // 4 + 1))[: len(p)]
            out += (int.from_bytes(p, "big") ^ int.from_bytes(k, "big")).to_bytes(len(p), "big") if p else b""
        else:
            out += self.payload
        return bytes(out)


def stream(rng: random.Random, masked: bool) -> list[Frame]:
    """A valid frame stream: messages (some fragmented, with control frames between fragments),
    pings and pongs, usually a close frame at the end."""
    frames: list[Frame] = []
    count = rng.choice([0, rng.randint(30, 150)] + [rng.randint(1, 8)] * 8)
    for _ in range(count):
        if rng.randrange(6) == 0:
            frames.append(Frame(rng.choice([0x9, 0xA]), True, rng.randbytes(rng.randrange(126)), masked, rng))
            continue
        text = rng.random() < 0.5
        n = rng.randrange(30) if count > 20 else size(rng)
        data = utf8(rng, n) if text else rng.randbytes(n)
        pieces = rng.randint(2, 5) if rng.randrange(3) == 0 else 1
        cuts = sorted(rng.randrange(len(data) + 1) for _ in range(pieces - 1)) + [len(data)]
        start = 0
        for i, end in enumerate(cuts):
            op = 0 if i else (1 if text else 2)
            last = i == len(cuts) - 1
            frames.append(Frame(op, last, data[start:end], masked, rng))
            start = end
            if not last and rng.randrange(3) == 0:
                frames.append(Frame(rng.choice([0x9, 0xA]), True, rng.randbytes(rng.randrange(126)), masked, rng))
    if rng.randrange(5):
        if rng.randrange(4) == 0:
            payload = b""
        else:
            reason = utf8(rng, rng.randrange(40))
            payload = struct.pack(">H", rng.choice(CODES)) + reason
        frames.append(Frame(0x8, True, payload, masked, rng))
    return frames


def damage_frames(rng: random.Random, frames: list[Frame], masked: bool) -> None:
    for _ in range(rng.randint(1, 3)):
        if not frames:
            frames.append(Frame(2, True, b"", masked, rng))
        i = rng.randrange(len(frames))
        f = frames[i]
        what = rng.randrange(16)
        if what == 0:
            f.rsv = rng.randint(1, 7)
        elif what == 1:
            f.opcode = rng.choice([3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF])
        elif what == 2:
            f.mask = None if f.mask else rng.randbytes(4)
        elif what == 3:
            f.wide = rng.choice([16, 64])
        elif what == 4:
            f.length = rng.choice([2**64 - 1, 2**63, 2**63 - 1, 2**32, 70000, 126, len(f.payload) + rng.randint(1, 99)])
        elif what == 5:
            f.length = max(0, len(f.payload) - rng.randint(1, 9))
        elif what == 6:
            at = rng.randrange(len(f.payload) + 1)
            f.payload = f.payload[:at] + rng.choice(BAD_UTF8) + f.payload[at:]
            f.opcode = 0 if f.opcode == 0 else 1
        elif what == 7:
            kind = rng.randrange(4)
            payload = [b"\x03", struct.pack(">H", rng.choice(BAD_CODES)),
                       struct.pack(">H", 1000) + rng.choice(BAD_UTF8), struct.pack(">H", 1000) + b"r" * 124][kind]
            frames[i] = Frame(8, True, payload, f.mask is not None, rng)
        elif what == 8:
            op = rng.choice([8, 9, 10])
            payload = rng.randbytes(rng.randint(126, 300))
            if op == 8:
                payload = struct.pack(">H", 1000) + payload[2:]
            frames[i] = Frame(op, True, payload, f.mask is not None, rng)
        elif what == 9:
            frames[i] = Frame(rng.choice([8, 9, 10]), False, b"", f.mask is not None, rng)
        elif what == 10:
            frames[i] = Frame(0, rng.random() < 0.5, rng.randbytes(5), f.mask is not None, rng)
        elif what == 11:
            f.fin = not f.fin
        elif what == 12:
            del frames[i]
        elif what == 13:
            frames.insert(i, f)
        elif what == 14:
            j = rng.randrange(len(frames))
            frames[i], frames[j] = frames[j], frames[i]
        else:
            ping = Frame(9, True, b"\x07" * 125, f.mask is not None, rng)
            frames[i:i] = [ping] * rng.randint(100, 2000)


def damage_bytes(rng: random.Random, data: bytes, other: bytes) -> bytes:
    b = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        n = len(b)
        what = rng.randrange(8)
        if what == 0 and n:
            for _ in range(rng.randint(1, 8)):
                b[rng.randrange(n)] ^= 1 << rng.randrange(8)
        elif what == 1 and n:
            b[rng.randrange(n)] = rng.choice([0, 0xFF, 0x7F, 0x80, 0x7E, 0x88, 0x0D, 0x0A, ord(":")])
        elif what == 2:
            del b[rng.randrange(n + 1):]
        elif what == 3:
            at = rng.randrange(n + 1)
            b[at:at] = rng.randbytes(rng.randint(1, 40))
        elif what == 4 and n:
            a = rng.randrange(n)
            del b[a:a + rng.randint(1, 64)]
        elif what == 5 and n:
            a = rng.randrange(n)
            at = rng.randrange(n + 1)
            b[at:at] = b[a:a + rng.randint(1, 200)]
        elif what == 6 and other:
            a = rng.randrange(len(other))
            at = rng.randrange(n + 1)
            b[at:at] = other[a:a + rng.randint(1, 300)]
        elif n:
            i = rng.randrange(n)
            b[i] = (b[i] + rng.randint(1, 255)) & 0xFF
    return bytes(b)


def case(rng: random.Random, s: str) -> str:
    return rng.choice([s.lower(), s.upper(), s, s])


def head(rng: random.Random, first: str, lines: list[str], clean: bool) -> bytes:
    if not clean or rng.randrange(3) == 0:
        for _ in range(rng.randrange(4)):
            lines.append(f"{case(rng, rng.choice(['X-Junk', 'Cookie', 'Origin', 'User-Agent']))}: {'v' * min(size(rng), 3000)}")
        if len(lines) > 1:
            i, j = rng.randrange(1, len(lines)), rng.randrange(len(lines))
            lines[i], lines[j] = lines[j], lines[i]
    eol = "\n" if not clean and rng.randrange(8) == 0 else "\r\n"
    return (first + eol + "".join(line + eol for line in lines) + eol).encode("utf-8", "surrogateescape")


def request(rng: random.Random, clean: bool) -> bytes:
    key = base64.b64encode(rng.randbytes(16)).decode()
    target = rng.choice(["/", "/chat?x=1", "/a/b/c", "/%00"])
    first = f"GET {target} HTTP/1.1"
    lines = [f"{case(rng, 'Host')}: 127.0.0.1", f"{case(rng, 'Upgrade')}: {rng.choice(['websocket', 'WebSocket'])}",
             f"{case(rng, 'Connection')}: {rng.choice(['Upgrade', 'keep-alive, Upgrade', 'upgrade'])}",
             f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13"]
    if rng.randrange(10) == 0:
        lines.append("Sec-WebSocket-Protocol: " + ", ".join(rng.sample(["chat", "v2", "x"], rng.randint(1, 2))))
    if not clean and rng.randrange(2):
        what = rng.randrange(10)
        if what == 0:
            first = f"POST {target} HTTP/1.1"
        elif what == 1:
            first = f"GET {target} HTTP/1.0"
        elif what == 2:
            lines[1] = "Upgrade: h2c"
        elif what == 3:
            lines[2] = "Connection: close"
        elif what == 4:
            lines[3] = f"Sec-WebSocket-Key: {key[:10]}"
        elif what == 5:
            lines[4] = "Sec-WebSocket-Version: 8"
        elif what == 6:
            del lines[rng.randrange(len(lines))]
        elif what == 7:
            lines.append("X-Big: " + "a" * rng.randint(8000, 20000))
        elif what == 8:
            lines.append("X-Bin: \x01\x7f\udcff")
        else:
            first = "GET /"
    return head(rng, first, lines, clean)


def response(rng: random.Random, req: bytes, clean: bool) -> bytes:
    m = re.search(rb"(?im)^sec-websocket-key:\s*(\S+)", req)
    key = m.group(1) if m else b""
    accept = base64.b64encode(hashlib.sha1(key + GUID).digest()).decode()
    first = "HTTP/1.1 101 Switching Protocols"
    lines = [f"{case(rng, 'Upgrade')}: websocket", f"{case(rng, 'Connection')}: Upgrade",
             f"Sec-WebSocket-Accept: {accept}"]
    if not clean and rng.randrange(2):
        what = rng.randrange(9)
        if what == 0:
            first = f"HTTP/1.1 {rng.choice([200, 400, 403, 404, 426, 500, 100, 999])} Nope"
        elif what == 1:
            first = "HTTP/1.0 101 Switching Protocols"
        elif what == 2:
            lines[0] = "Upgrade: h2c"
        elif what == 3:
            lines[1] = "Connection: close"
        elif what == 4:
            lines[2] = "Sec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA="
        elif what == 5:
            del lines[rng.randrange(len(lines))]
        elif what == 6:
            lines.append("Sec-WebSocket-Protocol: unoffered")
        elif what == 7:
            lines.append("X-Big: " + "a" * rng.randint(8000, 20000))
        else:
            first = "garbage"
    return head(rng, first, lines, clean)


def remote_bytes(rng: random.Random, first: bytes, masked: bool, clean: bool) -> bytes:
    """What one remote sends: a head, then frames; damaged unless clean."""
    frames = stream(rng, masked)
    if not clean and rng.randrange(3):
        damage_frames(rng, frames, masked)
    body = b"".join(f.encode() for f in frames)
    if not clean and rng.randrange(3):
        other = b"".join(f.encode() for f in stream(rng, not masked)[:4])
        if rng.randrange(4):
            body = damage_bytes(rng, body, other)  # mostly the frames, so that most handshakes pass
        else:
            return damage_bytes(rng, first + body, other)
    return first + body
