package unit

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestExecDeps checks the dependencies of execution settings (addExecDeps) against what
// systemd 252's unit_add_exec_dependencies gives, in the system and the user scope.
func TestExecDeps(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", "")
	t.Setenv("XDG_CACHE_HOME", "")
	t.Setenv("XDG_RUNTIME_DIR", "/run/user/4711")
	const nodeps = "[Unit]\nDefaultDependencies=no\n"
	cases := []struct {
		name, body string
		scope      Scope
		// the After=, Requires= and RequiresMountsFor= flint shows
		after, requires, mounts string
	}{
		{"plain.service", "[Service]\nExecStart=/bin/true\n", System, "systemd-journald.socket", "", ""},
		{"null.service", "[Service]\nExecStart=/bin/true\nStandardOutput=null\n", System, "", "", ""},
		{"stderr.service", "[Service]\nExecStart=/bin/true\nStandardOutput=null\nStandardError=kmsg\n", System, "systemd-journald.socket", "", ""},
		{"tty-inherit.service", "[Service]\nExecStart=/bin/true\nStandardInput=tty\n", System, "", "", ""},
		{"console.service", "[Service]\nExecStart=/bin/true\nStandardOutput=journal+console\n", System, "systemd-journald.socket", "", ""},
		{"ns.service", "[Service]\nExecStart=/bin/true\nLogNamespace=foo\n", System,
			"systemd-journald@foo.socket systemd-journald-varlink@foo.socket", "systemd-journald@foo.socket systemd-journald-varlink@foo.socket", ""},
		{"tmp.service", "[Service]\nExecStart=/bin/true\nStandardOutput=null\nPrivateTmp=yes\n", System, "systemd-tmpfiles-setup.service", "", "/var/tmp"},
		{"dyn.service", "[Service]\nExecStart=/bin/true\nStandardOutput=null\nDynamicUser=yes\n", System, "systemd-tmpfiles-setup.service", "", "/var/tmp"},
		{"runtime.service", "[Service]\nExecStart=/bin/true\nStandardOutput=null\nRuntimeDirectory=r\nConfigurationDirectory=c\n", System, "", "", "/run/r /etc/c"},
		{"state.service", "[Service]\nExecStart=/bin/true\nStandardOutput=null\nStateDirectory=s/t:alias\n", System, "systemd-remount-fs.service", "", "/var/lib/s/t"},
		{"cache.service", "[Service]\nExecStart=/bin/true\nStandardOutput=null\nCacheDirectory=c\nLogsDirectory=l\n", System, "systemd-remount-fs.service", "", "/var/cache/c /var/log/l"},
		{"dirs.service", "[Service]\nExecStart=/bin/true\nStandardOutput=null\nWorkingDirectory=/srv//w/\nRootDirectory=/srv/root\n", System, "", "", "/srv/w /srv/root"},
		{"dir-optional.service", "[Service]\nExecStart=/bin/true\nStandardOutput=null\nWorkingDirectory=-/srv/w\n", System, "", "", ""},
		{"dir-home.service", "[Service]\nExecStart=/bin/true\nStandardOutput=null\nWorkingDirectory=~\n", System, "", "", ""},
		{"image.service", "[Service]\nExecStart=/bin/true\nStandardOutput=null\nRootImage=/srv/img.raw\n", System, "systemd-udevd.service", "", "/srv/img.raw"},
		{"explicit.service", nodeps + "RequiresMountsFor=/srv/x\n[Service]\nExecStart=/bin/true\nPrivateTmp=yes\n", System,
			"systemd-tmpfiles-setup.service systemd-journald.socket", "", "/srv/x /var/tmp"},
		{"nocmd.socket", nodeps + "[Socket]\nListenStream=/run/nocmd.sock\nListenStream=@abstract\nListenStream=127.0.0.1:21200\nListenFIFO=/run//fifo\nPrivateTmp=yes\n", System, "", "", "/run/nocmd.sock /run/fifo"},
		{"cmd.socket", nodeps + "[Socket]\nListenStream=/run/cmd.sock\nPrivateTmp=yes\nExecStartPre=/bin/true\n", System,
			"systemd-tmpfiles-setup.service systemd-journald.socket", "", "/run/cmd.sock /var/tmp"},
		{"persistent.timer", nodeps + "[Timer]\nOnCalendar=daily\nPersistent=yes\n", System, "", "", "/var/lib/systemd/timers"},
		{"persistent-user.timer", nodeps + "[Timer]\nOnCalendar=daily\nPersistent=yes\n", User, "", "", ""},
		{"volatile.timer", nodeps + "[Timer]\nOnCalendar=daily\n", System, "", "", ""},
		// a user manager adds only the mount requirements, under 252's user directories
		{"user.service", nodeps + "[Service]\nExecStart=/bin/true\nPrivateTmp=yes\nStateDirectory=s\nLogsDirectory=l\nCacheDirectory=c\nRuntimeDirectory=r\nWorkingDirectory=/srv/w\n", User,
			"", "", "/srv/w /run/user/4711/r " + home + "/.config/s " + home + "/.cache/c " + home + "/.config/log/l"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, c.name), []byte(c.body), 0o644); err != nil {
				t.Fatal(err)
			}
			u := NewLoader(c.scope, []string{dir}).Load(c.name)
			if u.LoadState != Loaded {
				t.Fatalf("%s: %s %v", c.name, u.LoadState, u.LoadError)
			}
			var after, requires []string
			for _, n := range u.Unit.After {
				if !strings.HasSuffix(n, ".target") && !strings.HasSuffix(n, ".socket") || strings.HasPrefix(n, "systemd-journald") {
					after = append(after, n) // without the default dependencies
				}
			}
			for _, n := range u.Unit.Requires {
				if !strings.HasSuffix(n, ".target") {
					requires = append(requires, n)
				}
			}
			if got := strings.Join(after, " "); got != c.after {
				t.Errorf("After=%q, want %q", got, c.after)
			}
			if got := strings.Join(requires, " "); got != c.requires {
				t.Errorf("Requires=%q, want %q", got, c.requires)
			}
			if got := strings.Join(u.Unit.RequiresMountsFor, " "); got != c.mounts {
				t.Errorf("RequiresMountsFor=%q, want %q", got, c.mounts)
			}
		})
	}
}
