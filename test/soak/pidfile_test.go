package soak

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

// TestPIDFile (issue 16, item 2): Type=forking services running as nobody write their PID
// file in a directory nobody owns. One names a root process that is none of its own: the
// start is refused (Result=protocol, as systemd refuses a PID file not owned by root that
// names a process outside the unit) and the root process survives the stop. One makes its PID
// file a FIFO, one a link to /dev/zero: the manager neither blocks nor reads without end, and
// the start fails. One writes its own daemon's pid, which is adopted.
func TestPIDFile(t *testing.T) {
	dir := openDir(t)
	bin := copyFile(t, hostileBin, dir)
	killLeftovers(t, bin)
	run := filepath.Join(dir, "run")
	if err := os.Mkdir(run, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(run, nobody, nobody); err != nil {
		t.Fatal(err)
	}
	victim := exec.Command(bin, "sleep")
	if err := victim.Start(); err != nil {
		t.Fatal(err)
	}
	victimGone := make(chan struct{})
	go func() { victim.Wait(); close(victimGone) }() // reaped at once: a stop sees it go
	defer func() { victim.Process.Kill(); <-victimGone }()
	forking := func(name, script string) string {
		return "[Service]\nType=forking\nUser=nobody\nTimeoutStartSec=10\nPIDFile=" + filepath.Join(run, name+".pid") +
			"\nExecStart=/bin/sh -c '" + script + "'\n"
	}
	units := writeFiles(t, filepath.Join(dir, "units"), map[string]string{
		"liar.service": forking("liar", "echo "+strconv.Itoa(victim.Process.Pid)+" > "+run+"/liar.pid"),
		"fifo.service": forking("fifo", "mkfifo "+run+"/fifo.pid"),
		"zero.service": forking("zero", "ln -s /dev/zero "+run+"/zero.pid"),
		"own.service":  forking("own", bin+" sleep & echo $! > "+run+"/own.pid"),
	})
	m := startManager(t, units)

	t.Run("foreign-root-pid", func(t *testing.T) {
		f := newFigures(t)
		out, code := m.flint(t, "start", "liar.service")
		st := m.props(t, "liar.service", "ActiveState", "Result", "MainPID")
		f.add("start", "exit %d, %s", code, brief(st))
		if code == 0 || st["ActiveState"] != "failed" || st["Result"] != "protocol" || st["MainPID"] != "0" {
			t.Errorf("start of a nobody service whose PID file names root's process %d: exit %d, %v\n%s",
				victim.Process.Pid, code, st, out)
		}
		m.flint(t, "stop", "liar.service")
		select {
		case <-victimGone:
			t.Errorf("root's process %d, named in nobody's PID file, was killed by the stop", victim.Process.Pid)
		default:
		}
	})
	for _, name := range []string{"fifo", "zero"} {
		t.Run(name, func(t *testing.T) {
			f := newFigures(t)
			p := m.startProbe(name + ".service")
			out, code := m.flint(t, "start", name+".service")
			lat := p.stop()
			lat.check(t, "the start reads a "+name+" PID file")
			st := m.props(t, name+".service", "ActiveState", "Result", "MainPID")
			f.add("start", "exit %d, %s", code, brief(st))
			f.add("root's status latency", "%s", lat)
			if code == 0 || st["ActiveState"] != "failed" {
				t.Errorf("start with a %s PID file: exit %d, %v\n%s", name, code, st, out)
			}
		})
	}
	t.Run("own-daemon", func(t *testing.T) {
		f := newFigures(t)
		m.mustFlint(t, "start", "own.service")
		st := m.waitProps(t, "own.service", map[string]string{"ActiveState": "active", "SubState": "running"})
		data, err := os.ReadFile(filepath.Join(run, "own.pid"))
		if err != nil {
			t.Fatal(err)
		}
		main := m.prop(t, "own.service", "MainPID")
		f.add("start", "%s, MainPID %s", brief(st), main)
		if want := string(data[:len(data)-1]); main != want {
			t.Errorf("own.service MainPID %s, its PID file says %s (%v)", main, want, st)
		}
		m.mustFlint(t, "stop", "own.service")
	})
}
