package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flint-init/flint/internal/difftest"
)

// journalUnits are the units whose logs TestLogsMatchJournalctl compares: every kind of line
// a unit's journal holds (output, the manager's job and result messages, exits, a command
// that cannot be executed, a skipped condition, a failed dependency, restarts up to the
// start limit, a reload, sockets, targets, timers, SyslogIdentifier=). A command writes a
// moment after it starts: journald files a line of a process and a message of PID 1 sent
// at the same time in either order.
var journalUnits = map[string]string{
	"hello.service": "[Unit]\nDescription=Hello test\nDefaultDependencies=no\n[Service]\nType=oneshot\n" +
		"ExecStart=/bin/sh -c 'sleep 0.1; echo hello out; echo err line >&2; echo \"<3>prio three\"; echo fail here; sleep 0.1'\n",
	"two.service": "[Unit]\nDescription=Two test\nDefaultDependencies=no\n[Service]\nExecStartPre=/bin/sh -c 'sleep 0.1; echo pre'\n" +
		"ExecStart=/bin/sh -c 'sleep 0.1; echo started; sleep 0.2; exit 3'\n",
	"simple.service": "[Unit]\nDescription=Simple sleeper\nDefaultDependencies=no\n[Service]\nExecStart=/bin/sleep 1000\nExecReload=/bin/true\n",
	"noexec.service": "[Unit]\nDescription=No exec\nDefaultDependencies=no\n[Service]\nExecStart=/nonexistent/binary\n",
	"killed.service": "[Unit]\nDefaultDependencies=no\n[Service]\nExecStart=/bin/sh -c 'sleep 0.1; kill -9 $$$$'\n",
	"cond.service":   "[Unit]\nDescription=Conditional\nDefaultDependencies=no\nConditionPathExists=/nonexistent\n[Service]\nExecStart=/bin/sleep 1000\n",
	"ex64.service":   "[Unit]\nDefaultDependencies=no\n[Service]\nType=oneshot\nExecStart=/bin/sh -c 'sleep 0.1; exit 64'\n",
	"dep.service":    "[Unit]\nDescription=Depends on ex64\nDefaultDependencies=no\nRequires=ex64.service\nAfter=ex64.service\n[Service]\nExecStart=/bin/sleep 1000\n",
	"restarter.service": "[Unit]\nDescription=Restarter\nDefaultDependencies=no\nStartLimitIntervalSec=1h\nStartLimitBurst=3\n" +
		"[Service]\nExecStart=/bin/sh -c 'sleep 0.1; echo run; sleep 0.1; exit 2'\nRestart=on-failure\nRestartSec=200ms\n",
	"tagged.service": "[Unit]\nDescription=Tagged\nDefaultDependencies=no\n[Service]\nType=oneshot\nSyslogIdentifier=mytag\nExecStart=/bin/sh -c 'sleep 0.1; echo tagged line; sleep 0.1'\n",
	"jweb.socket":    "[Unit]\nDescription=Web socket\nDefaultDependencies=no\n[Socket]\nListenStream=/run/flint-journal-diff.sk\n",
	"jweb.service":   "[Unit]\nDefaultDependencies=no\n[Service]\nExecStart=/bin/sleep 1000\n",
	"tg.target":      "[Unit]\nDescription=Test target\nDefaultDependencies=no\n",
	"late.timer":     "[Unit]\nDescription=Late timer\nDefaultDependencies=no\n[Timer]\nOnActiveSec=1h\n",
	"late.service":   "[Unit]\nDefaultDependencies=no\n[Service]\nType=oneshot\nExecStart=/bin/true\n",
}

// journalSide is one of the two systems: how to run systemctl and journalctl there.
type journalSide struct {
	name       string
	systemctl  func(args ...string) (string, int)
	journalctl func(args ...string) (stdout, stderr string, code int)
}

