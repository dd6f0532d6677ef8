package journal

import (
	"encoding/binary"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/flint-init/flint/internal/logs"
)

func binaryField(name string, value string) string {
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(value)))
	return name + "\n" + string(n[:]) + value + "\n"
}

func collect(buf string) []*Entry {
	var out []*Entry
	ParseNative([]byte(buf), func(e *Entry) { out = append(out, e) })
	return out
}

func fieldsString(fs []logs.Field) string {
	var b strings.Builder
	for _, f := range fs {
		b.WriteString(f.Name + "=" + f.Value + ";")
	}
	return b.String()
}

func TestParseNative(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		entries int
		msg     string // of the first entry
		fields  string // of the first entry
		level   int
		prio    int
		ident   string
	}{
		{"plain", "MESSAGE=hello\nPRIORITY=3\nSYSLOG_IDENTIFIER=app\n", 1, "hello", "PRIORITY=3;SYSLOG_IDENTIFIER=app;", 3, 3, "app"},
		{"binary value with newline", "MESSAGE=x\n" + binaryField("DATA", "a\nb=c\x00d"), 1, "x", "DATA=a\nb=c\x00d;", -1, 6, ""},
		{"binary message", binaryField("MESSAGE", "line1\nline2"), 1, "line1\nline2", "", -1, 6, ""},
		{"protected and invalid names dropped", "_PID=1\nlower=x\n1ABC=x\nMESSAGE=m\nOK_1=y\n", 1, "m", "OK_1=y;", -1, 6, ""},
		{"comments and control lines", "# comment\n.control\nMESSAGE=m\n", 1, "m", "", -1, 6, ""},
		{"two entries", "MESSAGE=a\n\nMESSAGE=b\n", 2, "a", "", -1, 6, ""},
		{"facility", "MESSAGE=a\nSYSLOG_FACILITY=10\nPRIORITY=4\n", 1, "a", "SYSLOG_FACILITY=10;PRIORITY=4;", 4, 10<<3 | 4, ""},
		{"priority 9 is no level", "MESSAGE=a\nPRIORITY=9\n", 1, "a", "PRIORITY=9;", -1, 9, ""},
		{"bad priority kept as a field", "MESSAGE=a\nPRIORITY=33\n", 1, "a", "PRIORITY=33;", -1, 6, ""},
		{"trailing noise keeps the entry", "MESSAGE=a\nnoise", 1, "a", "", -1, 6, ""},
		{"truncated binary field", "MESSAGE=a\nDATA\n\x05\x00", 1, "a", "", -1, 6, ""},
		{"binary field without its newline", "MESSAGE=a\n" + strings.TrimSuffix(binaryField("DATA", "xy"), "\n") + "Z", 1, "a", "", -1, 6, ""},
		{"huge binary length", "MESSAGE=a\nDATA\n\xff\xff\xff\xff\xff\xff\xff\xff\n", 0, "", "", 0, 0, ""},
		{"empty", "", 0, "", "", 0, 0, ""},
		{"only separators", "\n\n\n", 0, "", "", 0, 0, ""},
		{"name too long", strings.Repeat("A", 65) + "=x\nMESSAGE=m\n", 1, "m", "", -1, 6, ""},
		{"identifier up to NUL", "SYSLOG_IDENTIFIER=ab\x00cd\nMESSAGE=m\n", 1, "m", "SYSLOG_IDENTIFIER=ab\x00cd;", -1, 6, "ab"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			es := collect(tc.in)
			if len(es) != tc.entries {
				t.Fatalf("%d entries, want %d", len(es), tc.entries)
			}
			if len(es) == 0 {
				return
			}
			e := es[0]
			if e.Message != tc.msg || fieldsString(e.Fields) != tc.fields || e.Level != tc.level || e.Priority != tc.prio || e.Identifier != tc.ident {
				t.Errorf("got msg %q fields %q level %d prio %d ident %q", e.Message, fieldsString(e.Fields), e.Level, e.Priority, e.Identifier)
			}
		})
	}
}

func TestParseNativeLimits(t *testing.T) {
	var b strings.Builder
	for i := 0; i <= MaxFields+1; i++ {
		b.WriteString("F=x\n")
	}
	if es := collect(b.String()); len(es) != 0 {
		t.Errorf("an entry of %d fields was kept", MaxFields+2)
	}
	big := "MESSAGE=" + strings.Repeat("x", MaxEntryBytes) + "\n"
	if es := collect(big); len(es) != 0 {
		t.Errorf("an entry above MaxEntryBytes was kept")
	}
	ok := "MESSAGE=" + strings.Repeat("x", 300<<10) + "\n"
	if es := collect(ok); len(es) != 1 || len(es[0].Message) != 300<<10 {
		t.Errorf("a 300 KiB message was not kept whole")
	}
}

