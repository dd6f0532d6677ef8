package logs

import (
	"reflect"
	"strings"
	"testing"
	"time"
	"unsafe"
)

// TestLinesKeptWhole: what a query returns of a stored line is the line as appended, every
// field of it, though a ring keeps it in its compact form (entry).
func TestLinesKeptWhole(t *testing.T) {
	s := NewStore(10, "")
	defer s.Close()
	at := time.Date(2026, 12, 8, 2, 30, 0, 123456789, time.Local)
	src := &Source{Ident: "foo", Comm: "foo", Transport: "stdout"}
	long := strings.Repeat("v", 300) // a length of more than one varint byte
	in := []Line{
		{Time: at, Mono: 5 * time.Second, Unit: "a.service", Stream: "stdout", PID: 4194304, Priority: 3, Text: "plain", Source: src},
		{Time: at.Add(time.Second), Mono: 6 * time.Second, Unit: "a.service", Stream: "manager", PID: 1, Priority: 6,
			Text: "with fields", Fields: []Field{{"MESSAGE_ID", "39f53479d3a045ac8e11786248231fbf"}, {"JOB_ID", "7"},
				{"EMPTY", ""}, {"LONG", long}, {"BIN", "a\x00b\nc\xff"}, {"", "no name"}, {"INVOCATION_ID", "0123"},
				{strings.Repeat("N", 200), "a long name"}}},
		{Time: at.Add(2 * time.Second), Mono: 7 * time.Second, Unit: "b.service", Stream: "stderr", Priority: 0, Text: ""},
		{Time: at.Add(3 * time.Second), Mono: 8 * time.Second, Unit: "a.service", Stream: "stdout", Priority: 6,
			Text: "", Fields: []Field{{"ONLY", "fields"}}},
	}
	for _, l := range in {
		s.Append(l)
	}
	got := s.Query(nil, 0, time.Time{})
	if len(got) != len(in) {
		t.Fatalf("%d lines, want %d", len(got), len(in))
	}
	for i := range in {
		want := in[i]
		want.Seq = uint64(i + 1)
		g := got[i]
		if !g.Time.Equal(want.Time) {
			t.Errorf("line %d: Time %v, want %v", i, g.Time, want.Time)
		}
		g.Time = want.Time
		if !reflect.DeepEqual(g, want) {
			t.Errorf("line %d:\n got %+v\nwant %+v", i, g, want)
		}
	}
	if got[0].Source != src {
		t.Errorf("the Source is not the one appended")
	}
}

// TestUnitBytesBound: a unit's lines are bounded by SetUnitBytes (each line counted as
// lineSize) each on its own, the newest kept whatever its size.
func TestUnitBytesBound(t *testing.T) {
	s := NewStore(100, "")
	defer s.Close()
	text := strings.Repeat("x", 100)
	per := lineSize(&Line{Text: text, Fields: []Field{{"K", "v"}}}) // 160 + 100 + 32 + 2
	s.SetUnitBytes(3 * per)
	for i := 0; i < 10; i++ {
		s.Append(Line{Unit: "a.service", Text: text, Fields: []Field{{"K", "v"}}})
		s.Append(Line{Unit: "b.service", Text: "b"})
	}
	if n := len(s.Query([]string{"a.service"}, 0, time.Time{})); n != 3 {
		t.Errorf("a.service: %d lines kept, want 3", n)
	}
	if n, want := len(s.Query([]string{"b.service"}, 0, time.Time{})), 3*per/lineSize(&Line{Text: "b"}); n != want {
		t.Errorf("b.service: %d lines kept, want %d", n, want)
	}
	s.Append(Line{Unit: "a.service", Text: strings.Repeat("y", 10*per)})
	got := s.Query([]string{"a.service"}, 0, time.Time{})
	if len(got) != 1 || len(got[0].Text) != 10*per {
		t.Errorf("after a line beyond the bound: %d lines, want the big one alone", len(got))
	}
	s.mu.Lock()
	r := s.units["a.service"]
	if want := int64(lineOverhead + 10*per); r.bytes != want {
		t.Errorf("a.service holds %d bytes, want %d", r.bytes, want)
	}
	s.mu.Unlock()
}

// TestRingGrowsFromOne: a unit that logged one line holds one entry.
func TestRingGrowsFromOne(t *testing.T) {
	s := NewStore(1000, "")
	defer s.Close()
	s.Append(Line{Unit: "one.socket", Text: "Listening on one.socket."})
	for i := 0; i < 5; i++ {
		s.Append(Line{Unit: "five.service", Text: "x"})
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := len(s.units["one.socket"].buf); n != 1 {
		t.Errorf("one line: %d entries allocated, want 1", n)
	}
	if n := len(s.units["five.service"].buf); n != 8 {
		t.Errorf("five lines: %d entries allocated, want 8", n)
	}
}

// TestEntrySize: a kept line's entry fills one 64-byte size class.
func TestEntrySize(t *testing.T) {
	if n := unsafe.Sizeof(entry{}); n > 64 {
		t.Errorf("entry is %d bytes, more than 64", n)
	}
}

// TestKnownFieldsShort: a line's known field names take two bytes each.
func TestKnownFieldsShort(t *testing.T) {
	fs := []Field{{"MESSAGE_ID", "x"}, {"JOB_ID", "7"}, {"INVOCATION_ID", ""}}
	if b := encodeFields(nil, fs); len(b) != 3*2+3+2 {
		t.Errorf("encoded as %d bytes %q, want 11", len(b), b)
	}
	if got := decodeFields(string(encodeFields(nil, fs))); !reflect.DeepEqual(got, fs) {
		t.Errorf("decoded %v, want %v", got, fs)
	}
	if len(knownFields) > 256 {
		t.Errorf("%d known fields: more than a byte indexes", len(knownFields))
	}
}