// TestLogsMatchJournalctl runs the same units through the same steps under systemd 252
// (booted in private namespaces with systemd-journald, difftest.StartJournal) and under
// flint, then compares journalctl's output with flint's under the name journalctl, for
// every output mode and the options that select and position lines; `status` with its
// journal lines too. Normalised: times, pids, cursors, invocation and stream ids (see
// normaliseJournal); systemd's manager lines carry _SYSTEMD_UNIT=init.scope, which
// flint's lack (docs/compatibility.md).
func TestLogsMatchJournalctl(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("booting systemd needs root")
	}
	work := t.TempDir()
	units := filepath.Join(work, "units")
	os.MkdirAll(units, 0o755)
	for n, c := range journalUnits {
		if err := os.WriteFile(filepath.Join(units, n), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := difftest.MaskJournalSockets(units); err != nil {
		t.Fatal(err)
	}
	devLog, _ := os.Readlink("/dev/log")
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	sd, err := difftest.Boot(ctx, work, units+":")
	if err != nil {
		t.Fatalf("boot systemd: %v", err)
	}
	defer sd.Stop()
	if err := sd.StartJournal(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// The namespaces' journald must not have touched the host's /dev/log.
		if now, _ := os.Readlink("/dev/log"); now != devLog {
			t.Errorf("/dev/log changed: %q, was %q", now, devLog)
		}
	})
	m := startManager(t, units)
	link := filepath.Join(t.TempDir(), "journalctl")
	if err := os.Symlink(flintBin, link); err != nil {
		t.Fatal(err)
	}
	sides := []journalSide{
		{"systemd", func(args ...string) (string, int) {
			out, errb, err := sd.SystemctlOutput(ctx, args...)
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			}
			return string(out) + string(errb), code
		}, func(args ...string) (string, string, int) { return sd.Journalctl(ctx, args...) }},
		{"flint", m.flint, func(args ...string) (string, string, int) {
			cmd := exec.CommandContext(ctx, link, append([]string{"--control", m.control}, args...)...)
			cmd.Args[0] = "journalctl" // as run from PATH, as systemd's (getopt's messages name it)
			var o, e bytes.Buffer
			cmd.Stdout, cmd.Stderr = &o, &e
			cmd.Run()
			return o.String(), e.String(), cmd.ProcessState.ExitCode()
		}},
	}
	// The same steps on both; each waits until both systems have settled.
	for _, step := range []struct {
		args        []string
		unit, state string // wait until unit is in this ActiveState/SubState ("" none)
	}{
		{[]string{"start", "hello"}, "", ""},
		{[]string{"start", "two"}, "two.service", "failed"},
		{[]string{"start", "simple"}, "", ""},
		{[]string{"start", "noexec"}, "noexec.service", "failed"},
		{[]string{"start", "killed"}, "killed.service", "failed"},
		{[]string{"start", "cond"}, "", ""},
		{[]string{"start", "dep"}, "", ""},
		{[]string{"start", "tagged"}, "", ""},
		{[]string{"start", "jweb.socket", "tg.target", "late.timer"}, "", ""},
		{[]string{"reload", "simple"}, "", ""},
		{[]string{"restart", "simple"}, "", ""},
		{[]string{"stop", "simple", "jweb.socket", "tg.target", "late.timer"}, "", ""},
		{[]string{"start", "restarter"}, "restarter.service", "failed"},
	} {
		for _, s := range sides {
			s.systemctl(step.args...)
		}
		if step.unit != "" {
			for _, s := range sides {
				if !waitFor(20*time.Second, func() bool {
					out, _ := s.systemctl("show", "-P", "ActiveState", step.unit)
					return strings.TrimSpace(out) == step.state
				}) {
					t.Fatalf("%s: %s did not become %s", s.name, step.unit, step.state)
				}
			}
		}
	}
	// The last line of the last step in both logs: PID 1's messages reach the journal in the
	// order sent, and every command's output was written well before.
	for _, s := range sides {
		var out string
		if !waitFor(20*time.Second, func() bool {
			out, _, _ = s.journalctl("-u", "restarter", "-o", "cat")
			return strings.Contains(out, "Failed to start restarter.service - Restarter.")
		}) {
			t.Fatalf("%s: restarter's log lacks its last line:\n%s", s.name, out)
		}
	}

	compare := func(t *testing.T, args ...string) {
		t.Helper()
		wo, we, wc := sides[0].journalctl(args...)
		go2, ge, gc := sides[1].journalctl(args...)
		wo, go2 = normaliseJournal(wo, true), normaliseJournal(go2, false)
		we, ge = normaliseJournal(we, true), normaliseJournal(ge, false)
		if wo != go2 || we != ge || wc != gc {
			t.Errorf("journalctl %s:\nsystemd exit %d\n%s%s\nflint exit %d\n%s%s", strings.Join(args, " "), wc, wo, we, gc, go2, ge)
		}
	}
	var lines [][]string
	for _, u := range []string{"hello", "two", "simple", "killed", "cond", "dep", "tagged", "jweb.socket", "tg.target", "late.timer", "restarter"} {
		lines = append(lines, []string{"-u", u})
	}
	// What systemd's child logs when it cannot run noexec's command ("(binary)[PID]: Failed
	// at step EXEC ...") comes before or after PID 1's "Started", or, when the child is gone
	// before journald learns its unit, under no unit at all: PID 1's lines are compared.
	lines = append(lines, []string{"-u", "noexec", "-t", "systemd"}, []string{"-u", "noexec", "-t", "systemd", "-x"})
	for _, mode := range []string{"short", "short-full", "short-iso", "short-iso-precise", "short-precise", "short-monotonic",
		"short-delta", "short-unix", "with-unit", "cat"} {
		lines = append(lines, []string{"-u", "two", "-o", mode}, []string{"-u", "simple", "-o", mode, "--utc"})
	}
	lines = append(lines, [][]string{
		{"-u", "hello", "-p", "err"}, {"-u", "hello", "-p", "3..5"}, {"-u", "two", "-p", "warning..notice"}, {"-u", "hello", "-p", "info..err"},
		{"-u", "hello", "-g", "fail"}, {"-u", "hello", "-g", "FAIL"}, {"-u", "hello", "-g", "fail", "--case-sensitive=yes"},
		{"-u", "two", "-g", "status=[0-9]+"}, {"-t", "mytag"}, {"-u", "two", "-t", "sh", "-t", "echo"},
		{"-u", "tw*", "-u", "hello"}, {"-u", "t*.service", "-n", "4"}, {"-u", "nope*"}, {"-u", "nope.service"},
		{"-u", "two", "-n", "3"}, {"-u", "two", "-n", "0"}, {"-u", "two", "-r"}, {"-u", "two", "-r", "-n", "2"},
		{"-u", "two", "-n", "1", "--no-tail"}, {"-u", "two", "-e"}, {"-u", "two", "-n"},
		{"-u", "two", "--since=-1h", "-n", "2"}, {"-u", "two", "--since=today", "--until=tomorrow"}, {"-u", "two", "--until=-1h"},
		{"-u", "two", "--until=tomorrow", "-r", "-n", "2"}, {"-u", "two", "-U", "2000-01-01", "-n", "2"},
		{"-u", "two", "-b"}, {"-u", "two", "-b", "0"}, {"-u", "two", "-b", "-1"}, {"-u", "two", "-b", "1"},
		{"-u", "two", "-b", "00000000000000000000000000000001"}, {"-u", "two", "--boot=bogus"}, {"-u", "two", "-b", "bogus"},
		{"-u", "two", "-x"}, {"-u", "restarter", "-x", "-n", "6"},
		{"-u", "two", "-o", "bogus"}, {"-u", "two", "-p", "bogus"}, {"-u", "two", "-p", "1..9"}, {"-u", "two", "-f", "-r"},
		{"-u", "two", "--cursor=bogus"}, {"-u", "two", "--after-cursor=s=1;i=2"}, {"-u", "two", "--cursor=x", "--after-cursor=y"},
		{"-u", "two", "--since=bogus"}, {"-u", "two", "--case-sensitive=maybe"},
		{"-u", "two", "--show-cursor", "-n", "1", "-o", "cat"}, {"-u", "two", "-q", "-n", "0"}, {"-u", "nope", "-o", "json"},
		// what scripts and monitoring agents run
		{"-u", "two", "-n", "2", "--no-pager"}, {"-u", "two", "-n", "1", "-r", "-o", "cat"}, {"-u", "two", "-o", "cat", "--output-fields=MESSAGE"},
		{"-u", "two", "-o", "short-iso", "-n", "2"}, {"-u", "two", "-o", "short-precise", "--utc", "-n", "2"},
		{"-u", "two", "-S", "2000-01-01 00:00:00", "-n", "2"}, {"-u", "two", "-S", "yesterday", "-U", "now"}, {"-u", "two", "-S", "@0", "-n", "1"},
		{"-u", "two", "--since", "-1d", "--until", "+1d", "-n", "1"}, {"-u", "two", "-U", "@0"}, {"-u", "two", "-S", "2000-01-01T00:00:00Z", "-n", "1"},
		{"-u", "two", "-S", "today", "-p", "err", "-o", "cat"}, {"-u", "hello", "-p", "err", "-q", "-o", "cat"},
		{"-u", "two", "-b", "-0", "-n", "1", "-o", "cat"}, {"-F"}, {"-u", "two", "-x", "-q", "-n", "2", "-o", "cat"},
		{"--vacuum-size=bogus"}, {"--vacuum-files=x"}, {"--vacuum-time=soon"}, {"--vacuum-size=1G", "-q"},
	}...)
	for _, args := range lines {
		t.Run(strings.Join(args, "_"), func(t *testing.T) { compare(t, args...) })
	}
	// -F and -N: over the whole journal, whatever -u says; systemd's has journald's and the
	// kernel's entries too, which are left out of what flint's must list.
	own := func(t *testing.T) []map[string]any {
		out, _, _ := sides[0].journalctl("-o", "json")
		var keep []map[string]any
		for _, e := range jsonEntries(t, out) {
			if e["_TRANSPORT"] == "kernel" || e["_TRANSPORT"] == "driver" || e["_SYSTEMD_UNIT"] == "systemd-journald.service" ||
				e["SYSLOG_IDENTIFIER"] == "systemd-journald" || e["_COMM"] == "systemd-journal" {
				continue
			}
			keep = append(keep, e)
		}
		return keep
	}
	for _, field := range []string{"PRIORITY", "SYSLOG_IDENTIFIER", "UNIT", "MESSAGE_ID", "_TRANSPORT"} {
		t.Run("-F_"+field, func(t *testing.T) {
			want := map[string]bool{}
			for _, e := range own(t) {
				if v, ok := e[field].(string); ok && !(field == "SYSLOG_IDENTIFIER" && v == "(binary)") {
					want[v] = true // (binary): see noexec above
				}
			}
			all, _, wc := sides[0].journalctl("-u", "hello", "-F", field)
			out, errb, code := sides[1].journalctl("-u", "hello", "-F", field)
			got := map[string]bool{}
			for _, v := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
				if field == "UNIT" && v != "tg.target" && (strings.HasSuffix(v, ".target") || strings.HasSuffix(v, ".slice")) {
					continue // flint's manager started default.target, systemd its boot target before journald
				}
				got[v] = true
				if !slices.Contains(strings.Split(all, "\n"), v) {
					t.Errorf("flint lists %q, systemd's -F does not:\n%s", v, all)
				}
			}
			delete(got, "(binary)")
			if fmt.Sprint(want) != fmt.Sprint(got) || code != wc || errb != "" {
				t.Errorf("-F %s: exit %d %s\n%q\nwant exit %d, the values of the units' entries %v", field, code, errb, out, wc, want)
			}
		})
	}
	t.Run("-N", func(t *testing.T) {
		want := map[string]bool{}
		for _, e := range own(t) {
			for k := range e {
				if !strings.HasPrefix(k, "__") && !slices.Contains(journaldOnly, k) && !slices.Contains(processFields, k) {
					want[k] = true
				}
			}
		}
		out, errb, code := sides[1].journalctl("-N", "-u", "two")
		got := map[string]bool{}
		for _, k := range strings.Fields(out) {
			if !slices.Contains(processFields, k) {
				got[k] = true
			}
		}
		if fmt.Sprint(want) != fmt.Sprint(got) || code != 0 || errb != "" {
			t.Errorf("-N: exit %d %s\n%v\nwant the fields of the units' entries %v", code, errb, got, want)
		}
	})
	// -f under timeout(1), as a monitoring check runs it: the last lines, then the wait.
	t.Run("follow", func(t *testing.T) {
		args := []string{"timeout", "3", "journalctl", "--no-pager", "-u", "two", "-f", "-n", "2", "-o", "cat"}
		var outs []string
		for i, cmd := range []*exec.Cmd{
			exec.CommandContext(ctx, "nsenter", append([]string{"-t", strconv.Itoa(sd.Pid), "-m", "-p", "-u"}, args...)...),
			exec.CommandContext(ctx, "timeout", append([]string{"3", link, "--control", m.control}, args[3:]...)...),
		} {
			var o bytes.Buffer
			cmd.Stdout, cmd.Stderr = &o, &o
			cmd.Run()
			outs = append(outs, fmt.Sprintf("%s(exit %d)", normaliseJournal(o.String(), i == 0), cmd.ProcessState.ExitCode()))
		}
		if outs[0] != outs[1] {
			t.Errorf("-f: systemd\n%s\nflint\n%s", outs[0], outs[1])
		}
	})
	// --disk-usage and --vacuum-*: the same sentences, of each system's own files.
	t.Run("disk-usage", func(t *testing.T) {
		re := regexp.MustCompile(`^Archived and active journals take up \d+(\.\d)?[BKMGT] in the file system\.\n$`)
		for _, s := range sides {
			if out, errb, code := s.journalctl("--disk-usage"); !re.MatchString(out) || errb != "" || code != 0 {
				t.Errorf("%s: --disk-usage: exit %d %q %q", s.name, code, out, errb)
			}
		}
	})
	t.Run("vacuum", func(t *testing.T) {
		re := regexp.MustCompile(`^(Vacuuming done, freed \d+(\.\d)?[BKMGT] of archived journals from /\S+\.\n)+$`)
		for _, args := range [][]string{{"--vacuum-size=1G"}, {"--vacuum-files=5", "--vacuum-time=1d"}} {
			for _, s := range sides {
				if out, errb, code := s.journalctl(args...); out != "" || !re.MatchString(errb) || code != 0 {
					t.Errorf("%s: %s: exit %d %q %q", s.name, args, code, out, errb)
				}
			}
		}
	})
	// The current boot's id, which both share (the kernel's).
	t.Run("boot_id", func(t *testing.T) {
		b, _ := os.ReadFile("/proc/sys/kernel/random/boot_id")
		compare(t, "-u", "two", "-b", strings.ReplaceAll(strings.TrimSpace(string(b)), "-", ""))
	})
	t.Run("list-boots", func(t *testing.T) {
		// systemd's journal holds the namespace's boot only: one line, as flint's.
		compare(t, "--list-boots", "-q")
		compare(t, "--list-boots", "--utc")
	})
	// A cursor taken from each system, used again there: --cursor, --after-cursor, going
	// back from it, and after the last line.
	t.Run("cursors", func(t *testing.T) {
		var outs []string
		for _, s := range sides {
			o, _, _ := s.journalctl("-u", "two", "-n", "3", "--show-cursor", "-o", "cat")
			_, last, ok := strings.Cut(o, "-- cursor: ")
			if !ok {
				t.Fatalf("%s: no cursor in %q", s.name, o)
			}
			j, _, _ := s.journalctl("-u", "two", "-o", "json", "-n", "3")
			cursor := jsonCursors(t, j)[0]
			var got []string
			for _, args := range [][]string{{"--after-cursor=" + cursor}, {"--cursor=" + cursor}, {"--cursor=" + cursor, "-r", "-n", "2"},
				{"--after-cursor=" + strings.TrimSpace(last)}} {
				out, errb, code := s.journalctl(append([]string{"-u", "two", "-o", "cat"}, args...)...)
				got = append(got, fmt.Sprintf("%s%s(exit %d)", out, errb, code))
			}
			outs = append(outs, strings.Join(got, "\n"))
		}
		if outs[0] != outs[1] {
			t.Errorf("cursors: systemd\n%s\nflint\n%s", outs[0], outs[1])
		}
	})
	// The fields of JSON output: flint's entries carry journald's, with the same values where
	// they are not per system (pids, times, ids) — except the ones flint does not know
	// (journaldOnly).
	for _, u := range []string{"two", "noexec", "restarter", "tagged", "jweb.socket"} {
		t.Run("json_"+u, func(t *testing.T) {
			args := []string{"-u", u, "-o", "json"}
			if u == "noexec" {
				args = append(args, "-t", "systemd") // see above
			}
			w, _, _ := sides[0].journalctl(args...)
			g, _, _ := sides[1].journalctl(args...)
			we, ge := jsonEntries(t, w), jsonEntries(t, g)
			if len(we) != len(ge) {
				t.Fatalf("systemd %d entries, flint %d:\n%s\n%s", len(we), len(ge), w, g)
			}
			for i := range we {
				if d := compareEntries(we[i], ge[i]); d != "" {
					t.Errorf("entry %d (%s): %s", i, we[i]["MESSAGE"], d)
				}
			}
		})
	}
	for _, mode := range []string{"verbose", "export", "json-pretty", "json-sse", "json-seq", "json --output-fields=MESSAGE,PRIORITY",
		"verbose --output-fields=MESSAGE,UNIT", "export --output-fields=_PID,JOB_TYPE"} {
		t.Run("fields_"+mode, func(t *testing.T) {
			args := append([]string{"-u", "two", "-o"}, strings.Fields(mode)...)
			mode, _, _ := strings.Cut(mode, " ")
			w, _, _ := sides[0].journalctl(args...)
			g, _, _ := sides[1].journalctl(args...)
			ws, gs := shapeOf(mode, w), shapeOf(mode, g)
			if ws != gs {
				t.Errorf("-o %s: systemd\n%s\nflint\n%s", mode, ws, gs)
			}
		})
	}
	// status shows a unit's journal lines as journalctl's short mode: the last ones, of them
	// those since the unit last left the inactive state. (systemd compares the time journald
	// received a line with the time of that state change: the lines PID 1 logs just before
	// it, restarter's "Main process exited" and "Failed with result" at its third exit, are
	// shown or not as journald keeps up; flint leaves them out, restarter's last four lines
	// are compared.)
	for _, u := range []string{"two", "hello", "restarter", "killed", "dep"} {
		t.Run("status_"+u, func(t *testing.T) {
			n := "20"
			if u == "restarter" {
				n = "4"
			}
			w, wc := sides[0].systemctl("status", u, "-n", n)
			g, gc := sides[1].systemctl("status", u, "-n", n)
			w, g = normaliseStatus(normaliseJournal(w, true)), normaliseStatus(normaliseJournal(g, false))
			if w != g || wc != gc {
				t.Errorf("status %s:\nsystemd exit %d\n%s\nflint exit %d\n%s", u, wc, w, gc, g)
			}
		})
	}
}

