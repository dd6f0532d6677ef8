//go:build difftest

package unit

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// TestDecodeMatchesSystemd is a differential test: where systemd-analyze (systemd 252) is
// installed, it loads each unit of testdata/decode and testdata/systemd with the real
// load-fragment code (systemd-analyze verify), and the file:line messages it prints must be
// exactly the diagnostics flint gives for the same file.
func TestDecodeMatchesSystemd(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not installed")
	}
	inputs, _ := filepath.Glob("testdata/decode/*")
	more, _ := filepath.Glob("testdata/systemd/*")
	inputs = append(inputs, more...)
	if dir := os.Getenv("FLINT_DIFF_UNITS"); dir != "" {
		// FLINT_DIFF_UNITS=/lib/systemd/system go test -run TestDecodeMatchesSystemd
		for _, ext := range []string{"service", "socket", "target"} {
			m, _ := filepath.Glob(filepath.Join(dir, "*."+ext))
			inputs = append(inputs, m...)
		}
	}
	for _, in := range inputs {
		name := filepath.Base(in)
		if strings.HasSuffix(name, ".golden") || strings.Contains(name, "@") {
			continue // templates: systemd instantiates them with another instance name
		}
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(in)
			if err != nil || len(data) == 0 {
				t.Skip("unreadable or masked") // e.g. a link to /dev/null
			}
			dir := t.TempDir()
			path := filepath.Join(dir, name)
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(analyze, "verify", "--man=no", path)
			cmd.Env = append(os.Environ(), "SYSTEMD_LOG_COLOR=0", "SYSTEMD_LOG_LEVEL=info", "SYSTEMD_LOG_LOCATION=0")
			out, _ := cmd.CombinedOutput()
			re := regexp.MustCompile(`^` + regexp.QuoteMeta(path) + `:(\d+): (.*)$`)
			var want []string
			sc := bufio.NewScanner(bytes.NewReader(out))
			for sc.Scan() {
				if m := re.FindStringSubmatch(sc.Text()); m != nil {
					// systemd prints the control characters a unit file quotes as they
					// are; flint escapes them (Printable)
					want = append(want, m[1]+": "+Printable(m[2]))
				}
			}
			refusal := regexp.MustCompile(`^` + regexp.QuoteMeta(name) + `: (.*(Refusing|Ignoring)\.)$`)
			sc = bufio.NewScanner(bytes.NewReader(out))
			for sc.Scan() {
				if m := refusal.FindStringSubmatch(sc.Text()); m != nil {
					want = append(want, "0: "+m[1])
				}
			}
			wantState := Loaded
			switch {
			case bytes.Contains(out, []byte("has a bad unit file setting")):
				wantState = BadSetting
			case bytes.Contains(out, []byte("failed to load properly")):
				wantState = LoadError
			}

			u := newTestUnit(name)
			u.FragmentPath = path
			u.setLoadState(Loaded)
			f, diags := ParseFile(path, data)
			if hasError(diags) {
				u.setLoadState(LoadError) // as the loader does; Verify is then skipped
			}
			// systemd reports the lines before a fatal syntax error too: decode what was read
			diags = append(diags, Decode(u, []*File{f}, testExpander(u))...)
			var got []string
			for _, d := range diags {
				got = append(got, strconv.Itoa(d.Line)+": "+d.Msg)
			}
			if u.LoadState != wantState {
				t.Errorf("LoadState = %s, systemd: %s", u.LoadState, wantState)
			}
			byLine := func(l []string) {
				sort.SliceStable(l, func(i, j int) bool {
					a, _ := strconv.Atoi(strings.SplitN(l[i], ":", 2)[0])
					b, _ := strconv.Atoi(strings.SplitN(l[j], ":", 2)[0])
					return a < b
				})
			}
			byLine(want)
			byLine(got)
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("flint:\n%s\nsystemd:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

func hasError(diags []Diagnostic) bool {
	for _, d := range diags {
		if d.Severity == Error {
			return true
		}
	}
	return false
}
