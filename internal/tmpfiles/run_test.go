package tmpfiles

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestMainUnderRoot runs Main over a root directory (as systemd-tmpfiles --root): what each
// operation leaves, the exit status, and the messages naming file and line.
// (internal/difftest's TestTmpfilesSnippets compares all of it with systemd-tmpfiles 252.)
func TestMainUnderRoot(t *testing.T) {
	type node struct {
		mode    os.FileMode // type and permissions; 0: must not exist
		content string      // file contents, or link target
	}
	for _, c := range []struct {
		name   string
		conf   string
		setup  map[string]string // path → content ("/" at the end: a directory)
		ops    Options
		status int
		want   map[string]node
		logs   []string
	}{
		{
			name: "create",
			conf: "d /run/d 0750\nf /run/d/f 0640 - - - hello\\n\nL /run/l - - - - d/f\np /run/p 0600\nw /run/d/f - - - - again\n",
			ops:  Options{Create: true},
			want: map[string]node{
				"/run/d":   {os.ModeDir | 0o750, ""},
				"/run/d/f": {0o640, "again\n"}, // w writes from the start, without truncating
				"/run/l":   {os.ModeSymlink | 0o777, "d/f"},
				"/run/p":   {os.ModeNamedPipe | 0o600, ""},
			},
		},
		{
			name:  "existing files are kept, f+ truncates",
			conf:  "f /keep - - - - new\nf+ /trunc - - - - new\nw+ /append - - - - more\n",
			setup: map[string]string{"/keep": "old", "/trunc": "old", "/append": "old"},
			ops:   Options{Create: true},
			want: map[string]node{
				"/keep":   {0o644, "old"},
				"/trunc":  {0o644, "new"},
				"/append": {0o644, "oldmore"},
			},
		},
		{
			name:   "remove",
			conf:   "r /tmp/a*\nR /tmp/tree\nD /tmp/d\nx /tmp/d/keep\nr /tmp/full\n",
			setup:  map[string]string{"/tmp/a1": "", "/tmp/a2": "", "/tmp/b": "", "/tmp/tree/x/y": "", "/tmp/d/f": "", "/tmp/d/keep": "", "/tmp/full/f": ""},
			ops:    Options{Remove: true},
			status: ExitCantCreat,
			// D empties the directory with rm -rf, x lines notwithstanding (as systemd 252)
			want: map[string]node{
				"/tmp/a1": {}, "/tmp/a2": {}, "/tmp/b": {0o644, ""}, "/tmp/tree": {},
				"/tmp/d/f": {}, "/tmp/d/keep": {}, "/tmp/d": {os.ModeDir | 0o755, ""}, "/tmp/full/f": {0o644, ""},
			},
			// r on a directory that is not empty: left, and said as systemd-tmpfiles says it
			logs: []string{"rm(ROOT/tmp/full): Directory not empty"},
		},
		{
			name:   "a bad line is refused with file and line, the others apply",
			conf:   "d /ok\nd relative\nd /bad - no-such-user\n",
			ops:    Options{Create: true},
			status: ExitDataErr,
			want:   map[string]node{"/ok": {os.ModeDir | 0o755, ""}, "/bad": {}},
			logs: []string{
				"ROOT/usr/lib/tmpfiles.d/t.conf:2: Path 'relative' not absolute.",
				"ROOT/usr/lib/tmpfiles.d/t.conf:3: Failed to resolve user 'no-such-user': No such process",
			},
		},
		{
			name:   "a line that cannot be applied",
			conf:   "f /file/under/a/file - - - - x\nd /ok\n",
			setup:  map[string]string{"/file": "x"},
			ops:    Options{Create: true},
			status: ExitCantCreat,
			want:   map[string]node{"/ok": {os.ModeDir | 0o755, ""}},
		},
		{
			name: "boot lines only with --boot, prefixes",
			conf: "f! /boot-only\nf /run/in\nf /var/out\n",
			ops:  Options{Create: true, Prefix: []string{"/run"}},
			want: map[string]node{"/boot-only": {}, "/run/in": {0o644, ""}, "/var/out": {}},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			root := testRoot(t)
			for p, content := range c.setup {
				full := filepath.Join(root, p)
				if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			conf := filepath.Join(root, "usr/lib/tmpfiles.d/t.conf")
			os.MkdirAll(filepath.Dir(conf), 0o755)
			if err := os.WriteFile(conf, []byte(c.conf), 0o644); err != nil {
				t.Fatal(err)
			}
			var logs bytes.Buffer
			o := c.ops
			o.Root = root
			o.Log = WriterLogger(&logs, LevelNotice)
			o.Getenv = func(string) string { return "" }
			if got := Main(o); got != c.status {
				t.Errorf("exit status %d, want %d; messages:\n%s", got, c.status, logs.String())
			}
			for p, w := range c.want {
				full := filepath.Join(root, p)
				st, err := os.Lstat(full)
				if w.mode == 0 {
					if err == nil {
						t.Errorf("%s exists", p)
					}
					continue
				}
				if err != nil {
					t.Errorf("%s: %v", p, err)
					continue
				}
				if st.Mode() != w.mode {
					t.Errorf("%s: mode %v, want %v", p, st.Mode(), w.mode)
				}
				switch {
				case st.Mode().IsRegular():
					if b, _ := os.ReadFile(full); string(b) != w.content {
						t.Errorf("%s: %q, want %q", p, b, w.content)
					}
				case st.Mode()&os.ModeSymlink != 0:
					if l, _ := os.Readlink(full); l != w.content {
						t.Errorf("%s -> %q, want %q", p, l, w.content)
					}
				}
			}
			for _, l := range c.logs {
				if l = strings.ReplaceAll(l, "ROOT", root); !strings.Contains(logs.String(), l) {
					t.Errorf("messages lack %q:\n%s", l, logs.String())
				}
			}
		})
	}
}

