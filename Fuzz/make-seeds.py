#!/usr/bin/env python3
"""Writes the hand-made seed inputs of every fuzz target into Fuzz/corpus/.

Seeds are small, valid-or-nearly-valid examples of each input format; the
fuzzer grows the rest. Re-running overwrites seeds with the same names only.
Input layouts are those of Sources/HDFuzzTargets (first bytes = control)."""
import os, struct, zlib, glob, shutil

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")

def put(target, name, data):
    d = os.path.join(root, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)

def frame(t, payload):
    return struct.pack(">BI", t, len(payload)) + payload

KEY = bytes(range(32))
UPGRADE = b"GET /derp HTTP/1.1\r\nHost: relay.example\r\nUpgrade: DERP\r\nConnection: Upgrade\r\n\r\n"

# derp-http-head: [split seed] head bytes
put("derp-http-head", "upgrade", b"\x00" + UPGRADE)
put("derp-http-head", "upgrade-split", b"\x07" + UPGRADE + b"\x02\x00\x00\x00\x01x")
put("derp-http-head", "fast-start", b"\x03GET /derp HTTP/1.1\r\nHost: r\r\nUpgrade: DERP\r\nDerp-Fast-Start: 1\r\n\r\n")
put("derp-http-head", "generate-204", b"\x00GET /generate_204 HTTP/1.1\r\nHost: r\r\n\r\n")
put("derp-http-head", "probe-bare-lf", b"\x05GET /derp/probe?x=1 HTTP/1.0\nHost: r\n\n")
put("derp-http-head", "post-404", b"\x02POST /nope HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc")

# server-connection: [mode: bit0 sealed ClientInfo, bit1 fast start][split seed]
#   sealed: [json length u16][json ("$MESHKEY" → the relay's mesh key)] then raw frames
def sealed(json, frames=b"", mode=1, seed=0):
    return bytes([mode, seed]) + struct.pack(">H", len(json)) + json + frames

client = b'{"version":2}'
mesh = b'{"version":2,"meshKey":"$MESHKEY"}'
put("server-connection", "register", sealed(client))
put("server-connection", "register-fast-split", sealed(client, mode=3, seed=9))
put("server-connection", "send-to-self-and-other", sealed(client,
    frame(0x04, bytes([9, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0]) + b"hello")
    + frame(0x04, KEY + b"\x00" * 100), seed=5))
put("server-connection", "ping-prefer-keepalive", sealed(client,
    frame(0x12, b"12345678") + frame(0x07, b"\x01") + frame(0x06, b"") + frame(0x07, b"\x00"), seed=3))
put("server-connection", "unknown-frames", sealed(client, frame(0x99, b"x" * 300) + frame(0x30, b"") + frame(0x12, b"abcdefgh"), seed=4))
put("server-connection", "oversize-frame", sealed(client, struct.pack(">BI", 0x04, 70000) + b"y" * 64))
put("server-connection", "mesh-watch-close-forward", sealed(mesh,
    frame(0x10, b"") + frame(0x11, KEY) + frame(0x0a, KEY + bytes([9, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0]) + b"pkt"), seed=2))
put("server-connection", "client-mesh-frame", sealed(client, frame(0x10, b"")))
put("server-connection", "prober-json", sealed(b'{"version":2,"IsProber":true,"CanAckPings":true,"meshKey":"00"}'))
put("server-connection", "raw-upgrade-bad-clientinfo", b"\x00\x06" + UPGRADE + frame(0x02, KEY + b"\x00" * 40))
put("server-connection", "raw-http-answer", b"\x00\x00GET /generate_204 HTTP/1.1\r\nHost: r\r\n\r\n")
put("server-connection", "raw-garbage-head", b"\x00\x01\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03")

# client-frame-reader: [split seed][capacity: even = default, odd = 64 + byte] frames
peer_present = frame(0x09, KEY + bytes([0] * 10 + [0xff, 0xff, 127, 0, 0, 1]) + struct.pack(">H", 41641) + b"\x01")
put("client-frame-reader", "mesh-stream", b"\x00\x00" + peer_present + frame(0x08, KEY + b"\x01") + frame(0x09, KEY))
put("client-frame-reader", "mesh-stream-split", b"\x0b\x00" + peer_present * 3 + frame(0x08, KEY))
put("client-frame-reader", "mixed", b"\x05\x00" + frame(0x05, KEY + b"data") + frame(0x06, b"") + frame(0x12, b"12345678")
    + frame(0x14, b"health text") + frame(0x15, struct.pack(">II", 1000, 5000)) + frame(0x77, b"??"))
put("client-frame-reader", "small-buffer-too-big", b"\x01\x11" + frame(0x05, KEY + b"z" * 200))

