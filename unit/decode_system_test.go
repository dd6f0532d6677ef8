//go:build difftest

package unit

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDecodeSystemUnits decodes every service, socket and target installed on this machine:
// systemd loads them all, so no error may come out, and warnings only for directives that
// systemd 252 itself does not know.
func TestDecodeSystemUnits(t *testing.T) {
	var files []string
	for _, dir := range []string{"/lib/systemd/system", "/usr/lib/systemd/user"} {
		for _, ext := range []string{"service", "socket", "target"} {
			m, _ := filepath.Glob(filepath.Join(dir, "*."+ext))
			files = append(files, m...)
		}
	}
	if len(files) == 0 {
		t.Skip("no systemd units installed")
	}
	n := 0
	for _, path := range files {
		data, err := os.ReadFile(path)
		if err != nil {
			continue // dangling symlink
		}
		fi, err := os.Stat(path)
		if err != nil || fi.Size() == 0 {
			continue // masked
		}
		n++
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			f, diags := ParseFile(path, data)
			u := newTestUnit(name)
			u.FragmentPath = path
			if strings.Contains(name, "@.") {
				u.SetInstance("inst", u.Template)
			}
			diags = append(diags, Decode(u, []*File{f}, testExpander(u))...)
			for _, d := range diags {
				if d.Severity == Error || !strings.HasPrefix(d.Msg, "Unknown key ") {
					t.Errorf("%s", d)
				}
			}
			if u.LoadState != Loaded {
				t.Errorf("LoadState = %s (%s)", u.LoadState, u.LoadError)
			}
		})
	}
	t.Logf("decoded %d units", n)
}
