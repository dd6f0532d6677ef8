//go:build difftest

package unit

import (
	"os/exec"
	"strings"
	"testing"
)

// TestEscapeSystemd compares Escape and EscapePath with systemd-escape.
func TestEscapeSystemd(t *testing.T) {
	bin, err := exec.LookPath("systemd-escape")
	if err != nil {
		t.Skip("systemd-escape not installed")
	}
	for _, s := range escapeCases {
		t.Run(s, func(t *testing.T) {
			out, err := exec.Command(bin, "--", s).Output()
			if err != nil {
				t.Fatal(err)
			}
			if got, want := Escape(s), strings.TrimSuffix(string(out), "\n"); got != want {
				t.Errorf("Escape(%q) = %q, systemd-escape %q", s, got, want)
			}
			if s == "" || s == ".." {
				return // systemd-escape --path refuses these
			}
			out, err = exec.Command(bin, "--path", "--", s).Output()
			if err != nil {
				return
			}
			if got, want := EscapePath(s), strings.TrimSuffix(string(out), "\n"); got != want {
				t.Errorf("EscapePath(%q) = %q, systemd-escape --path %q", s, got, want)
			}
		})
	}
}