// journaldOnly are the fields journald records that flint does not: capabilities, cgroups,
// the thread and the source file of systemd's own messages.
var journaldOnly = []string{"_CAP_EFFECTIVE", "_SYSTEMD_CGROUP", "_SYSTEMD_SLICE", "_SYSTEMD_OWNER_UID", "TID",
	"CODE_FILE", "CODE_LINE", "CODE_FUNC", "_SELINUX_CONTEXT", "_AUDIT_SESSION", "_AUDIT_LOGINUID"}

// processFields are what journald reads from /proc of a line's writer: it has none of them
// when the process exited before (a race in systemd itself); compared where both have them,
// for a service's output only (a child that could not run its command is systemd's or
// flint's own program).
var processFields = []string{"_COMM", "_EXE", "_CMDLINE"}

// perSystem are the fields whose values differ between the two systems by nature: both must
// have them, with any value.
var perSystem = []string{"__CURSOR", "__REALTIME_TIMESTAMP", "__MONOTONIC_TIMESTAMP", "_SOURCE_REALTIME_TIMESTAMP",
	"_PID", "INVOCATION_ID", "_SYSTEMD_INVOCATION_ID", "_STREAM_ID", "JOB_ID"}

// compareEntries says how flint's JSON entry g differs from systemd's w ("" for none).
func compareEntries(w, g map[string]any) string {
	var diffs []string
	if w["_PID"] == "1" {
		// The manager's messages: systemd's PID 1 runs in init.scope; flint's process is
		// the manager, with its own _COMM, _EXE, _CMDLINE.
		for _, k := range []string{"_SYSTEMD_UNIT", "_COMM", "_EXE", "_CMDLINE"} {
			delete(w, k)
			delete(g, k)
		}
	}
	for _, k := range processFields {
		if _, ok := w[k]; !ok || w["_TRANSPORT"] != "stdout" {
			delete(g, k)
			delete(w, k)
		}
		if _, ok := g[k]; !ok {
			delete(w, k)
		}
	}
	for k, v := range w {
		if slices.Contains(journaldOnly, k) {
			continue
		}
		gv, ok := g[k]
		switch {
		case !ok:
			diffs = append(diffs, "no "+k)
		case slices.Contains(perSystem, k):
		case !jsonEqual(v, gv):
			diffs = append(diffs, k+"="+jsonString(gv)+", systemd "+jsonString(v))
		}
	}
	for k := range g {
		if _, ok := w[k]; !ok {
			diffs = append(diffs, "extra "+k)
		}
	}
	sort.Strings(diffs)
	return strings.Join(diffs, "; ")
}

