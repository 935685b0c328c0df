extends RefCounted
## The load test's messages: the generator (identical to tests/load/peer.mjs; keep the two in
## step: see there for sizes, types and the header), its fingerprint, and how an error describes
## a message. Preloaded by load.gd.

const M31 := 2147483647
const POOL := 65536
const HEADER := 16
const BOUNDARY := [1, 2, 15, 16, 17, 125, 126, 127, 128, 4096, 65535, 65536]

var pool_bin := PackedByteArray()
var pool_txt := PackedByteArray()
var tail := "xyz".to_ascii_buffer()


static func mix(x: int) -> int:
	x = (x * 48271) % M31
	x ^= x >> 11
	x = (x * 48271) % M31
	x ^= x >> 7
	return (x * 48271) % M31


static func rnd(c: int, s: int, k: int) -> int:
	return mix(((c * 1000003 + s * 7919 + k * 104729) % (M31 - 1)) + 1)


func make_pools() -> void:
	var x := 20251125
	pool_bin.resize(2 * POOL + HEADER)
	for i in pool_bin.size():
		x = (x * 48271) % M31
		pool_bin[i] = (x >> 8) & 255
	pool_txt.resize(2 * POOL + HEADER)
	var i := 0
	while i < pool_txt.size():
		x = (x * 48271) % M31
		var t := x % 8
		if t < 4:
			for j in 4:
				pool_txt[i + j] = 0x20 + ((x >> (3 + 5 * j)) % 95)
		elif t < 6:
			pool_txt[i] = 0xc3
			pool_txt[i + 1] = 0xa9
			pool_txt[i + 2] = 0x61 + ((x >> 3) % 26)
			pool_txt[i + 3] = 0x61 + ((x >> 8) % 26)
		elif t == 6:
			pool_txt[i] = 0xe2
			pool_txt[i + 1] = 0x82
			pool_txt[i + 2] = 0xac
			pool_txt[i + 3] = 0x2d
		else:
			pool_txt[i] = 0xf0
			pool_txt[i + 1] = 0x9f
			pool_txt[i + 2] = 0x98
			pool_txt[i + 3] = 0x80
		i += 4


## Message s of connection c: [bytes, is_text].
func make_message(c: int, s: int) -> Array:
	var p := rnd(c, s, 1) % 1000
	var r2 := rnd(c, s, 2)
	var size: int
	if p < 20:
		size = 0
	elif p < 40:
		size = BOUNDARY[r2 % BOUNDARY.size()]
	elif p < 900:
		size = 1 + r2 % 256
	elif p < 990:
		size = 257 + r2 % 3840
	else:
		size = 4097 + r2 % 61440
	var text := rnd(c, s, 3) % 100 < 30
	var off := rnd(c, s, 4) % POOL
	var start := 0
	var head := PackedByteArray()
	if size >= HEADER:
		head = ("%07x%08x|" % [c & 0xFFFFFFF, s & 0xFFFFFFFF]).to_ascii_buffer()
		start = HEADER
	var data: PackedByteArray
	if text:
		var o := off & ~3
		data = head + pool_txt.slice(o + start, o + (size & ~3)) + tail.slice(0, size & 3)
	else:
		data = head + pool_bin.slice(off + start, off + size)
	return [data, text]


## SHA-256 over a sample of messages (bytes + a type byte each), compared by tests/load/run.py
## with peer.mjs's to make sure both generators agree.
func fingerprint() -> String:
	var ctx := HashingContext.new()
	ctx.start(HashingContext.HASH_SHA256)
	for c in [0, 7, 999, 1000000, 1000999]:
		for s in 300:
			var m := make_message(c, s)
			if m[0].size() > 0:
				ctx.update(m[0])
			ctx.update(PackedByteArray([1 if m[1] else 0]))
	return ctx.finish().hex_encode()


static func describe(data: PackedByteArray, is_text: bool) -> String:
	var claims := ""
	if data.size() >= HEADER and data[HEADER - 1] == 0x7c:
		var h := data.slice(0, HEADER).get_string_from_ascii()
		if h.substr(0, 15).is_valid_hex_number():
			claims = " (its header says connection %d seq %d)" % [h.substr(0, 7).hex_to_int(), h.substr(7, 8).hex_to_int()]
	return "%s of %d B%s" % ["text" if is_text else "binary", data.size(), claims]


static func first_diff(a: PackedByteArray, b: PackedByteArray) -> int:
	for i in mini(a.size(), b.size()):
		if a[i] != b[i]:
			return i
	return mini(a.size(), b.size())

