package logs

import (
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// journal is the entries of the journalctl 252 session the Position cases were taken from:
// two.service's nine entries, from 16:57:10 to 16:57:31.
func journal() []Line {
	t := func(s string) time.Time {
		v, _ := time.Parse("15:04:05.000", s)
		return v
	}
	var es []Line
	for i, e := range []struct{ at, text string }{
		{"16:57:18.000", "Starting"},
		{"16:57:18.100", "pre"},
		{"16:57:18.200", "Started"},
		{"16:57:18.300", "started"},
		{"16:57:18.900", "Main process exited"},
		{"16:57:30.050", "Starting 2"},
		{"16:57:30.100", "pre 2"},
		{"16:57:30.200", "Started 2"},
		{"16:57:30.300", "started 2"},
		{"16:57:31.000", "Main process exited 2"},
		{"16:57:31.100", "Failed 2"},
	} {
		es = append(es, Line{Seq: uint64(i + 1), Time: t(e.at), Mono: time.Duration(i+1) * time.Second, Text: e.text})
	}
	return es
}

func TestPosition(t *testing.T) {
	at := func(s string) time.Time {
		v, _ := time.Parse("15:04:05", s)
		return v
	}
	cur := func(seq uint64) *Cursor { return &Cursor{Store: "s1", Seq: seq} }
	tests := []struct {
		name string
		r    Range
		want []string
	}{
		{"all", Range{Lines: -1}, []string{"Starting", "pre", "Started", "started", "Main process exited", "Starting 2", "pre 2", "Started 2", "started 2", "Main process exited 2", "Failed 2"}},
		{"last n", Range{Lines: 2}, []string{"Main process exited 2", "Failed 2"}},
		{"n 0", Range{Lines: 0}, nil},
		{"reverse n", Range{Lines: 2, Reverse: true}, []string{"Failed 2", "Main process exited 2"}},
		// journalctl --since X -n 2: the first two from X on.
		{"since n", Range{Since: at("16:57:29"), Lines: 2}, []string{"Starting 2", "pre 2"}},
		// -r: from the end back to X.
		{"since n reverse", Range{Since: at("16:57:29"), Lines: 2, Reverse: true}, []string{"Failed 2", "Main process exited 2"}},
		{"since until", Range{Since: at("16:57:29"), Until: at("16:57:31"), Lines: -1}, []string{"Starting 2", "pre 2", "Started 2", "started 2", "Main process exited 2"}},
		// --until X -n 2: the last two of all, cut at X: none here.
		{"until n", Range{Until: at("16:57:20"), Lines: 2}, nil},
		{"until n reverse", Range{Until: at("16:57:20"), Lines: 2, Reverse: true}, []string{"Main process exited", "started"}},
		{"since until reverse", Range{Since: at("16:57:20"), Until: at("16:57:31"), Lines: 3, Reverse: true}, []string{"Main process exited 2", "started 2", "Started 2"}},
		{"empty range", Range{Since: at("16:57:29"), Until: at("16:57:30"), Lines: 2}, nil},
		{"cursor", Range{Cursor: cur(10), Lines: -1}, []string{"Main process exited 2", "Failed 2"}},
		{"after cursor", Range{Cursor: cur(10), AfterCursor: true, Lines: -1}, []string{"Failed 2"}},
		{"after last", Range{Cursor: cur(11), AfterCursor: true, Lines: -1}, nil},
		{"cursor reverse", Range{Cursor: cur(10), Lines: 2, Reverse: true}, []string{"Main process exited 2", "started 2"}},
		{"after cursor reverse", Range{Cursor: cur(10), AfterCursor: true, Lines: 1, Reverse: true}, []string{"started 2"}},
		// A cursor of another store places by the monotonic clock (same boot) or the wall clock.
		{"cursor by mono", Range{Cursor: &Cursor{Store: "other0000000000000000000000000000"[:32], Seq: 1, Boot: BootID(), Mono: 10 * time.Second}, Lines: -1}, []string{"Main process exited 2", "Failed 2"}},
		{"cursor by time", Range{Cursor: &Cursor{Time: at("16:57:31")}, Lines: -1}, []string{"Main process exited 2", "Failed 2"}},
		{"cursor past the end", Range{Cursor: &Cursor{Time: at("17:00:00")}, Lines: -1}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := texts(Position(journal(), tt.r, "s1")); !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestFilter(t *testing.T) {
	sh := &Source{Ident: "sh"}
	sd := &Source{Ident: "systemd"}
	lines := []Line{
		{Unit: "web.service", Priority: 6, Text: "hello out", Source: sh},
		{Unit: "web.service", Priority: 3, Text: "boom", Source: sh},
		{Unit: "web.socket", Priority: 6, Text: "Listening on web.socket.", Source: sd},
		{Unit: "db.service", Priority: 4, Text: "db: Failed with result 'exit-code'.", Source: sd},
		{Unit: "a[1].service", Priority: 6, Text: "odd name"},
	}
	tests := []struct {
		name string
		f    Filter
		want []string
	}{
		{"none", Filter{}, []string{"hello out", "boom", "Listening on web.socket.", "db: Failed with result 'exit-code'.", "odd name"}},
		{"unit", Filter{Units: []string{"web.service"}}, []string{"hello out", "boom"}},
		{"glob", Filter{Units: []string{"web.*"}}, []string{"hello out", "boom", "Listening on web.socket."}},
		{"several", Filter{Units: []string{"db.service", "web.socket"}}, []string{"Listening on web.socket.", "db: Failed with result 'exit-code'."}},
		{"exact name with glob characters", Filter{Units: exactNames([]string{"a[1].service"})}, []string{"odd name"}},
		{"priority err", Filter{Priorities: 0b1111}, []string{"boom"}},
		{"priority range", Filter{Priorities: 0b11000}, []string{"boom", "db: Failed with result 'exit-code'."}},
		{"identifier", Filter{Identifiers: []string{"systemd"}}, []string{"Listening on web.socket.", "db: Failed with result 'exit-code'."}},
		{"identifiers or", Filter{Identifiers: []string{"systemd", "sh"}, Units: []string{"web.*"}}, []string{"hello out", "boom", "Listening on web.socket."}},
		{"grep", Filter{Grep: regexp.MustCompile(`(?i)FAIL`)}, []string{"db: Failed with result 'exit-code'."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for i := range lines {
				if tt.f.Match(&lines[i]) {
					got = append(got, lines[i].Text)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCursor(t *testing.T) {
	s := NewStore(10, "")
	defer s.Close()
	s.Append(Line{Unit: "a", Text: "one"})
	s.Append(Line{Unit: "a", Text: "two"})
	ls := s.Query(nil, 0, time.Time{})
	c := CursorOf(&ls[0], s.ID())
	if !regexp.MustCompile(`^s=[0-9a-f]{32};i=1;b=[0-9a-f]{32};m=[0-9a-f]+;t=[0-9a-f]+;x=[0-9a-f]+$`).MatchString(c) {
		t.Fatalf("cursor %q", c)
	}
	p, err := ParseCursor(c)
	if err != nil {
		t.Fatal(err)
	}
	if got := texts(s.Select(nil, Range{Cursor: p, AfterCursor: true, Lines: -1})); !slices.Equal(got, []string{"two"}) {
		t.Errorf("after its own cursor: %q", got)
	}
	for _, bad := range []string{"", "bogus", "s=1;i=2", "i=5", "s=" + s.ID(), "t=zz", "s=" + s.ID() + ";i=", "b=" + strings.Repeat("0", 32)} {
		if _, err := ParseCursor(bad); err == nil {
			t.Errorf("ParseCursor(%q) accepted", bad)
		}
	}
	for _, good := range []string{"t=6620e1f1d0d1d", "s=" + s.ID() + ";i=1", "s=470e97d7bf434fb0adaa6213d6565ba7;i=174;b=7d3d15eb54ab47aa9c85c75ae82584f1;m=1e3604afe;t=6620e1f1d0d1d;x=5307986b0aea370;y=ignored"} {
		if _, err := ParseCursor(good); err != nil {
			t.Errorf("ParseCursor(%q): %v", good, err)
		}
	}
}

// TestSync: what a process wrote to its pipe before it was reaped is stored when Sync
// returns, so that the manager's message about its exit comes after it.
func TestSync(t *testing.T) {
	s := NewStore(100, "")
	defer s.Close()
	for i := 0; i < 20; i++ {
		w, err := s.Pipe("x.service", "stdout", 0, &Source{Ident: "sh"})
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("/bin/sh", "-c", "echo first; echo second")
		cmd.Stdout = w
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		s.SetPID(w, cmd.Process.Pid)
		w.Close()
		cmd.Wait()
		s.Sync(cmd.Process.Pid)
		s.Append(Line{Unit: "x.service", Stream: "manager", Text: "exited"})
		got := texts(s.Query(nil, 3, time.Time{}))
		if !slices.Equal(got, []string{"first", "second", "exited"}) {
			t.Fatalf("round %d: %q", i, got)
		}
	}
	ls := s.Query(nil, 1, time.Time{})
	if src := s.Query(nil, 2, time.Time{})[0].Source; src == nil || src.Ident != "sh" || src.Transport != "stdout" {
		t.Errorf("source of a piped line: %+v (%v)", src, ls)
	}
}
