package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// talkUnits are a service that writes to its stdout and stderr (a tab, an escape), and once
// more when it stops, and one that fails, so that the manager says why.
var talkUnits = map[string]string{
	"talk.service": unitFile("Service", "Type=oneshot\nRemainAfterExit=yes\n"+
		`ExecStart=/bin/sh -c 'echo one; echo two >&2; printf "tab\there\n"; printf "esc\033[1mbold\n"'`+"\n"+
		"ExecStop=/bin/echo stopping"),
	"fail.service": unitFile("Service", "ExecStart=/bin/sh -c 'echo bye; exit 3'"),
}

// talkLines are the lines flint run prints for talkUnits' talk.service run as pid.
func talkLines(pid string) []string {
	return []string{
		"talk.service[" + pid + "]: one",
		"talk.service[" + pid + "]: two",
		"talk.service[" + pid + "]: tab\there",
		"talk.service[" + pid + `]: esc\033[1mbold`,
	}
}

// TestLogToStdout: with --log-to-stdout the units' log lines also go to flint run's output,
// "UNIT[PID]: TEXT"; without it (and not PID 1) they do not. The manager's messages about
// units are its status lines either way, not repeated.
func TestLogToStdout(t *testing.T) {
	units := writeUnits(t, talkUnits)
	for _, forward := range []bool{true, false} {
		t.Run(fmt.Sprintf("forward=%v", forward), func(t *testing.T) {
			o := launchOptions{stopWait: 10 * time.Second}
			if forward {
				o.runFlags = []string{"--log-to-stdout"}
			}
			m := launchManager(t, units, o)
			c := on(t, m)
			c.start("talk.service")
			pid := c.prop("talk.service", "ExecMainPID")
			c.run(0, "start", "fail.service")
			c.waitState("fail.service", "failed")
			failPID := c.prop("fail.service", "ExecMainPID")
			// Everything forwarded is out once flint run has ended.
			if code := m.terminate(); code != 0 {
				t.Fatalf("flint run exited %d", code)
			}
			out := m.out.String()
			want := append(talkLines(pid), "fail.service["+failPID+"]: bye")
			for _, l := range want {
				if got := strings.Contains(out, "\n"+l+"\n"); got != forward {
					t.Errorf("line %q in flint run's output: %v, want %v", l, got, forward)
				}
			}
			// ExecStop= ran as flint run ended: its line is out too.
			if got := regexp.MustCompile(`\ntalk\.service\[[0-9]+\]: stopping\n`).MatchString(out); got != forward {
				t.Errorf("ExecStop='s line in flint run's output: %v, want %v", got, forward)
			}
			// The manager's own messages about a unit are status lines already, once.
			if n := strings.Count(out, "fail.service: Failed with result 'exit-code'.\n"); n != 1 {
				t.Errorf("fail.service's result said %d times, want once", n)
			}
			if t.Failed() {
				t.Logf("flint run's output:\n%s", out)
			}
		})
	}
}

