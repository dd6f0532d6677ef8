package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flint-init/flint/client"
)

// The expected texts are journalctl 252's for the same entries (taken from a journal that
// systemd-journald wrote in scripts/systemd-ns; field order aside, see entryOf).

var testHost = &journalHost{bootID: "7d3d15eb54ab47aa9c85c75ae82584f1", machineID: "3d1219c7c4c5404aaa1f6d2a48adfda4", hostname: "vm"}

// testLines are an output line of a service and a message of the manager about it.
func testLines() []client.LogLine {
	at := time.Date(2026, 12, 7, 16, 57, 18, 81317000, time.UTC)
	return []client.LogLine{
		{Time: at, Mono: 8096461574, Unit: "hello.service", Stream: "stdout", PID: 58, Prio: 6, Text: "err line",
			Ident: "sh", Comm: "sh", Exe: "/usr/bin/dash", Cmdline: `/bin/sh -c "echo err line >&2"`, Transport: "stdout",
			Invocation: "fd4f41f1bea54647847a0c93b9cb37c6", StreamID: "7e81cbf62cf74124ab914a66929321ad", Cursor: "s=1;i=162"},
		{Time: at.Add(8 * time.Millisecond), Mono: 8096469817, Unit: "hello.service", Stream: "manager", PID: 1, Prio: 6,
			Text: "hello.service: Deactivated successfully.", Ident: "systemd", Comm: "systemd", Exe: "/usr/lib/systemd/systemd",
			Transport: "journal", Cursor: "s=1;i=163",
			Fields: []client.LogField{{Name: "MESSAGE_ID", Value: "7ad2d189f7e94e70a38c781354912448"}, {Name: "INVOCATION_ID", Value: "fd4f41f1bea54647847a0c93b9cb37c6"}}},
	}
}

func render(t *testing.T, mode string, set func(*journalWriter), lines ...client.LogLine) string {
	t.Helper()
	var b bytes.Buffer
	jw := newJournalWriter(&b, mode)
	jw.utc = true
	if set != nil {
		set(jw)
	}
	for _, l := range lines {
		e := entryOf(l, testHost)
		if err := jw.write(&e); err != nil {
			t.Fatal(err)
		}
	}
	return b.String()
}

