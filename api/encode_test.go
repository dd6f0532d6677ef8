package api

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func checkAppendJSON(t *testing.T, r *Request) {
	t.Helper()
	want, werr := json.Marshal(r)
	got, gerr := r.AppendJSON(nil)
	if (werr != nil) != (gerr != nil) {
		t.Fatalf("%+v: AppendJSON error %v, json.Marshal error %v", r, gerr, werr)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%+v:\nAppendJSON   %s\njson.Marshal %s", r, got, want)
	}
	if werr == nil {
		var back Request
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatalf("%s does not decode: %v", got, err)
		}
	}
}

func TestRequestAppendJSON(t *testing.T) {
	for _, r := range []*Request{
		{},
		{Verb: "start", Units: []string{"chain.target"}, NoBlock: true},
		{Verb: "start", Units: []string{"rescue.target"}, NoBlock: true, Mode: "isolate"},
		{Verb: "list-units", All: true, Types: []string{"socket", "service"}, States: []string{"active"}},
		{Verb: "show", Units: []string{"a@x.service"}, Props: []string{"MainPID", "Id"}},
		{Verb: "kill", Units: []string{"a.service"}, Signal: 10, KillWhom: "main"},
		{Verb: "logs", Units: []string{"a.service"}, Lines: -1, Follow: true, Reverse: true,
			Since: time.Date(2026, 11, 25, 17, 0, 0, 123456789, time.FixedZone("x", 3600))},
		{Verb: "start", Units: []string{}}, // empty, not nil: omitted as well
		{Verb: "q\"b\\s/<>&\x00\x01\x1f\x7f\b\f\n\r\t", Units: []string{"é\u2028\u2029\xff\xc3(\xed\xa0\x80", ""}},
		{Verb: "logs", Since: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}, // both refuse year 10000
		{Verb: Verb(strings.Repeat("x", 5000))},
		{Verb: "set-exit-code", ExitCode: new(int)}, // 0 is written: a pointer
		{Verb: "set-exit-code", ExitCode: intp(255)},
		{Verb: "exit", ExitCode: intp(-3)},
		{Verb: "set-property", Units: []string{"a.service"}, Env: []string{"CPUQuota=20%", "A=\"b\n"}, Runtime: true},
		{Verb: "unit-by-pid", PID: 1234},
		{Verb: "unset-environment", Env: []string{}},
		{Verb: "logs", Units: []string{"web*"}, Match: &LogMatch{Identifiers: []string{"sh"}, Priorities: 0x0f, Grep: "(?i)<fail>"},
			Range: &LogRange{Lines: -1, Since: time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC), Cursor: "s=1;i=2", AfterCursor: true}, Cursors: true},
		{Verb: "logs", Match: &LogMatch{}, Range: &LogRange{}},
		{Verb: "logs", Range: &LogRange{Until: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}}, // refused by both
	} {
		checkAppendJSON(t, r)
	}
	b, _ := (&Request{Verb: "ping"}).AppendJSON([]byte("prefix "))
	if !bytes.HasPrefix(b, []byte("prefix {")) {
		t.Errorf("AppendJSON does not append: %s", b)
	}
}

func intp(n int) *int { return &n }

func FuzzRequestJSON(f *testing.F) {
	f.Add("start", "chain.target", "x", true, 0, int64(0), "")
	f.Add("kill", "a\"<\u2028\xff", "main", false, 9, int64(1764090000123456789), "b")
	f.Fuzz(func(t *testing.T, verb, u1, u2 string, flag bool, n int, since int64, s string) {
		r := &Request{Verb: Verb(verb), Units: []string{u1, u2}, NoBlock: flag, All: !flag,
			Types: []string{s}, Props: []string{u2, s}, Signal: n, KillWhom: s, Lines: -n, Mode: u2,
			Follow: flag, Reverse: !flag, Since: time.Unix(0, since).UTC(), Env: []string{s, u1}, Runtime: flag, PID: -n}
		if s == "" {
			r.Types, r.Units = nil, nil
		} else {
			r.ExitCode = intp(n / 3)
		}
		checkAppendJSON(t, r)
	})
}
