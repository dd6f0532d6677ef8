package logs

import (
	"bytes"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/flint-init/flint/internal/spawn"
)

// pipeLines writes chunks into a Pipe, closes it and returns the stored lines.
func pipeLines(t testing.TB, chunks ...string) []Line {
	t.Helper()
	s := NewStore(10000, "")
	defer s.Close()
	w, err := s.Pipe("x.service", "stdout", 7, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range chunks {
		if _, err := w.WriteString(c); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	waitReaders(t, s)
	return s.Query(nil, 0, time.Time{})
}

// waitReaders waits until the store's pipe readers are done.
func waitReaders(t testing.TB, s *Store) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s.mu.Lock()
		n := len(s.readers)
		s.mu.Unlock()
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("pipe reader did not finish")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestPipeLines(t *testing.T) {
	long := strings.Repeat("x", MaxLineBytes+10)
	tests := []struct {
		name   string
		chunks []string
		want   []string
		prios  []int
	}{
		{"simple", []string{"a\nb\n"}, []string{"a", "b"}, []int{6, 6}},
		{"split writes", []string{"he", "llo\nwor", "ld\n"}, []string{"hello", "world"}, []int{6, 6}},
		{"partial final line", []string{"one\ntwo"}, []string{"one", "two"}, []int{6, 6}},
		{"empty lines kept", []string{"\n\nx\n"}, []string{"", "", "x"}, []int{6, 6, 6}},
		{"priority prefix", []string{"<3>bad\n<7>dbg\nplain\n"}, []string{"bad", "dbg", "plain"}, []int{3, 7, 6}},
		{"long line split", []string{long + "\n"}, []string{long[:MaxLineBytes], "xxxxxxxxxx"}, []int{6, 6}},
		{"exactly the maximum", []string{long[:MaxLineBytes] + "\nnext\n"}, []string{long[:MaxLineBytes], "next"}, []int{6, 6}},
		{"one under the maximum", []string{long[:MaxLineBytes-1] + "\n"}, []string{long[:MaxLineBytes-1]}, []int{6}},
		{"nothing", nil, nil, nil},
		{"carriage return kept", []string{"a\r\n"}, []string{"a\r"}, []int{6}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ls := pipeLines(t, tt.chunks...)
			if got := texts(ls); !slices.Equal(got, tt.want) {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
			for i, l := range ls {
				if l.Priority != tt.prios[i] || l.PID != 7 || l.Stream != "stdout" || l.Unit != "x.service" {
					t.Errorf("line %d: %+v", i, l)
				}
			}
		})
	}
}

func TestPipeIsBlockingForTheChild(t *testing.T) {
	s := NewStore(10, "")
	defer s.Close()
	w, err := s.Pipe("a", "stdout", 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	rc, _ := w.SyscallConn()
	var flags int
	rc.Control(func(fd uintptr) {
		flags, _, _ = syscallFcntl(fd, syscall.F_GETFL)
	})
	if flags&syscall.O_NONBLOCK != 0 {
		t.Error("write end handed to the child is non-blocking")
	}
}

func syscallFcntl(fd uintptr, cmd int) (int, int, error) {
	r, _, e := syscall.Syscall(syscall.SYS_FCNTL, fd, uintptr(cmd), 0)
	if e != 0 {
		return 0, 0, e
	}
	return int(r), 0, nil
}

// TestPipeFromChild starts a real process writing to stdout and stderr pipes through spawn.
func TestPipeFromChild(t *testing.T) {
	s := NewStore(100, "")
	defer s.Close()
	ch, cancel := s.Follow(&Filter{Units: []string{"child.service"}})
	defer cancel()
	out, err := s.Pipe("child.service", "stdout", 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	errw, err := s.Pipe("child.service", "stderr", 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := spawn.Start(&spawn.Config{Path: "/bin/sh", Argv: []string{"sh", "-c",
		`echo "out $$"; echo "<4>warn" >&2; sleep 0.2; printf "last"`},
		Stdout: out, Stderr: errw})
	out.Close() // the child has its copies
	errw.Close()
	if err != nil {
		t.Fatal(err)
	}
	s.SetPID(out, p.Pid)
	s.SetPID(errw, p.Pid)
	if err := p.ExecResult(); err != nil {
		t.Fatal(err)
	}
	var ws syscall.WaitStatus
	if _, err := syscall.Wait4(p.Pid, &ws, 0, nil); err != nil {
		t.Fatal(err)
	}
	var got []Line
	timeout := time.After(10 * time.Second)
	for len(got) < 3 {
		select {
		case l := <-ch:
			got = append(got, *l)
		case <-timeout:
			t.Fatalf("got only %+v", got)
		}
	}
	byText := map[string]Line{}
	for _, l := range got {
		byText[l.Text] = l
	}
	pidText := "out " + strconv.Itoa(p.Pid)
	checks := []struct {
		text, stream string
		prio         int
	}{{pidText, "stdout", 6}, {"warn", "stderr", 4}, {"last", "stdout", 6}}
	for _, c := range checks {
		l, ok := byText[c.text]
		if !ok {
			t.Errorf("line %q missing in %+v", c.text, got)
			continue
		}
		if l.Stream != c.stream || l.Priority != c.prio {
			t.Errorf("line %q: stream %s prio %d, want %s %d", c.text, l.Stream, l.Priority, c.stream, c.prio)
		}
	}
	if l := byText["last"]; l.PID != p.Pid {
		t.Errorf("line after SetPID has PID %d, want %d", l.PID, p.Pid)
	}
}

func FuzzPipe(f *testing.F) {
	f.Add([]byte("a\nb"), 1)
	f.Add([]byte("<3>x\n\n<9>y"), 2)
	f.Add(bytes.Repeat([]byte("z"), MaxLineBytes+1), 3)
	f.Fuzz(func(t *testing.T, data []byte, split int) {
		if split < 1 {
			split = 1
		}
		var chunks []string
		for i := 0; i < len(data); i += split {
			chunks = append(chunks, string(data[i:min(len(data), i+split)]))
		}
		ls := pipeLines(t, chunks...)
		for _, l := range ls {
			if len(l.Text) > MaxLineBytes {
				t.Fatalf("line of %d bytes", len(l.Text))
			}
		}
		var want int
		for _, c := range strings.SplitAfter(string(data), "\n") {
			if c == "" {
				continue
			}
			body := strings.TrimSuffix(c, "\n")
			want += max(1, (len(body)+MaxLineBytes-1)/MaxLineBytes)
		}
		if len(ls) != want {
			t.Fatalf("%d lines, want %d", len(ls), want)
		}
	})
}

// TestPipeDeferred: a deferred pipe's reader starts at StartReaders, and what was written
// before is stored then, in order; a store closed with readers still pending does not hang.
func TestPipeDeferred(t *testing.T) {
	s := NewStore(100, "")
	defer s.Close()
	w, err := s.PipeDeferred("x.service", "stdout", nil)
	if err != nil {
		t.Fatal(err)
	}
	s.SetPID(w, 9)
	if _, err := w.WriteString("one\ntwo\n"); err != nil {
		t.Fatal(err)
	}
	w.Close()
	s.mu.Lock()
	pending := len(s.pending)
	s.mu.Unlock()
	if pending != 1 {
		t.Fatalf("%d readers pending before StartReaders, want 1", pending)
	}
	if got := s.Query(nil, 0, time.Time{}); len(got) != 0 {
		t.Fatalf("lines stored before StartReaders: %v", got)
	}
	s.StartReaders()
	waitReaders(t, s)
	var texts []string
	for _, l := range s.Query(nil, 0, time.Time{}) {
		texts = append(texts, l.Text)
		if l.PID != 9 || l.Stream != "stdout" {
			t.Errorf("line %+v, want PID 9 on stdout", l)
		}
	}
	if !slices.Equal(texts, []string{"one", "two"}) {
		t.Errorf("lines %q, want one, two", texts)
	}

	s2 := NewStore(100, "")
	w2, err := s2.PipeDeferred("y.service", "stdout", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w2.Close()
	done := make(chan error)
	go func() { done <- s2.Close() }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Close with a reader pending did not return")
	}
}
