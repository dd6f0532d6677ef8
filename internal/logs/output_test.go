package logs

import (
	"os"
	"reflect"
	"testing"
	"time"
)

func TestParseLevelPrefix(t *testing.T) {
	const daemonInfo = 3<<3 | 6
	for in, want := range map[string]struct {
		prio int
		text string
	}{
		"<3>err":    {3<<3 | 3, "err"},
		"<03>err":   {3<<3 | 3, "err"},
		"<007>dbg":  {3<<3 | 7, "dbg"},
		"<8>x":      {daemonInfo, "<8>x"},
		"<13>x":     {daemonInfo, "<13>x"}, // a facility is not taken from a stdout line
		"<0003>x":   {daemonInfo, "<0003>x"},
		"<>x":       {daemonInfo, "<>x"},
		"<a>x":      {daemonInfo, "<a>x"},
		"<3":        {daemonInfo, "<3"},
		"plain":     {daemonInfo, "plain"},
		"<2>":       {3<<3 | 2, ""},
		" <2>space": {daemonInfo, " <2>space"},
	} {
		p, text := parseLevelPrefix([]byte(in), daemonInfo)
		if p != want.prio || string(text) != want.text {
			t.Errorf("%q: %d %q, want %d %q", in, p, text, want.prio, want.text)
		}
	}
}

// TestPipeOutput: the lines of a pipe whose source has an Output get its level, facility
// and fields; LogLevelMax= drops lines above it; SyslogLevelPrefix=no keeps "<N>" as text.
func TestPipeOutput(t *testing.T) {
	s := NewStore(100, "")
	defer s.Close()
	for _, c := range []struct {
		unit   string
		out    *Output
		want   []string
		prios  []int
		fields []Field
	}{
		{"a.service", NewOutput(19, 4, true, 5, []string{"FOO=bar", "E="}),
			[]string{"plain", "crit"}, []int{4, 2},
			[]Field{{"SYSLOG_FACILITY", "19"}, {"FOO", "bar"}, {"E", ""}}},
		{"b.service", NewOutput(0, 6, false, -1, nil),
			[]string{"plain", "<7>debug", "<2>crit"}, []int{6, 6, 6},
			[]Field{{"SYSLOG_FACILITY", "0"}}},
	} {
		w, err := s.Pipe(c.unit, "stdout", os.Getpid(), &Source{Ident: "x", Out: c.out})
		if err != nil {
			t.Fatal(err)
		}
		w.WriteString("plain\n<7>debug\n<2>crit\n")
		w.Close()
		var got []Line
		deadline := time.Now().Add(30 * time.Second)
		for len(got) < len(c.want) && time.Now().Before(deadline) {
			got = got[:0]
			s.mu.Lock()
			if r := s.units[c.unit]; r != nil {
				r.each(func(e *entry) {
					l := s.line(c.unit, e)
					withFields(&l, e)
					got = append(got, l)
				})
			}
			s.mu.Unlock()
			time.Sleep(time.Millisecond)
		}
		s.Sync(os.Getpid())
		if len(got) != len(c.want) {
			t.Fatalf("%s: %d lines %+v, want %q", c.unit, len(got), got, c.want)
		}
		for i, l := range got {
			if l.Text != c.want[i] || l.Priority != c.prios[i] || !reflect.DeepEqual(l.Fields, c.fields) {
				t.Errorf("%s line %d: %q prio %d fields %v, want %q %d %v", c.unit, i, l.Text, l.Priority, l.Fields, c.want[i], c.prios[i], c.fields)
			}
		}
	}
}
