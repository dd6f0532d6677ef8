package unit

import (
	"slices"
	"testing"
)

// TestGlobalLookup: systemctl --global's directories, below --root too.
func TestGlobalLookup(t *testing.T) {
	lk := GlobalLookup("")
	if lk.Scope != User || lk.Config != "/etc/systemd/user" || lk.Root != "" ||
		!slices.Equal(lk.Path, []string{"/etc/systemd/user", "/run/systemd/user", "/usr/local/share/systemd/user",
			"/usr/share/systemd/user", "/usr/local/lib/systemd/user", "/usr/lib/systemd/user"}) {
		t.Errorf("GlobalLookup(\"\") = %+v", lk)
	}
	r := GlobalLookup("/srv/img/")
	if r.Root != "/srv/img" || r.Config != "/srv/img/etc/systemd/user" || r.Path[5] != "/srv/img/usr/lib/systemd/user" {
		t.Errorf("GlobalLookup(root) = %+v", r)
	}
	if lk.Path[0] != "/etc/systemd/user" {
		t.Errorf("a rooted lookup changed the plain one: %v", lk.Path)
	}
	if got := r.Unrooted("/srv/img/usr/lib/systemd/user/a.service"); got != "/usr/lib/systemd/user/a.service" {
		t.Errorf("Unrooted: %s", got)
	}
}
