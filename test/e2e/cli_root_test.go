package e2e

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// rootCorpus is a root file system's unit files, presets and links (path -> content; "->"
// begins a symlink's target), for systemctl --root and flint --root.
var rootCorpus = map[string]string{
	"lib/systemd/system/foo.socket":         "[Socket]\nListenStream=20150\n[Install]\nWantedBy=sockets.target\nAlias=bar.socket\nAlso=foo.service\n",
	"lib/systemd/system/foo.service":        "[Service]\nExecStart=/bin/true\n[Install]\nRequiredBy=multi-user.target\n",
	"lib/systemd/system/static.service":     "[Service]\nExecStart=/bin/true\n",
	"lib/systemd/system/getty@.service":     "[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=getty.target\nDefaultInstance=tty1\n",
	"lib/systemd/system/multi-user.target":  "[Unit]\nDescription=Multi-User\n",
	"lib/systemd/system/sockets.target":     "[Unit]\nDescription=Sockets\n",
	"lib/systemd/system/getty.target":       "[Unit]\nDescription=Gettys\n",
	"lib/systemd/system/app.target":         "[Unit]\nDescription=App\n",
	"lib/systemd/system/default.target":     "-> multi-user.target",
	"usr/lib/systemd/system/vendor.service": "[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\n",
	"usr/lib/systemd/system/off.service":    "[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\n",
	"usr/lib/systemd/system-preset/90-test.preset": "enable foo.socket\ndisable off.service\nenable getty@.service tty3 tty4\n" +
		"disable getty@.service\n",
	"etc/systemd/system-preset/50-local.preset": "disable static.service\nbogus line\n",
	"opt/linked.service":                        "[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\n",
	"opt/path.service":                          "[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\n",
	"etc/systemd/system/linked.service":         "-> /opt/linked.service",
	"etc/systemd/system/masked.service":         "-> /dev/null",
	"etc/systemd/system/al.service":             "-> /lib/systemd/system/static.service",
}

