package main

import (
	"bytes"
	"os"
	"testing"

	"github.com/flint-init/flint/client"
	"github.com/flint-init/flint/unit/install"
)

// TestLocaleIsUTF8: systemd 252's is_locale_utf8 as the environment decides it.
func TestLocaleIsUTF8(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		want bool
	}{
		{"nothing set", nil, true},
		{"LANG=C.UTF-8", map[string]string{"LANG": "C.UTF-8"}, true},
		{"LC_ALL=C over LANG", map[string]string{"LC_ALL": "C", "LANG": "C.UTF-8"}, false},
		{"LANG=C", map[string]string{"LANG": "C"}, false},
		{"LC_CTYPE=POSIX", map[string]string{"LC_CTYPE": "POSIX"}, false},
		{"LC_ALL=en_US.utf8", map[string]string{"LC_ALL": "en_US.utf8"}, true},
		{"SYSTEMD_UTF8=1 over C", map[string]string{"LC_ALL": "C", "SYSTEMD_UTF8": "1"}, true},
		{"SYSTEMD_UTF8=no", map[string]string{"SYSTEMD_UTF8": "no"}, false},
		{"SYSTEMD_UTF8 not a boolean", map[string]string{"SYSTEMD_UTF8": "maybe", "LANG": "C"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, k := range []string{"LC_ALL", "LC_CTYPE", "LANG", "SYSTEMD_UTF8"} {
				t.Setenv(k, "")
				unsetenv(t, k)
			}
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			if got := localeIsUTF8(); got != tc.want {
				t.Errorf("localeIsUTF8() = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestChangeText: the arrow of "Created symlink" in each locale's glyphs.
func TestChangeText(t *testing.T) {
	c := install.Change{Type: install.ChangeSymlink, Path: "/etc/a.wants/b.service", Source: "/lib/b.service"}
	if got := c.String(); got != "Created symlink /etc/a.wants/b.service → /lib/b.service." {
		t.Errorf("String: %q", got)
	}
	if glyphs().utf8 {
		if got := changeText(c); got != c.String() {
			t.Errorf("changeText in a UTF-8 locale: %q", got)
		}
	} else if got := changeText(c); got != "Created symlink /etc/a.wants/b.service -> /lib/b.service." {
		t.Errorf("changeText in an ASCII locale: %q", got)
	}
}

// TestWriteDepList: --plain lists each unit once, where the tree first has it.
func TestWriteDepList(t *testing.T) {
	nodes := []client.DepNode{{Unit: "multi-user.target"}, {Unit: "a.service", Depth: 1}, {Unit: "system.slice", Depth: 2},
		{Unit: "-.slice", Depth: 3}, {Unit: "b.service", Depth: 1}, {Unit: "system.slice", Depth: 2}, {Unit: "-.slice", Depth: 3},
		{Unit: "multi-user.target", Depth: 1}}
	var b bytes.Buffer
	writeDepList(&b, nodes)
	want := "multi-user.target\n  a.service\n  system.slice\n  -.slice\n  b.service\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

// unsetenv removes k for the rest of the test (t.Setenv before it restores k at the end).
func unsetenv(t *testing.T, k string) {
	t.Helper()
	if err := os.Unsetenv(k); err != nil {
		t.Fatal(err)
	}
}
