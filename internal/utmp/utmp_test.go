package utmp

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func files(t *testing.T) Files {
	t.Helper()
	dir := t.TempDir()
	f := Files{Utmp: filepath.Join(dir, "utmp"), Wtmp: filepath.Join(dir, "wtmp"),
		Now: func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC) }}
	for _, p := range []string{f.Utmp, f.Wtmp} {
		if err := os.WriteFile(p, nil, 0o664); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// dump is utmpdump's view of a file: one line per record, fields trimmed.
func dump(t *testing.T, path string) [][]string {
	t.Helper()
	out, err := exec.Command("utmpdump", path).Output()
	if err != nil {
		t.Fatalf("utmpdump %s: %v", path, err)
	}
	var recs [][]string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if line == "" {
			continue
		}
		var fs []string
		for _, f := range strings.Split(line, "] [") {
			fs = append(fs, strings.TrimSpace(strings.Trim(f, "[]")))
		}
		recs = append(recs, fs)
	}
	return recs
}

// TestRecords: the records systemd writes for UtmpMode=user, then the process's death, as
// utmpdump and who read them.
func TestRecords(t *testing.T) {
	if _, err := exec.LookPath("utmpdump"); err != nil {
		t.Skip(err)
	}
	f := files(t)
	if err := f.InitProcess("tty9x", 4242, 4242, "tty9", UserProcess, "alice"); err != nil {
		t.Fatal(err)
	}
	u := dump(t, f.Utmp)
	// utmpdump: [type] [pid] [id] [user] [line] [host] [addr] [time]
	if len(u) != 1 || u[0][0] != "7" || u[0][1] != "04242" || u[0][2] != "ty9x" || u[0][3] != "alice" || u[0][4] != "tty9" ||
		!strings.HasPrefix(u[0][7], "2026-01-02T03:04:05,000006") {
		t.Errorf("utmp %q", u)
	}
	w := dump(t, f.Wtmp)
	if len(w) != 3 || w[0][0] != "5" || w[1][0] != "6" || w[2][0] != "7" || w[0][3] != "" || w[2][3] != "alice" {
		t.Errorf("wtmp %q", w)
	}
	if out, err := exec.Command("who", f.Utmp).Output(); err != nil || !strings.HasPrefix(string(out), "alice    tty9") {
		t.Errorf("who: %q %v", out, err)
	}
	// Another process's exit leaves the record; this one's makes it DEAD_PROCESS.
	if err := f.DeadProcess("tty9x", 999, 1, 0); err != nil {
		t.Fatal(err)
	}
	if u := dump(t, f.Utmp); u[0][0] != "7" {
		t.Errorf("utmp after another pid's exit %q", u)
	}
	if err := f.DeadProcess("tty9x", 4242, 1, 3); err != nil {
		t.Fatal(err)
	}
	u = dump(t, f.Utmp)
	if len(u) != 1 || u[0][0] != "8" || u[0][1] != "04242" || u[0][3] != "" || u[0][4] != "tty9" || !strings.HasPrefix(u[0][7], "1970-01-01") {
		t.Errorf("utmp after exit %q", u)
	}
	b, _ := os.ReadFile(f.Utmp)
	if r := Unmarshal(b); r.Termination != 1 || r.Exit != 3 {
		t.Errorf("exit %d/%d", r.Termination, r.Exit)
	}
	if w := dump(t, f.Wtmp); len(w) != 4 || w[3][0] != "8" || !strings.HasPrefix(w[3][7], "2026-01-02") {
		t.Errorf("wtmp after exit %q", w)
	}
	// A second identifier gets a record of its own; a long one keeps its last 4 bytes.
	if err := f.InitProcess("console-getty", 77, 77, "", InitProcess, ""); err != nil {
		t.Fatal(err)
	}
	if u := dump(t, f.Utmp); len(u) != 2 || u[1][2] != "etty" || u[1][0] != "5" {
		t.Errorf("utmp %q", u)
	}
}

// TestMissingFiles: no utmp or wtmp file means nothing is written, and no error.
func TestMissingFiles(t *testing.T) {
	dir := t.TempDir()
	f := Files{Utmp: filepath.Join(dir, "utmp"), Wtmp: filepath.Join(dir, "wtmp")}
	if err := f.InitProcess("x", 1, 1, "", UserProcess, "root"); err != nil {
		t.Fatal(err)
	}
	if err := f.DeadProcess("x", 1, 1, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(f.Utmp); !os.IsNotExist(err) {
		t.Errorf("utmp made: %v", err)
	}
}