func TestParseSyslog(t *testing.T) {
	tests := []struct {
		name, in string
		want     Syslog
	}{
		{"rfc3164", "<28>Dec  7 12:00:01 app[42]: hello world", Syslog{Priority: 28, Identifier: "app", HasIdentifier: true,
			PID: "42", HasPID: true, Timestamp: "Dec  7 12:00:01 ", Message: "hello world"}},
		{"no pid", "<13>Dec 17 02:03:04 tag: text", Syslog{Priority: 13, Identifier: "tag", HasIdentifier: true,
			Timestamp: "Dec 17 02:03:04 ", Message: "text"}},
		// journald 252 reads RFC 5424's priority only; the rest is the message.
		{"rfc5424", "<11>1 2026-12-07T12:00:00.123456+00:00 host tag 42 - [timeQuality tzKnown=\"1\"] text",
			Syslog{Priority: 11, Message: "1 2026-12-07T12:00:00.123456+00:00 host tag 42 - [timeQuality tzKnown=\"1\"] text", StoreRaw: true,
				Raw: "<11>1 2026-12-07T12:00:00.123456+00:00 host tag 42 - [timeQuality tzKnown=\"1\"] text"}},
		{"no priority", "Dec  7 12:00:01 app: x", Syslog{Priority: 14, Identifier: "app", HasIdentifier: true,
			Timestamp: "Dec  7 12:00:01 ", Message: "x"}},
		{"no timestamp", "<14>app[7]: x", Syslog{Priority: 14, Identifier: "app", HasIdentifier: true, PID: "7", HasPID: true,
			Message: "x", StoreRaw: true, Raw: "<14>app[7]: x"}},
		{"whitespace stripped", "  <14>Dec  7 12:00:01 a: x \n\x00", Syslog{Priority: 14, Identifier: "a", HasIdentifier: true,
			Timestamp: "Dec  7 12:00:01 ", Message: "x", StoreRaw: true, Raw: "  <14>Dec  7 12:00:01 a: x \n\x00"}},
		{"NUL cuts", "<14>Dec  7 12:00:01 a: x\x00y", Syslog{Priority: 14, Identifier: "a", HasIdentifier: true,
			Timestamp: "Dec  7 12:00:01 ", Message: "x", StoreRaw: true, Raw: "<14>Dec  7 12:00:01 a: x\x00y"}},
		{"empty identifier", "<14>Dec  7 12:00:01 : x", Syslog{Priority: 14, HasIdentifier: true,
			Timestamp: "Dec  7 12:00:01 ", Message: "x"}},
		{"bracket without opening", "<14>Dec  7 12:00:01 a]: x", Syslog{Priority: 14, Identifier: "a]", HasIdentifier: true,
			Timestamp: "Dec  7 12:00:01 ", Message: "x"}},
		{"priority 999", "<999>Dec  7 12:00:01 a: x", Syslog{Priority: 999, Identifier: "a", HasIdentifier: true,
			Timestamp: "Dec  7 12:00:01 ", Message: "x"}},
		{"bad priority", "<1a>Dec  7 12:00:01 a: x", Syslog{Priority: 14, Message: "<1a>Dec  7 12:00:01 a: x", StoreRaw: true,
			Raw: "<1a>Dec  7 12:00:01 a: x"}},
		{"only whitespace", " \t ", Syslog{Priority: 14, StoreRaw: true, Raw: " \t "}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := ParseSyslog([]byte(tc.in))
			if !ok || got != tc.want {
				t.Errorf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
	if _, ok := ParseSyslog(nil); ok {
		t.Error("an empty datagram was read")
	}
	s, _ := ParseSyslog([]byte("<28>Dec  7 12:00:01 app[42]: hello"))
	if got := fieldsString(s.Fields()); got != "PRIORITY=4;SYSLOG_FACILITY=3;SYSLOG_IDENTIFIER=app;SYSLOG_PID=42;SYSLOG_TIMESTAMP=Dec  7 12:00:01 ;" {
		t.Errorf("fields %q", got)
	}
}

func TestStreamHeader(t *testing.T) {
	var h streamHeader
	for _, l := range []string{" ident ", "web.service", "30", "1", "0", "0", "0"} {
		if err := h.header(l, true); err != nil {
			t.Fatal(err)
		}
	}
	if !h.running() || h.Identifier != "ident" || h.UnitID != "web.service" || h.Priority != 30 || !h.LevelPrefix {
		t.Fatalf("header %+v", h)
	}
	for _, tc := range []struct {
		in, msg string
		prio    int
		ok      bool
	}{
		{"<3>err  ", "err", 3 | 24, true},
		{"<03>err", "err", 3 | 24, true},
		{"<8>x", "<8>x", 30, true},
		{"<13>x", "<13>x", 30, true},
		{"  lead", "  lead", 30, true},
		{"<5>", "", 0, false},
		{" \t", "", 0, false},
	} {
		prio, msg, ok := h.line([]byte(tc.in))
		if ok != tc.ok || ok && (msg != tc.msg || prio != tc.prio) {
			t.Errorf("%q: %d %q %v", tc.in, prio, msg, ok)
		}
	}
	var u streamHeader
	u.header("x", false)
	u.header("web.service", false)
	if u.UnitID != "" {
		t.Error("a unit id from a user was taken")
	}
	var bad streamHeader
	for i, l := range []string{"x", "", "1000"} {
		err := bad.header(l, true)
		if (err != nil) != (i == 2) {
			t.Errorf("line %d %q: %v", i, l, err)
		}
	}
}

func TestStreamReader(t *testing.T) {
	in := "a\nb\x00" + strings.Repeat("x", LineMax+3) + "\nlast"
	sr := &streamReader{r: iotest.OneByteReader(strings.NewReader(in))}
	var got []string
	for {
		b, brk, err := sr.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, strings.ReplaceAll(string(b), strings.Repeat("x", 10), "X")+"|"+brk.field())
	}
	want := []string{"a|", "b|nul", strings.Repeat("X", LineMax/10) + strings.Repeat("x", LineMax%10) + "|line-max", "xxx|", "last|eof"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("got %q", got)
	}
}