func jsonEqual(a, b any) bool { return jsonString(a) == jsonString(b) }

func jsonEntries(t *testing.T, out string) []map[string]any {
	t.Helper()
	var es []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if l == "" || cgroupNoise.MatchString(l+"\n") {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("JSON %q: %v", l, err)
		}
		es = append(es, m)
	}
	return es
}

func jsonCursors(t *testing.T, out string) []string {
	var cs []string
	for _, e := range jsonEntries(t, out) {
		cs = append(cs, e["__CURSOR"].(string))
	}
	return cs
}

var (
	// Times at the start of a line (or of status's lines) in each short mode, and the other
	// per-system values journalctl prints.
	journalTimes   = regexp.MustCompile(`(?m)^(\[ *\d+\.\d{6}( <[ \d.]+>| {16})?\]|\d{10}\.\d{6}|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?[+-]\d{4}|[A-Z][a-z]{2} \d{4}-\d\d-\d\d \d\d:\d\d:\d\d [A-Z]+|[A-Z][a-z]{2} \d\d \d\d:\d\d:\d\d(\.\d{6})?) `)
	journalPids    = regexp.MustCompile(`\[\d+\]: `)
	journalCursor  = regexp.MustCompile(`s=[0-9a-f]{32};i=[0-9a-f]+;b=[0-9a-f]{32};m=[0-9a-f]+;t=[0-9a-f]+;x=[0-9a-f]+`)
	journalJobID   = regexp.MustCompile(`job identifier is \d+`)
	journalBootRow = regexp.MustCompile(`(?m)^( *)0 [0-9a-f]{32} .*$`)
)

