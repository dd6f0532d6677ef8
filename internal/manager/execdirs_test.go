package manager

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/flint-init/flint/internal/spawn"
	"github.com/flint-init/flint/unit"
)

// TestSetupExecDirs: RuntimeDirectory= and friends as systemd 252 sets them up (execdirs.go;
// internal/difftest's exec-dirs scenarios compare the same with systemd itself), on five
// base directories under a temporary directory. Each row prepares a tree (lines "dir PATH
// MODE UID", "file PATH MODE UID", "link PATH TARGET"), sets up the settings for owner, and
// compares the listing of the tree ("PATH MODE UID:GID", symlinks "PATH -> TARGET UID:GID").
func TestSetupExecDirs(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("needs root (chown)")
	}
	const u = 65534 // any uid: chown needs no such user
	user := &dirOwner{u, u}
	for _, tc := range []struct {
		name     string
		before   []string
		settings map[string][]string // kind -> names; modes in modes
		modes    map[string]os.FileMode
		owner    *dirOwner
		want     []string
		warn     string // root's path given as "ROOT"
		status   int    // the ExecError's exit status, 0 for success
		dynamic  bool   // DynamicUser=yes
	}{
		{name: "nested: the parent stays root's",
			settings: map[string][]string{"RuntimeDirectory": {"ckt/tls"}}, modes: map[string]os.FileMode{"RuntimeDirectory": 0o750},
			owner: user, want: []string{"run/ckt 755 0:0", "run/ckt/tls 750 65534:65534"}},
		{name: "a listed parent is handled first",
			settings: map[string][]string{"StateDirectory": {"st/a/b", "st"}}, modes: map[string]os.FileMode{"StateDirectory": 0o700},
			owner: user, want: []string{"lib/st 700 65534:65534", "lib/st/a 755 0:0", "lib/st/a/b 700 65534:65534"}},
		{name: "an existing tree with another owner is given to the user",
			before:   []string{"dir cache/c 700 0", "dir cache/c/sub 700 0", "file cache/c/sub/f 4755 0", "file outside 600 0", "link cache/c/link ../../outside"},
			settings: map[string][]string{"CacheDirectory": {"c"}}, owner: user,
			want: []string{"cache/c 755 65534:65534", "cache/c/link -> ../../outside 65534:65534", "cache/c/sub 700 65534:65534",
				"cache/c/sub/f 4755 65534:65534", "outside 600 0:0"}},
		{name: "an existing directory owned right is not descended into",
			before:   []string{"dir log/x 700 65534", "file log/x/rootfile 644 0"},
			settings: map[string][]string{"LogsDirectory": {"x"}}, owner: user,
			want: []string{"log/x 755 65534:65534", "log/x/rootfile 644 0:0"}},
		{name: "an existing configuration directory is left, a new one made",
			before:   []string{"dir etc/y 700 0"},
			settings: map[string][]string{"ConfigurationDirectory": {"y", "z"}}, modes: map[string]os.FileMode{"ConfigurationDirectory": 0o751},
			owner: user, want: []string{"etc/y 700 0:0", "etc/z 751 65534:65534"},
			warn: "ConfigurationDirectory 'y' already exists but the mode is different. (File system: 700 ConfigurationDirectoryMode: 751)"},
		{name: "no User= in a system manager: root's",
			before:   []string{"dir lib/r 755 65534", "file lib/r/f 644 65534"},
			settings: map[string][]string{"StateDirectory": {"r"}}, owner: &dirOwner{0, 0},
			want: []string{"lib/r 755 0:0", "lib/r/f 644 0:0"}},
		{name: "a user manager without User= leaves the owner",
			before:   []string{"dir run/k 700 65534"},
			settings: map[string][]string{"RuntimeDirectory": {"k", "n"}}, owner: nil,
			want: []string{"run/k 755 65534:65534", "run/n 755 0:0"}},
		{name: "a symlink in place of the directory fails",
			before:   []string{"dir elsewhere 700 0", "link lib/s ../elsewhere"},
			settings: map[string][]string{"StateDirectory": {"s"}}, owner: user,
			want: []string{"elsewhere 700 0:0", "lib/s -> ../elsewhere 0:0"}, status: 238},
		{name: "a file in place of the directory fails",
			before:   []string{"file cache/f 644 0"},
			settings: map[string][]string{"CacheDirectory": {"f/sub"}}, owner: user,
			want: []string{"cache/f 644 0:0"}, status: 239},
		{name: "DynamicUser: state, cache and logs under private, runtime in place",
			settings: map[string][]string{"StateDirectory": {"st/a"}, "CacheDirectory": {"c"}, "LogsDirectory": {"l"}, "RuntimeDirectory": {"r"}},
			owner:    user, dynamic: true,
			want: []string{"cache/c -> private/c 0:0", "cache/private 700 0:0", "cache/private/c 755 65534:65534",
				"lib/private 700 0:0", "lib/private/st 755 0:0", "lib/private/st/a 755 65534:65534", "lib/st 755 0:0",
				"lib/st/a -> ../private/st/a 0:0", "log/l -> private/l 0:0", "log/private 700 0:0", "log/private/l 755 65534:65534",
				"run/r 755 65534:65534"}},
		{name: "DynamicUser: a public directory moves to private, without set-user-ID",
			before:   []string{"dir lib/m 700 0", "file lib/m/f 6755 0", "file lib/m/g 1644 0"},
			settings: map[string][]string{"StateDirectory": {"m"}}, owner: user, dynamic: true,
			want: []string{"lib/m -> private/m 0:0", "lib/private 700 0:0", "lib/private/m 755 65534:65534",
				"lib/private/m/f 755 65534:65534", "lib/private/m/g 1644 65534:65534"},
			warn: "Found pre-existing public StateDirectory= directory ROOT/lib/m, migrating to ROOT/lib/private/m.\n" +
				"Apparently, service previously had DynamicUser= turned off, and has now turned it on."},
		// Owned right already: not descended into (systemd's shortcut looks at the top only).
		{name: "DynamicUser: the link and the private directory found as they should be",
			before:   []string{"dir lib/private 700 0", "dir lib/private/k 700 65534", "file lib/private/k/f 4755 65534", "link lib/k private/k"},
			settings: map[string][]string{"StateDirectory": {"k"}}, owner: user, dynamic: true,
			want: []string{"lib/k -> private/k 0:0", "lib/private 700 0:0", "lib/private/k 755 65534:65534", "lib/private/k/f 4755 65534:65534"}},
		{name: "DynamicUser: a private directory open to others fails",
			before:   []string{"dir lib/private 755 0"},
			settings: map[string][]string{"StateDirectory": {"x"}}, owner: user, dynamic: true,
			want: []string{"lib/private 755 0:0"}, status: 238,
			warn: `Directory "ROOT/lib/private" already exists, but has mode 0755 that is too permissive (0700 was requested), refusing.`},
		{name: "DynamicUser: a directory where the link goes fails",
			before:   []string{"dir lib/private 700 0", "dir lib/private/d 700 0", "dir lib/d 755 0"},
			settings: map[string][]string{"StateDirectory": {"d"}}, owner: user, dynamic: true,
			want: []string{"lib/d 755 0:0", "lib/private 700 0:0", "lib/private/d 700 0:0"}, status: 238},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			for _, b := range []string{"run", "lib", "cache", "log", "etc"} {
				if err := os.Mkdir(filepath.Join(root, b), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			for _, line := range tc.before {
				makeEntry(t, root, line)
			}
			ec := &unit.ExecContext{
				RuntimeDirectory: tc.settings["RuntimeDirectory"], RuntimeDirectoryMode: tc.modes["RuntimeDirectory"],
				StateDirectory: tc.settings["StateDirectory"], StateDirectoryMode: tc.modes["StateDirectory"],
				CacheDirectory: tc.settings["CacheDirectory"], CacheDirectoryMode: tc.modes["CacheDirectory"],
				LogsDirectory: tc.settings["LogsDirectory"], LogsDirectoryMode: tc.modes["LogsDirectory"],
				ConfigurationDirectory: tc.settings["ConfigurationDirectory"], ConfigurationDirectoryMode: tc.modes["ConfigurationDirectory"],
			}
			var base [5]string
			for i, b := range []string{"run", "lib", "cache", "log", "etc"} {
				base[i] = filepath.Join(root, b)
			}
			dirs := execDirsAt(base, ec, tc.dynamic)
			var warned []string
			old := syscall.Umask(0o022)
			err := setupExecDirs(dirs, tc.owner, func(s string) { warned = append(warned, s) })
			syscall.Umask(old)
			var ee *spawn.ExecError
			switch {
			case tc.status == 0 && err != nil:
				t.Fatalf("setup: %v", err)
			case tc.status != 0 && (!errors.As(err, &ee) || ee.Status != tc.status):
				t.Errorf("setup: %v, want an exit status %d", err, tc.status)
			}
			if got := listTree(t, root); !slices.Equal(got, tc.want) {
				t.Errorf("tree:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
			if got := strings.ReplaceAll(strings.Join(warned, "\n"), root, "ROOT"); got != tc.warn {
				t.Errorf("warnings %q, want %q", got, tc.warn)
			}
		})
	}
}

// makeEntry creates one line of TestSetupExecDirs's "before" under root.
func makeEntry(t *testing.T, root, line string) {
	t.Helper()
	f := strings.Fields(line)
	p := filepath.Join(root, f[1])
	var mode, uid int
	if f[0] != "link" {
		fmt.Sscanf(f[2], "%o", &mode)
		fmt.Sscanf(f[3], "%d", &uid)
	}
	var err error
	switch f[0] {
	case "dir":
		err = os.Mkdir(p, 0o700)
	case "file":
		err = os.WriteFile(p, []byte("x"), 0o600)
	case "link":
		err = os.Symlink(f[2], p)
	}
	if err == nil && f[0] != "link" {
		if err = os.Chown(p, uid, uid); err == nil {
			err = syscall.Chmod(p, uint32(mode))
		}
	}
	if err != nil {
		t.Fatal(err)
	}
}

// listTree lists everything below root as TestSetupExecDirs compares it, sorted, without the
// empty base directories.
func listTree(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	err := filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err != nil || p == root {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		st := fi.Sys().(*syscall.Stat_t)
		if !strings.Contains(rel, "/") && !slices.Contains([]string{"outside", "elsewhere"}, rel) {
			return nil // a base directory
		}
		if fi.Mode()&os.ModeSymlink != 0 {
			target, _ := os.Readlink(p)
			out = append(out, fmt.Sprintf("%s -> %s %d:%d", rel, target, st.Uid, st.Gid))
			return nil
		}
		out = append(out, fmt.Sprintf("%s %o %d:%d", rel, st.Mode&0o7777, st.Uid, st.Gid))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// TestExecDirsUser: a user manager's directories go where systemd 252's go (StateDirectory=
// in $XDG_CONFIG_HOME, not $XDG_STATE_HOME); without $XDG_RUNTIME_DIR a RuntimeDirectory=
// fails with its exit status and nothing is made relative to the working directory.
func TestExecDirsUser(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", "")
	t.Setenv("XDG_CACHE_HOME", "")
	t.Setenv("XDG_STATE_HOME", filepath.Join(home, "state"))
	t.Setenv("XDG_RUNTIME_DIR", filepath.Join(home, "run"))
	ec := &unit.ExecContext{StateDirectory: []string{"s"}, LogsDirectory: []string{"l"}, CacheDirectory: []string{"c"}}
	if err := setupExecDirs(execDirs(unit.User, ec), nil, func(string) {}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{".config/s", ".config/log/l", ".cache/c"} {
		if fi, err := os.Stat(filepath.Join(home, p)); err != nil || !fi.IsDir() {
			t.Errorf("%s: %v", p, err)
		}
	}
	if _, err := os.Stat(filepath.Join(home, "state")); err == nil {
		t.Errorf("$XDG_STATE_HOME used")
	}
	t.Setenv("XDG_RUNTIME_DIR", "")
	t.Chdir(home)
	err := setupExecDirs(execDirs(unit.User, &unit.ExecContext{RuntimeDirectory: []string{"r"}}), nil, func(string) {})
	var ee *spawn.ExecError
	if !errors.As(err, &ee) || ee.Status != 233 {
		t.Errorf("RuntimeDirectory= without $XDG_RUNTIME_DIR: %v, want exit status 233", err)
	}
	if _, err := os.Stat(filepath.Join(home, "r")); err == nil {
		t.Errorf("RuntimeDirectory= made relative to the working directory")
	}
}
