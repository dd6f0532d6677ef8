package siphash

import "testing"

// The first vectors of the reference implementation's test table (key 00 01 .. 0f, message
// 00 01 .. n-1), as little-endian 64-bit values.
func TestReferenceVectors(t *testing.T) {
	var key [16]byte
	for i := range key {
		key[i] = byte(i)
	}
	want := []uint64{
		0x726fdb47dd0e0e31, // empty message
		0x74f839c593dc67fd,
		0x0d6c8009d9a94f5a,
		0x85676696d7fb7e2d,
		0xcf2794e0277187b7,
		0x18765564cd99a68d,
		0xcbc9466e58fee3ce,
		0xab0200f58b01d137,
		0x93f5f5799a932462, // 8 bytes: one full block
		0x9e0082df0ba9e4b0,
		0x7a5dbbc594ddb9f3,
		0xf4b32f46226bada7,
		0x751e8fbc860ee5fb,
		0x14ea5627c0843d90,
		0xf723ca908e7af2ee,
		0xa129ca6149be45e5, // 15 bytes
		0x3f2acc7f57c29bdb, // 16 bytes: two full blocks
	}
	msg := make([]byte, len(want))
	for i := range msg {
		msg[i] = byte(i)
	}
	for n, w := range want {
		if got := Sum64(key, msg[:n]); got != w {
			t.Errorf("length %d: %#016x, want %#016x", n, got, w)
		}
	}
}