func TestJournalShortModes(t *testing.T) {
	ls := testLines()
	tests := []struct {
		mode string
		set  func(*journalWriter)
		want string
	}{
		{"short", nil, "Dec 07 16:57:18 vm sh[58]: err line\nDec 07 16:57:18 vm systemd[1]: hello.service: Deactivated successfully.\n"},
		{"short-full", nil, "Mon 2026-12-07 16:57:18 UTC vm sh[58]: err line\nMon 2026-12-07 16:57:18 UTC vm systemd[1]: hello.service: Deactivated successfully.\n"},
		{"short-iso", nil, "2026-12-07T16:57:18+0000 vm sh[58]: err line\n2026-12-07T16:57:18+0000 vm systemd[1]: hello.service: Deactivated successfully.\n"},
		{"short-iso-precise", nil, "2026-12-07T16:57:18.081317+0000 vm sh[58]: err line\n2026-12-07T16:57:18.089317+0000 vm systemd[1]: hello.service: Deactivated successfully.\n"},
		{"short-precise", nil, "Dec 07 16:57:18.081317 vm sh[58]: err line\nDec 07 16:57:18.089317 vm systemd[1]: hello.service: Deactivated successfully.\n"},
		{"short-monotonic", nil, "[ 8096.461574] vm sh[58]: err line\n[ 8096.469817] vm systemd[1]: hello.service: Deactivated successfully.\n"},
		{"short-delta", nil, "[ 8096.461574                ] vm sh[58]: err line\n[ 8096.469817 <    0.008243 >] vm systemd[1]: hello.service: Deactivated successfully.\n"},
		{"short-unix", nil, "1796662638.081317 vm sh[58]: err line\n1796662638.089317 vm systemd[1]: hello.service: Deactivated successfully.\n"},
		{"with-unit", nil, "Mon 2026-12-07 16:57:18 UTC vm hello.service[58]: err line\nMon 2026-12-07 16:57:18 UTC vm systemd[1]: hello.service: Deactivated successfully.\n"},
		{"cat", nil, "err line\nhello.service: Deactivated successfully.\n"},
		{"short", func(jw *journalWriter) { jw.noHost = true }, "Dec 07 16:57:18 sh[58]: err line\nDec 07 16:57:18 systemd[1]: hello.service: Deactivated successfully.\n"},
		{"cat", func(jw *journalWriter) {
			jw.fields = map[string]bool{"_PID": true, "SYSLOG_IDENTIFIER": true}
			jw.order = []string{"SYSLOG_IDENTIFIER", "_PID"}
		}, "sh\n58\nsystemd\n1\n"},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			if got := render(t, tt.mode, tt.set, ls...); got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestJournalMessages(t *testing.T) {
	l := testLines()[0]
	tests := []struct {
		name, text string
		all        bool
		want       string
	}{
		{"terminal escape", "out\x1b[2J", false, "Dec 07 16:57:18 vm sh[58]: [7B blob data]\n"},
		{"escape shown with -a", "out\x1b[2J", true, "Dec 07 16:57:18 vm sh[58]: out\x1b[2J\n"},
		{"tab kept", "a\tb", false, "Dec 07 16:57:18 vm sh[58]: a\tb\n"},
		{"invalid UTF-8", "\xff\xfe", false, "Dec 07 16:57:18 vm sh[58]: [2B blob data]\n"},
		{"empty", "", false, "Dec 07 16:57:18 vm sh[58]: \n"},
		{"lines indented", "first\nsecond", false, "Dec 07 16:57:18 vm sh[58]: first\n                           second\n"},
		{"long blob", strings.Repeat("\x01", 2048), false, "Dec 07 16:57:18 vm sh[58]: [2.0K blob data]\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l.Text = tt.text
			if got := render(t, "short", func(jw *journalWriter) { jw.all = tt.all }, l); got != tt.want {
				t.Errorf("got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestJournalVerboseExport(t *testing.T) {
	ls := testLines()
	verbose := render(t, "verbose", nil, ls[0])
	wantVerbose := "Mon 2026-12-07 16:57:18.081317 UTC [s=1;i=162]\n" +
		"    _BOOT_ID=7d3d15eb54ab47aa9c85c75ae82584f1\n    _MACHINE_ID=3d1219c7c4c5404aaa1f6d2a48adfda4\n    _HOSTNAME=vm\n" +
		"    _RUNTIME_SCOPE=system\n    PRIORITY=6\n    SYSLOG_FACILITY=3\n    _UID=0\n    _GID=0\n    _TRANSPORT=stdout\n" +
		"    SYSLOG_IDENTIFIER=sh\n    _COMM=sh\n    _SYSTEMD_UNIT=hello.service\n    MESSAGE=err line\n    _EXE=/usr/bin/dash\n" +
		"    _CMDLINE=/bin/sh -c \"echo err line >&2\"\n    _SYSTEMD_INVOCATION_ID=fd4f41f1bea54647847a0c93b9cb37c6\n" +
		"    _STREAM_ID=7e81cbf62cf74124ab914a66929321ad\n    _PID=58\n"
	if verbose != wantVerbose {
		t.Errorf("verbose:\n%s\nwant\n%s", verbose, wantVerbose)
	}
	l := ls[1]
	l.Text = "two\nlines"
	export := render(t, "export", nil, l)
	for _, want := range []string{
		"__CURSOR=s=1;i=163\n__REALTIME_TIMESTAMP=1796662638089317\n__MONOTONIC_TIMESTAMP=8096469817\n_BOOT_ID=7d3d15eb54ab47aa9c85c75ae82584f1\n_MACHINE_ID=",
		"\nMESSAGE_ID=7ad2d189f7e94e70a38c781354912448\nINVOCATION_ID=fd4f41f1bea54647847a0c93b9cb37c6\nUNIT=hello.service\n_TRANSPORT=journal\n_PID=1\n",
		// a value with a newline: NAME, its length (64-bit little endian), the bytes
		"\nMESSAGE\n\x09\x00\x00\x00\x00\x00\x00\x00two\nlines\n_SOURCE_REALTIME_TIMESTAMP=1796662638089317\n\n",
	} {
		if !strings.Contains(export, want) {
			t.Errorf("export lacks %q:\n%q", want, export)
		}
	}
	if strings.Count(export, "_BOOT_ID=") != 1 {
		t.Errorf("export repeats _BOOT_ID:\n%s", export)
	}
}

func TestJournalJSON(t *testing.T) {
	l := testLines()[1]
	compact := render(t, "json", nil, l)
	var m map[string]any
	if err := json.Unmarshal([]byte(compact), &m); err != nil || !strings.HasSuffix(compact, "}\n") || strings.Count(compact, "\n") != 1 {
		t.Fatalf("json: %v\n%s", err, compact)
	}
	for k, v := range map[string]string{"MESSAGE": "hello.service: Deactivated successfully.", "PRIORITY": "6", "_PID": "1",
		"SYSLOG_IDENTIFIER": "systemd", "UNIT": "hello.service", "MESSAGE_ID": "7ad2d189f7e94e70a38c781354912448",
		"__REALTIME_TIMESTAMP": "1796662638089317", "__MONOTONIC_TIMESTAMP": "8096469817", "__CURSOR": "s=1;i=163",
		"_BOOT_ID": "7d3d15eb54ab47aa9c85c75ae82584f1", "_TRANSPORT": "journal", "_SOURCE_REALTIME_TIMESTAMP": "1796662638089317"} {
		if m[k] != v {
			t.Errorf("json %s = %v, want %q", k, m[k], v)
		}
	}
	if !strings.HasPrefix(compact, `{"__CURSOR":"s=1;i=163","__REALTIME_TIMESTAMP":"1796662638089317",`) {
		t.Errorf("json is not compact: %s", compact)
	}
	pretty := render(t, "json-pretty", nil, l)
	if !strings.HasPrefix(pretty, "{\n\t\"__CURSOR\" : \"s=1;i=163\",\n\t\"__REALTIME_TIMESTAMP\" : ") || !strings.HasSuffix(pretty, "\"\n}\n") {
		t.Errorf("json-pretty:\n%s", pretty)
	}
	if got := render(t, "json-sse", nil, l); got != "data: "+compact+"\n" {
		t.Errorf("json-sse: %q", got)
	}
	if got := render(t, "json-seq", nil, l); got != "\x1e"+compact {
		t.Errorf("json-seq: %q", got)
	}
	l.Text = "a\x01b\"\\"
	if got := render(t, "json", nil, l); !strings.Contains(got, `"MESSAGE":[97,1,98,34,92]`) {
		t.Errorf("json of a value that is no text: %s", got)
	}
	l.Text = "quote\" back\\ tab\t nl\n"
	if got := render(t, "json", nil, l); !strings.Contains(got, `"MESSAGE":"quote\" back\\ tab\t nl\n"`) {
		t.Errorf("json escapes: %s", got)
	}
	l.Text = strings.Repeat("x", 4097)
	if got := render(t, "json", nil, l); !strings.Contains(got, `"MESSAGE":null`) {
		t.Errorf("json of a long value: %.200s", got)
	}
	if got := render(t, "json", func(jw *journalWriter) { jw.fields = map[string]bool{"MESSAGE": true} }, testLines()[0]); strings.Count(got, `":`) != 5 || !strings.Contains(got, `"_BOOT_ID"`) {
		t.Errorf("json --output-fields=MESSAGE: %s", got)
	}
}

// TestJournalCatalog: -x adds the catalog text of a message's MESSAGE_ID, its variables
// replaced by the entry's fields, each line behind "░░ ".
func TestJournalCatalog(t *testing.T) {
	dir := t.TempDir()
	cat := "# comment\n-- 7ad2d189f7e94e70a38c781354912448\nSubject: Unit succeeded\nDefined-By: systemd\n\nThe unit @UNIT@ has successfully entered the 'dead' state (@NOPE@).\n\n" +
		"-- 7ad2d189f7e94e70a38c781354912448 de\nSubject: Unit erfolgreich\n"
	if err := os.WriteFile(filepath.Join(dir, "systemd.catalog"), []byte(cat), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("LANG", "C.UTF-8")
	c := loadCatalog([]string{dir})
	got := render(t, "short", func(jw *journalWriter) { jw.catalog = c }, testLines()...)
	want := "Dec 07 16:57:18 vm sh[58]: err line\nDec 07 16:57:18 vm systemd[1]: hello.service: Deactivated successfully.\n" +
		"░░ Subject: Unit succeeded\n░░ Defined-By: systemd\n░░ \n░░ The unit hello.service has successfully entered the 'dead' state (@NOPE@).\n"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	t.Setenv("LANG", "C")
	if c := loadCatalog([]string{dir}); c.prefix != "--" {
		t.Errorf("prefix in the C locale: %q", c.prefix)
	}
}

func TestParsePriorities(t *testing.T) {
	for _, tc := range []struct {
		in   string
		mask uint8
		err  string
	}{
		{"err", 0b1111, ""},
		{"3", 0b1111, ""},
		{"emerg", 0b1, ""},
		{"debug", 0xff, ""},
		{"3..5", 0b111000, ""},
		{"5..3", 0b111000, ""},
		{"info..err", 0b1111000, ""},
		{"bogus", 0, "Unknown log level bogus"},
		{"9", 0, "Unknown log level 9"},
		{"2..9", 0, "Failed to parse log level range 2..9"},
	} {
		m, err := parsePriorities(tc.in)
		if m != tc.mask || err != tc.err {
			t.Errorf("parsePriorities(%q) = %b %q, want %b %q", tc.in, m, err, tc.mask, tc.err)
		}
	}
}

func TestParseBoot(t *testing.T) {
	id := "7d3d15eb54ab47aa9c85c75ae82584f1"
	for _, tc := range []struct {
		in     string
		ok     bool
		id     string
		offset int
	}{
		{"", true, "", 0}, {"0", true, "", 0}, {"-1", true, "", -1}, {"+2", true, "", 2}, {"1", true, "", 1},
		{id, true, id, 0}, {id + "-1", true, id, -1}, {id + "+0", true, id, 0},
		{"bogus", false, "", 0}, {id + "x", false, "", 0}, {"1.5", false, "", 0},
	} {
		b, ok := parseBoot(tc.in)
		if ok != tc.ok || ok && (b.id != tc.id || b.offset != tc.offset) {
			t.Errorf("parseBoot(%q) = %+v %v, want %q %d %v", tc.in, b, ok, tc.id, tc.offset, tc.ok)
		}
	}
}

// TestParseLogsErrors: journalctl's messages and exit codes for what it refuses.
func TestParseLogsErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-o", "bogus"}, "Unknown output format 'bogus'.\n"},
		{[]string{"-p", "bogus"}, "Unknown log level bogus\n"},
		{[]string{"-p", "2..9"}, "Failed to parse log level range 2..9\n"},
		{[]string{"-f", "-r"}, "Please specify either --reverse= or --follow=, not both.\n"},
		{[]string{"--cursor=x", "--after-cursor=y"}, "Please specify only one of --since=, --cursor=, and --after-cursor=.\n"},
		{[]string{"-S", "today", "-c", "x"}, "Please specify only one of --since=, --cursor=, and --after-cursor=.\n"},
		{[]string{"--since=bogus"}, "Failed to parse timestamp: bogus\n"},
		{[]string{"-U", "bogus"}, "Failed to parse timestamp: bogus\n"},
		{[]string{"-S", "2026-12-07 12:00", "-U", "2026-12-07 11:00"}, "--since= must be before --until=.\n"},
		{[]string{"--case-sensitive=maybe"}, "Bad --case-sensitive= argument \"maybe\": Invalid argument\n"},
		{[]string{"-g", "("}, "Bad pattern \"(\": missing closing )\n"},
		{[]string{"bogus"}, "Failed to add match 'bogus': Invalid argument\n"},
		{[]string{"-b", "bogus"}, "Failed to add match 'bogus': Invalid argument\n"},
		{[]string{"--boot=bogus"}, "Failed to parse boot descriptor 'bogus'\n"},
		{[]string{"-k"}, "journalctl: option -k is not supported by flint: it keeps no kernel messages.\n"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var out, errb bytes.Buffer
			_, code, done := parseLogs(newGlobals("journalctl"), tc.args, &out, &errb)
			if !done || code != 1 || errb.String() != tc.want {
				t.Errorf("done %v, exit %d, stderr %q; want exit 1, %q", done, code, errb.String(), tc.want)
			}
		})
	}
	for _, tc := range []struct {
		args            []string
		lines           int
		grep            string
		reverse, follow bool
	}{
		{nil, -1, "", false, false},
		{[]string{"-f"}, 10, "", false, true},
		{[]string{"-e"}, 1000, "", false, false},
		{[]string{"-e", "-n", "3"}, 3, "", false, false},
		{[]string{"-n", "5", "--no-tail"}, -1, "", false, false},
		{[]string{"-n"}, 10, "", false, false},
		{[]string{"-n", "all", "-r"}, -1, "", true, false},
		{[]string{"-g", "fail"}, -1, "(?i)fail", false, false},
		{[]string{"-g", "Fail"}, -1, "Fail", false, false},
		{[]string{"-g", "fail", "--case-sensitive"}, -1, "fail", false, false},
		{[]string{"-g", "Fail", "--case-sensitive=no"}, -1, "(?i)Fail", false, false},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var out, errb bytes.Buffer
			o, _, done := parseLogs(newGlobals("journalctl"), tc.args, &out, &errb)
			if done {
				t.Fatalf("refused: %s", errb.String())
			}
			if o.rng.Lines != tc.lines || o.match.Grep != tc.grep || o.rng.Reverse != tc.reverse || o.req.Follow != tc.follow {
				t.Errorf("lines %d grep %q reverse %v follow %v", o.rng.Lines, o.match.Grep, o.rng.Reverse, o.req.Follow)
			}
		})
	}
}