// cgroupNoise is what systemd in the namespaces logs for want of its cgroups (it has none
// there: "Failed to kill control group ..., ignoring: Input/output error"), when it logs it.
var cgroupNoise = regexp.MustCompile(`(?m)^.*(Failed to kill control group|Failed to migrate controller cgroups).*\n`)

// normaliseJournal replaces what differs between the two systems by nature; systemd's
// manager lines in with-unit mode name init.scope, flint's the manager's identifier.
func normaliseJournal(s string, systemd bool) string {
	if systemd {
		s = strings.ReplaceAll(s, " init.scope[1]: ", " systemd[1]: ")
		s = cgroupNoise.ReplaceAllString(s, "")
	}
	s = journalTimes.ReplaceAllString(s, "TIME ")
	s = journalPids.ReplaceAllString(s, "[PID]: ")
	s = journalCursor.ReplaceAllString(s, "CURSOR")
	s = journalJobID.ReplaceAllString(s, "job identifier is N")
	return journalBootRow.ReplaceAllString(s, "${1}0 BOOT")
}

// statusVariable are status's per-system values: times, pids, Duration:, and the lines
// systemd has from cgroups (Tasks:, Memory:, CPU:, CGroup: and its tree).
var statusVariable = regexp.MustCompile(`(?m)since .*; .* ago|\b\d{2,}\b|^\s+Duration: .*\n|^\s+(Tasks|Memory|CPU|CGroup): .*\n|^\s+└─.*\n`)

