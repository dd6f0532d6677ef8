// Package soak is flint's hostile suite: what an unprivileged local user or a careless unit
// author can throw at the manager (malformed unit files, garbage and floods on the control and
// notify sockets, connection floods, crash loops, processes that escape or ignore SIGTERM, a
// manager killed with SIGKILL, lying PID files), each case asserting that the manager keeps
// answering root, attributes nothing wrongly and gives back what it took. docs/reliability.md
// describes the cases and holds the figures of a run.
//
// TestMain builds the real flint binary and the hostile helper (./hostile: the clients and
// the small service programs). The suite runs in a short mode by default (CI) and in a long
// mode with FLINT_SOAK=long (bigger counts and durations); FLINT_SOAK_REPORT=FILE writes each
// case's figures there as markdown tables.
package soak

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Paths of what TestMain builds, in a directory every uid can reach (the hostile clients run
// as nobody).
var (
	flintBin   string
	hostileBin string
	repoRoot   string
	long       = os.Getenv("FLINT_SOAK") == "long"
)

func TestMain(m *testing.M) {
	os.Exit(runSuite(m))
}

func runSuite(m *testing.M) int {
	dir, err := os.MkdirTemp("", "flint-soak-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	if err := os.Chmod(dir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		return 1
	}
	_, file, _, _ := runtime.Caller(0)
	repoRoot = filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
	flintBin, hostileBin = filepath.Join(dir, "flint"), filepath.Join(dir, "hostile")
	for _, b := range [][2]string{{flintBin, "./cmd/flint"}, {hostileBin, "./test/soak/hostile"}} {
		cmd := exec.Command("go", "build", "-o", b[0], b[1])
		cmd.Dir = repoRoot
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "soak: go build %s: %v\n%s", b[1], err, out)
			return 1
		}
	}
	start := time.Now()
	code := m.Run()
	if path := os.Getenv("FLINT_SOAK_REPORT"); path != "" {
		if err := writeReport(path, time.Since(start)); err != nil {
			fmt.Fprintln(os.Stderr, "soak: report:", err)
			return 1
		}
	}
	return code
}

// pick is the short mode's value, or the long mode's under FLINT_SOAK=long.
func pick[T any](short, longer T) T {
	if long {
		return longer
	}
	return short
}

// mode names the mode for the report.
func mode() string {
	return pick("short", "long")
}

// writeReport writes the figures of every case that ran as markdown.
func writeReport(path string, took time.Duration) error {
	var b strings.Builder
	host, _ := os.Hostname()
	var uname string
	if out, err := exec.Command("uname", "-r").Output(); err == nil {
		uname = strings.TrimSpace(string(out))
	}
	fmt.Fprintf(&b, "Mode %s (FLINT_SOAK=%s), run %s on %s (Linux %s, %d CPUs, %s), %s in all.\n",
		mode(), os.Getenv("FLINT_SOAK"), time.Now().UTC().Format("2006-01-02 15:04 UTC"), host, uname,
		runtime.NumCPU(), runtime.Version(), took.Round(time.Second))
	for _, c := range allFigures() {
		fmt.Fprintf(&b, "\n### %s (%s)\n\n| figure | value |\n|---|---|\n", c.name, c.verdict)
		for _, r := range c.rows {
			fmt.Fprintf(&b, "| %s | %s |\n", r[0], strings.ReplaceAll(r[1], "|", `\|`))
		}
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}
