package e2e

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestHostileUnitFiles: a unit directory holding a FIFO and a link to /dev/zero as unit
// files, a FIFO as a drop-in, a FIFO as an EnvironmentFile= and as StandardOutput=file:, and
// a unit whose Description= and output are terminal escape sequences. Against a running
// manager and offline, every verb answers (none blocks in open(2) or reads /dev/zero), the
// other units load and start, and nothing printed holds an escape character.
func TestHostileUnitFiles(t *testing.T) {
	dir := writeUnits(t, map[string]string{
		"good.service":    "[Service]\nExecStart=/bin/sleep 1000\n[Install]\nWantedBy=multi-user.target\n",
		"dropped.service": "[Service]\nExecStart=/bin/sleep 1000\n",
		"esc.service":     "[Unit]\nDescription=\x1b]0;pwned\x07\x1b[2J\n[Service]\nExecStart=/bin/sh -c 'printf \"\\\\033[2Jcleared\\\\n\"; exec sleep 1000'\n",
	})
	fifos := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(syscall.Mkfifo(filepath.Join(dir, "fifo.service"), 0o644))
	must(os.Symlink("/dev/zero", filepath.Join(dir, "zero.service")))
	must(os.Mkdir(filepath.Join(dir, "dropped.service.d"), 0o755))
	must(syscall.Mkfifo(filepath.Join(dir, "dropped.service.d/a.conf"), 0o644))
	must(os.WriteFile(filepath.Join(dir, "dropped.service.d/b.conf"), []byte("[Unit]\nDescription=dropped ok\n"), 0o644))
	envFIFO, outFIFO := filepath.Join(fifos, "env.fifo"), filepath.Join(fifos, "out.fifo")
	must(syscall.Mkfifo(envFIFO, 0o644))
	must(syscall.Mkfifo(outFIFO, 0o644))
	must(os.WriteFile(filepath.Join(dir, "envfifo.service"),
		[]byte("[Service]\nEnvironmentFile="+envFIFO+"\nExecStart=/bin/sleep 1000\n"), 0o644))
	must(os.WriteFile(filepath.Join(dir, "outfifo.service"),
		[]byte("[Service]\nStandardOutput=file:"+outFIFO+"\nExecStart=/bin/sh -c 'echo hello; exec sleep 1000'\n"), 0o644))

	m := startManager(t, dir)
	c := on(t, m)
	noEscape := func(what, out string) {
		t.Helper()
		if strings.ContainsAny(out, "\x1b\x07") {
			t.Errorf("%s printed an escape sequence: %q", what, out)
		}
	}
	defer func() { noEscape("flint run", m.out.String()) }()

	c.start("good.service")
	for unit, want := range map[string]map[string]string{
		"fifo.service":    {"LoadState": "not-found"},
		"zero.service":    {"LoadState": "masked"},
		"dropped.service": {"LoadState": "loaded", "Description": "dropped ok"},
	} {
		var names []string
		for k := range want {
			names = append(names, k)
		}
		if got := c.props(unit, names...); !mapHas(got, want) {
			t.Errorf("%s: %v, want %v", unit, got, want)
		}
	}
	c.start("dropped.service")

	// EnvironmentFile= a FIFO: the start fails at once (systemd 252 blocks PID 1 here)
	out := c.run(1, "start", "envfifo.service")
	c.waitProps("envfifo.service", map[string]string{"ActiveState": "failed", "Result": "resources"})
	st, _ := c.flint("status", "envfifo.service")
	if !strings.Contains(st, envFIFO+": Not a regular file (a FIFO)") {
		t.Errorf("status of envfifo.service does not say why:\n%s\n(start: %s)", st, out)
	}

	// StandardOutput=file: a FIFO without a reader: the start does not wait for one, and the
	// output waits in the pipe
	c.start("outfifo.service")
	f, err := os.Open(outFIFO) // the service holds the other end open
	must(err)
	line, err := bufio.NewReader(f).ReadString('\n')
	f.Close()
	if err != nil || line != "hello\n" {
		t.Errorf("read from the FIFO: %q, %v", line, err)
	}

	// escape sequences in Description= and in the output stay escaped
	c.start("esc.service")
	c.waitProps("esc.service", map[string]string{"ActiveState": "active"})
	waitFor(10*time.Second, func() bool { s, _ := c.flint("status", "esc.service"); return strings.Contains(s, "cleared") })
	for _, args := range [][]string{{"status", "esc.service"}, {"list-units", "--all"}, {"logs", "-u", "esc.service"}} {
		out, _ := c.flint(args...)
		noEscape("flint "+strings.Join(args, " "), out)
		if args[0] == "status" && !strings.Contains(out, `\033]0;pwned\a\033[2J`) {
			t.Errorf("status does not show the escaped Description:\n%s", out)
		}
	}

	// verbs that read the files: against the manager and offline
	c.run(0, "daemon-reload")
	c.waitProps("good.service", map[string]string{"ActiveState": "active"})
	out, code := runFlint(t, "--units", dir, "list-unit-files")
	if code != 0 || !strings.Contains(out, "\nzero.service ") || strings.Contains(out, "\nfifo.service ") {
		t.Errorf("list-unit-files: exit %d\n%s", code, out)
	}
	out, code = runFlint(t, "--units", dir, "is-enabled", "fifo.service")
	if code != 1 || out != "Failed to get unit file state for fifo.service: Not a regular file (a FIFO)\n" {
		t.Errorf("is-enabled fifo.service: exit %d %q", code, out)
	}
	out, code = runFlint(t, "--units", dir, "cat", "dropped.service")
	if code != 1 || !strings.Contains(out, "a.conf: Not a regular file (a FIFO)") {
		t.Errorf("cat dropped.service: exit %d %q", code, out)
	}
	out, code = runFlint(t, "--units", dir, "analyze", "verify", filepath.Join(dir, "fifo.service"), filepath.Join(dir, "esc.service"))
	if code != 1 || !strings.Contains(out, "Unit fifo.service not found.") {
		t.Errorf("analyze verify: exit %d %q", code, out)
	}
	noEscape("analyze verify", out)
	out, code = runFlint(t, "--units", dir, "enable", "good.service")
	if code != 0 {
		t.Errorf("enable good.service: exit %d %q", code, out)
	}
	out, code = runFlint(t, "--units", dir, "disable", "good.service")
	if code != 0 {
		t.Errorf("disable good.service: exit %d %q", code, out)
	}
}

func mapHas(got, want map[string]string) bool {
	for k, v := range want {
		if got[k] != v {
			return false
		}
	}
	return true
}