// TestLogToStdoutPID1: as PID 1 (of a PID namespace, as in a container) flint run forwards
// the units' lines by default; --no-log-to-stdout turns it off.
func TestLogToStdoutPID1(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("a PID namespace needs root")
	}
	units := writeUnits(t, map[string]string{"talk.service": talkUnits["talk.service"]})
	wantedBy(t, units, "multi-user.target", "talk.service")
	for _, flag := range []string{"", "--no-log-to-stdout"} {
		t.Run("flag="+flag, func(t *testing.T) {
			control := filepath.Join(t.TempDir(), "control.sock")
			args := []string{"--pid", "--fork", "--mount-proc", "--kill-child", flintBin, "run", "--no-booted", "--no-journal-sockets", "--units", units, "--control", control}
			if flag != "" {
				args = append(args, flag)
			}
			cmd := exec.Command("unshare", args...)
			out := &syncBuffer{}
			cmd.Stdout, cmd.Stderr = out, out
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			// done is closed once flint run has been waited for, with its error in waitErr.
			done := make(chan struct{})
			var waitErr error
			go func() {
				waitErr = cmd.Wait()
				close(done)
			}()
			t.Cleanup(func() {
				select {
				case <-done:
				default:
					cmd.Process.Kill()
					<-done
				}
			})
			if !waitFor(15*time.Second, func() bool { return listening(control) }) {
				t.Fatalf("no control socket:\n%s", out)
			}
			m := &manager{t: t, control: control}
			c := on(t, m)
			c.waitState("talk.service", "active")
			pid := c.prop("talk.service", "ExecMainPID")
			// unshare ignores SIGTERM: flint exit ends the manager in order.
			c.run(0, "exit")
			select {
			case <-done:
				if waitErr != nil {
					t.Errorf("flint run: %v", waitErr)
				}
			case <-time.After(20 * time.Second):
				t.Fatalf("flint run did not exit:\n%s", out)
			}
			for _, l := range talkLines(pid) {
				if got := strings.Contains(out.String(), "\n"+l+"\n"); got != (flag == "") {
					t.Errorf("line %q in the output of PID 1 flint run %s: %v", l, flag, got)
				}
			}
			if t.Failed() {
				t.Logf("flint run's output:\n%s", out)
			}
		})
	}
}

// TestLogToStdoutNotRead: flint run's output is a pipe nobody reads while a service writes
// megabytes: the manager goes on answering and starting units; what does not fit its backlog
// is dropped and counted, and once the pipe is read the lines kept come out in order. No line
// goes missing on its way from the service's pipe to the backlog, however far the copy falls
// behind the service (a machine with one free CPU).
func TestLogToStdoutNotRead(t *testing.T) {
	const n = 300000 // lines of "flood.service[PID]: NNNNNN": about 8 MB
	units := writeUnits(t, map[string]string{
		// Raised over journald's default limit: all its lines reach the store.
		"flood.service": unitFile("Service", "Type=oneshot\nLogRateLimitBurst=100000000\nExecStart=/usr/bin/seq -w "+strconv.Itoa(n)),
		"later.service": unitFile("Service", "Type=oneshot\nRemainAfterExit=yes\nExecStart=/bin/true"),
	})
	control, finish := unreadManager(t, units, "--log-to-stdout")
	m := &manager{t: t, control: control}
	c := on(t, m)
	// flint start waits for the oneshot's end: all its output has been read by then.
	c.start("flood.service")
	c.start("later.service")
	c.waitState("later.service", "active")
	text := finish()
	last, kept, notes, dropped := 0, 0, 0, 0
	for _, l := range strings.Split(text, "\n") {
		if c, ok := strings.CutPrefix(l, "flint: "); ok && strings.HasSuffix(l, " lines dropped: the output was not read") {
			d, err := strconv.Atoi(strings.TrimSuffix(c, " lines dropped: the output was not read"))
			if err != nil {
				t.Fatalf("note %q", l)
			}
			notes++
			dropped += d
			continue
		}
		_, num, ok := strings.Cut(l, "]: ")
		if !ok || !strings.HasPrefix(l, "flood.service[") {
			continue
		}
		i, err := strconv.Atoi(num)
		if err != nil || i <= last {
			t.Fatalf("line %q after line %d", l, last)
		}
		last = i
		kept++
	}
	if kept == 0 || kept == n || notes == 0 {
		t.Errorf("%d of %d lines kept, %d notes of dropped lines: want some kept, some dropped and said", kept, n, notes)
	}
	// Every line not kept is counted in a note (the notes may count status lines too).
	if kept+dropped < n {
		t.Errorf("%d of %d lines kept, %d said dropped: %d lost without a word", kept, n, dropped, n-kept-dropped)
	}
	if !strings.HasSuffix(text, "All units stopped.\n") {
		t.Errorf("output does not end with the shutdown's last line: ...%s", text[max(0, len(text)-300):])
	}
}