func normaliseStatus(s string) string { return statusVariable.ReplaceAllString(s, "X") }

// shapeOf is the field names of -o mode's entries (with the header's format for verbose),
// in order of appearance per entry, sorted: what both must agree on whatever the values.
func shapeOf(mode, out string) string {
	var entries []string
	var cur []string
	flush := func() {
		if cur != nil {
			sort.Strings(cur)
			var keep []string
			for _, k := range cur {
				if !slices.Contains(journaldOnly, k) && k != "_SYSTEMD_UNIT=init.scope" {
					keep = append(keep, k)
				}
			}
			entries = append(entries, strings.Join(keep, ","))
		}
		cur = nil
	}
	switch mode {
	case "verbose", "export":
		header := regexp.MustCompile(`^[A-Z][a-z]{2} \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6} [A-Z]+ \[` + journalCursor.String() + `\]$`)
		for _, l := range strings.Split(out, "\n") {
			switch {
			case l == "" && mode == "export":
				flush()
			case header.MatchString(l):
				flush()
				cur = []string{"HEADER"}
			default:
				k, v, _ := strings.Cut(strings.TrimPrefix(l, "    "), "=")
				if k == "_SYSTEMD_UNIT" && v == "init.scope" || slices.Contains(processFields, k) {
					continue // see compareEntries
				}
				if k != "" {
					cur = append(cur, k)
				}
			}
		}
		flush()
	default:
		prefix := map[string]string{"json-sse": "data: ", "json-seq": "\x1e"}[mode]
		dec := json.NewDecoder(strings.NewReader(strings.ReplaceAll(out, prefix, "")))
		for {
			var m map[string]any
			if dec.Decode(&m) != nil {
				break
			}
			for k, v := range m {
				if slices.Contains(processFields, k) || k == "_SYSTEMD_UNIT" && v == "init.scope" {
					continue // see compareEntries
				}
				cur = append(cur, k)
			}
			flush()
		}
		framing := strings.Count(out, prefix)
		switch mode {
		case "json-pretty":
			framing = strings.Count(out, "\n}\n")
		case "json":
			framing = strings.Count(out, "\n")
		}
		entries = append(entries, "framing="+strings.Repeat("x", framing))
	}
	return strings.Join(entries, "\n")
}
