package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flint-init/flint/unit"
)

func TestDefaultOOMPolicy(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	main := write("system.conf", "[Manager]\n#DefaultOOMPolicy=stop\nDefaultOOMPolicy=kill\n")
	bad := write("10-bad.conf", "[Manager]\nDefaultOOMPolicy=explode\n")
	cont := write("20-cont.conf", "[Manager]\nDefaultOOMPolicy=continue\n[Other]\nDefaultOOMPolicy=kill\n")
	tests := []struct {
		name  string
		paths []string
		want  string
		warn  string
	}{
		{"none", []string{filepath.Join(dir, "missing.conf")}, "", ""},
		{"main file", []string{main}, "kill", ""},
		{"bad value ignored", []string{main, bad}, "kill", bad + ":2: Failed to parse OOM policy, ignoring: explode\n"},
		{"drop-in wins", []string{main, bad, cont}, "continue", bad + ":2: Failed to parse OOM policy, ignoring: explode\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var w bytes.Buffer
			if got := defaultOOMPolicy(tc.paths, &w); got != tc.want || w.String() != tc.warn {
				t.Errorf("got %q, warnings %q; want %q, %q", got, w.String(), tc.want, tc.warn)
			}
		})
	}
	if p := managerConfPaths(unit.System); len(p) == 0 || !strings.HasSuffix(p[0], "/etc/systemd/system.conf") {
		t.Errorf("paths %v", p)
	}
}