// writeRoot makes the corpus below root.
func writeRoot(t *testing.T, root string) {
	t.Helper()
	for p, c := range rootCorpus {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		var err error
		if target, ok := strings.CutPrefix(c, "-> "); ok {
			err = os.Symlink(target, full)
		} else {
			err = os.WriteFile(full, []byte(c), 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// tree lists everything below root: directories, files with their content, symlinks with
// their targets.
func tree(t *testing.T, root string) string {
	t.Helper()
	var lines []string
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == root {
			return err
		}
		rel := strings.TrimPrefix(p, root)
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			lines = append(lines, rel+" -> "+target)
		case d.IsDir():
			lines = append(lines, rel+"/")
		default:
			data, _ := os.ReadFile(p)
			lines = append(lines, fmt.Sprintf("%s (%q)", rel, data))
		}
		return nil
	})
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// TestRootMatchesSystemctl runs the file verbs with --root on two copies of a root file
// system, systemctl 252's own (which works on the files itself with --root) and flint's,
// and compares after every step what each printed, its exit code and the whole tree: the
// symlinks flint writes are the ones systemctl writes (pointing to the tree's own paths),
// so that an image build can enable units with either.
func TestRootMatchesSystemctl(t *testing.T) {
	rootS, rootF := t.TempDir(), t.TempDir()
	writeRoot(t, rootS)
	writeRoot(t, rootF)
	var env []string
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "SYSTEMD_UNIT_PATH=") {
			env = append(env, e)
		}
	}
	env = append(env, "SYSTEMD_LOG_COLOR=0", "SYSTEMD_COLORS=0", "LC_ALL=C.UTF-8")
	run := func(bin, root string, args []string) (string, int) {
		cmd := exec.Command(bin, append([]string{"--root=" + root, "--no-pager"}, args...)...)
		cmd.Env = env
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		code := exitCode(t, cmd.Run())
		return strings.ReplaceAll(out.String(), root, "ROOT"), code
	}
	all := []string{"foo.socket", "bar.socket", "foo.service", "static.service", "getty@.service", "getty@tty1.service",
		"getty@tty3.service", "vendor.service", "off.service", "linked.service", "masked.service", "al.service",
		"path.service", "app.target", "nope.service"}
	var steps [][]string
	isAll := func() {
		for _, n := range all {
			steps = append(steps, []string{"is-enabled", n})
		}
	}
	isAll()
	steps = append(steps,
		[]string{"enable", "foo.socket"},
		[]string{"enable", "getty@.service", "linked.service"},
		[]string{"enable", "/opt/path.service"},
		[]string{"reenable", "foo.socket"},
		[]string{"disable", "bar.socket"},
		[]string{"enable", "nope.service"},
		[]string{"enable", "masked.service"},
		[]string{"link", "opt/path.service"},
		[]string{"preset", "foo.socket", "vendor.service", "off.service", "getty@.service", "static.service"},
		[]string{"preset", "al.service"},
	)
	isAll()
	steps = append(steps,
		[]string{"preset-all"},
		[]string{"preset-all", "--preset-mode=disable-only"},
		[]string{"preset-all", "--preset-mode=enable-only"},
	)
	isAll()
	steps = append(steps,
		[]string{"mask", "static.service", "nope.service"},
		[]string{"mask", "static.service"},
		[]string{"unmask", "static.service", "nope.service"},
		[]string{"add-wants", "multi-user.target", "static.service"},
		[]string{"add-requires", "app.target", "foo.service", "vendor.service"},
		[]string{"add-wants", "app", "nope"},
		[]string{"get-default"},
		[]string{"set-default", "app.target"},
		[]string{"get-default"},
		[]string{"set-default", "nope.target"},
		[]string{"set-default", "static.service"},
		[]string{"revert", "vendor.service"},
		[]string{"list-unit-files"},
		[]string{"list-unit-files", "--state=enabled", "--no-legend"},
		[]string{"disable", "foo.socket", "getty@.service", "linked.service", "path.service", "vendor.service"},
	)
	isAll()
	for i, args := range steps {
		t.Run(fmt.Sprintf("%02d_%s", i, strings.Join(args, "_")), func(t *testing.T) {
			if args[0] == "revert" {
				// something to revert: a drop-in and an overriding copy of a vendor unit
				for _, root := range []string{rootS, rootF} {
					d := filepath.Join(root, "etc/systemd/system/vendor.service.d")
					os.MkdirAll(d, 0o755)
					os.WriteFile(filepath.Join(d, "override.conf"), []byte("[Unit]\nDescription=x\n"), 0o644)
					os.WriteFile(filepath.Join(root, "etc/systemd/system/vendor.service"), []byte(rootCorpus["usr/lib/systemd/system/vendor.service"]), 0o644)
				}
			}
			want, wantCode := run("/bin/systemctl", rootS, args)
			got, gotCode := run(flintBin, rootF, args)
			if args[0] == "disable" || args[0] == "preset-all" || args[0] == "preset" {
				want, got = sortedLines(want), sortedLines(got) // removed in readdir order
			}
			if want != got || wantCode != gotCode {
				t.Errorf("systemctl --root %q: exit %d\n%s\nflint --root: exit %d\n%s", args, wantCode, want, gotCode, got)
			}
			if a, b := tree(t, rootS), tree(t, rootF); a != b {
				t.Errorf("the trees differ\nsystemctl:\n%s\nflint:\n%s", a, b)
			}
		})
	}
	// flint also prints unit files below --root (systemctl 252 refuses cat there)
	runFlint(t, "--root="+rootF, "link", "/opt/linked.service")
	out, code := runFlint(t, "--root="+rootF, "cat", "linked.service", "default.target")
	want := "# " + rootF + "/etc/systemd/system/linked.service\n" + rootCorpus["opt/linked.service"] +
		"\n# " + rootF + "/lib/systemd/system/app.target\n" + rootCorpus["lib/systemd/system/app.target"] // set-default app.target
	if code != 0 || out != want {
		t.Errorf("flint --root cat: exit %d\n%s\nwant\n%s", code, out, want)
	}
}
