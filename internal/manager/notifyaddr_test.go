package manager

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestNotifyAddress: the notify socket goes next to the control socket, unless a root
// manager's directory is closed to other users somewhere on its path (then abstract).
func TestNotifyAddress(t *testing.T) {
	open, err := os.MkdirTemp("", "flint-notify-open-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(open)
	if err := os.Chmod(open, 0o755); err != nil {
		t.Fatal(err)
	}
	if got := notifyAddress(open); got != filepath.Join(open, "notify") {
		t.Errorf("notifyAddress(%s) = %q, want the path next to the control socket", open, got)
	}
	closed := filepath.Join(open, "private", "run")
	if err := os.MkdirAll(closed, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Dir(closed), 0o700); err != nil {
		t.Fatal(err)
	}
	got := notifyAddress(closed)
	if os.Geteuid() != 0 {
		// An unprivileged manager's services run as its own user: the path is fine.
		if got != filepath.Join(closed, "notify") {
			t.Errorf("unprivileged notifyAddress(%s) = %q, want the path", closed, got)
		}
		return
	}
	if !strings.HasPrefix(got, "@flint/notify/") || got == notifyAddress(closed) {
		t.Errorf("notifyAddress(%s) = %q, want a fresh abstract name under @flint/notify/", closed, got)
	}
}