# metrics-http: request head bytes
put("metrics-http", "metrics", b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
put("metrics-http", "health-10-keepalive", b"GET /health HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /x HTTP/1.0\r\n\r\n")
put("metrics-http", "absolute-form", b"\r\nHEAD http://h:9/debug/peers?x HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
put("metrics-http", "smuggling", b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n")
put("metrics-http", "bare-lf", b"GET / HTTP/1.1\nHost: h\nX: y\n\n")

# verify-response: [split seed] response bytes
put("verify-response", "allow", b"\x00HTTP/1.1 200 OK\r\nContent-Length: 14\r\n\r\n{\"Allow\":true}")
put("verify-response", "deny-split", b"\x06HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 15\r\n\r\n{\"allow\":false}")
put("verify-response", "chunked", b"\x03HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{\"All\r\n9;ext=1\r\now\":true}\r\n0\r\n\r\n")
put("verify-response", "close-delimited", b"\x00HTTP/1.0 200 OK\r\n\r\n{}")
put("verify-response", "server-error", b"\x01HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n")

# stun: one datagram
def stun(attrs=b"", fingerprint=True):
    tid = bytes(range(12))
    length = len(attrs) + (8 if fingerprint else 0)
    msg = struct.pack(">HHI", 1, length, 0x2112A442) + tid + attrs
    if fingerprint:
        crc = (zlib.crc32(msg) ^ 0x5354554E) & 0xFFFFFFFF
        msg += struct.pack(">HHI", 0x8028, 4, crc)
    return msg
put("stun", "binding", stun(fingerprint=False))
put("stun", "binding-fingerprint", stun())
put("stun", "binding-software", stun(struct.pack(">HH", 0x8022, 10) + b"tailscale\x00\x00\x00"))
put("stun", "required-attribute", stun(struct.pack(">HH", 0x0006, 4) + b"user", fingerprint=False))

# config-yaml: the example configs and the diagnostic corpus
here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for path in sorted(glob.glob(os.path.join(here, "etc", "*.yaml")) + glob.glob(os.path.join(here, "Tests/HDConfigTests/Corpus/*.yaml"))):
    if os.path.isfile(path) and os.path.getsize(path) <= 8192:
        with open(path, "rb") as f:
            put("config-yaml", os.path.basename(path), f.read())

# key-files: file text
put("key-files", "privkey", b"privkey:" + KEY.hex().encode() + b"\n")
put("key-files", "derper-json", b'{"PrivateKey":"privkey:' + KEY.hex().encode() + b'"}')
put("key-files", "mesh-key", b"  " + bytes(range(1, 33)).hex().encode() + b"\n")
put("key-files", "mesh-key-zero", b"0" * 64)

# tls-server-records: [split seed] ciphertext. Real first flights recorded
# from Python's TLS client (OpenSSL) over memory BIOs: a fuzzed byte stream
# starts from an actual ClientHello, then the fuzzer varies it.
import ssl

def client_hello(minimum=None, maximum=None, sni="relay.example", alpn=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if minimum: ctx.minimum_version = minimum
    if maximum: ctx.maximum_version = maximum
    if alpn: ctx.set_alpn_protocols(alpn)
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    conn = ctx.wrap_bio(incoming, outgoing, server_hostname=sni)
    try:
        conn.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return outgoing.read()

hello13 = client_hello()
hello12 = client_hello(maximum=ssl.TLSVersion.TLSv1_2)
put("tls-server-records", "clienthello-13", b"\x00" + hello13)
put("tls-server-records", "clienthello-13-split", b"\x09" + hello13)
put("tls-server-records", "clienthello-12-alpn", b"\x05" + client_hello(maximum=ssl.TLSVersion.TLSv1_2, alpn=["acme-tls/1"]))
# The ClientHello cut into two handshake records, then a stray application record and an alert.
body = hello12[5:]
put("tls-server-records", "clienthello-12-two-records-then-junk", b"\x03"
    + hello12[:3] + struct.pack(">H", 40) + body[:40] + hello12[:3] + struct.pack(">H", len(body) - 40) + body[40:]
    + b"\x17\x03\x03\x00\x10" + b"\xaa" * 16 + b"\x15\x03\x03\x00\x02\x02\x28")
put("tls-server-records", "plain-http-on-tls-port", b"\x00" + UPGRADE)

# tls-record-layer: [setup: bit0 TLS 1.2 (else 1.3), bit1 AES-256, bit2 sequences from 2^24 - 2]
#   [receive-size seed] then script steps (TLSRecordScript.step): 0 data [n][bytes][pad (1.3)],
#   1 any type [type][n][bytes][pad (1.3)], 2 large data [size u16][pattern seed], 3 KeyUpdate
#   [choice: 1.3 < 128 = the layer's own, bit0 = update_requested; else hand-made, byte = request],
#   4 alert [description], 5 garbage [n][bytes], 6 flip the last record [position u16][mask]
def data(payload, pad=0, tls13=True):
    return bytes([0, len(payload)]) + payload + (bytes([pad]) if tls13 else b"")

put("tls-record-layer", "tls13-aes128", b"\x00\x00" + data(b"hello relay") + data(b"padded", pad=7) + b"\x04\x00")
put("tls-record-layer", "tls13-aes256", b"\x02\x00" + data(b"x" * 40) + b"\x02\x10\x00\x05" + b"\x04\x28")
put("tls-record-layer", "tls12-aes128", b"\x01\x00" + data(b"hello relay", tls13=False) + b"\x02\x40\x00\x07")
put("tls-record-layer", "tls12-aes256", b"\x03\x00" + data(b"abc", tls13=False) + b"\x01\x16\x05\x01\x00\x00\x01\x00")
put("tls-record-layer", "tls13-keyupdates", b"\x00\x00" + b"\x03\x01" + data(b"after a requested update")
    + b"\x03\x00" + data(b"after an unrequested one") + b"\x03\xc8")
put("tls-record-layer", "tls13-split-headers", b"\x00\x07" + data(b"a") + data(b"") + data(b"bc", pad=3)
    + b"\x03\x01" + data(b"def") + b"\x02\x01\x00\x02" + data(b"g"))
put("tls-record-layer", "tls13-key-worn-out", b"\x06\x03" + data(b"one") + data(b"two") + data(b"three") + data(b"four"))
put("tls-record-layer", "tls12-flipped", b"\x01\x02" + data(b"good", tls13=False) + data(b"flipped", tls13=False)
    + b"\x06\x00\x09\x01")
put("tls-record-layer", "tls13-garbage", b"\x00\x01" + data(b"good") + b"\x05\x08\x17\x03\x03\x00\x03abc")