// TestCleanAges: --clean removes what is older than the age, keeps the directory itself,
// what x excludes and, with '~', the first level; a directory emptied now is newer than the
// age (removing its entries changed its modification time). The ages go by the modification time (m:):
// by default the change and birth times count too, which a test cannot set back.
func TestCleanAges(t *testing.T) {
	root := testRoot(t)
	old := time.Now().Add(-48 * time.Hour)
	for _, p := range []string{"/tmp/a/old", "/tmp/a/x/old", "/tmp/a/new", "/tmp/a/keep", "/tmp/b/first/old", "/tmp/c/old"} {
		full := filepath.Join(root, p)
		os.MkdirAll(filepath.Dir(full), 0o755)
		if err := os.WriteFile(full, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if !strings.HasSuffix(p, "new") {
			os.Chtimes(full, old, old)
		}
	}
	for _, d := range []string{"/tmp/a/x", "/tmp/b/first"} {
		os.Chtimes(filepath.Join(root, d), old, old)
	}
	conf := filepath.Join(root, "usr/lib/tmpfiles.d/t.conf")
	os.MkdirAll(filepath.Dir(conf), 0o755)
	os.WriteFile(conf, []byte("d /tmp/a - - - m:1d\nx /tmp/a/keep\nd /tmp/b - - - ~m:1d\nd /tmp/c - - - 1d\n"), 0o644)
	var logs bytes.Buffer
	if got := Main(Options{Clean: true, Root: root, Log: WriterLogger(&logs, LevelNotice), Getenv: func(string) string { return "" }}); got != 0 {
		t.Fatalf("exit status %d:\n%s", got, logs.String())
	}
	for p, exists := range map[string]bool{
		"/tmp/a": true, "/tmp/a/old": false, "/tmp/a/x": true, "/tmp/a/x/old": false, "/tmp/a/new": true, "/tmp/a/keep": true,
		"/tmp/b/first": true, "/tmp/b/first/old": false, "/tmp/c/old": true,
	} {
		if _, err := os.Lstat(filepath.Join(root, p)); (err == nil) != exists {
			t.Errorf("%s: exists %v, want %v", p, err == nil, exists)
		}
	}
}
