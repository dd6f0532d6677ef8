//go:build difftest

package install

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"

	"github.com/flint-init/flint/unit"
)

// installCorpus are the unit files of the differential test, under lib/systemd/system.
var installCorpus = map[string]string{
	"foo.socket":           "[Socket]\nListenStream=20150\n[Install]\nWantedBy=sockets.target\nAlias=bar.socket\nAlso=foo.service\n",
	"foo.service":          "[Service]\nExecStart=/bin/true\n[Install]\nRequiredBy=multi-user.target\n",
	"static.service":       "[Service]\nExecStart=/bin/true\n",
	"ind.service":          "[Service]\nExecStart=/bin/true\n[Install]\nAlso=foo.service\n",
	"getty@.service":       "[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=getty.target\nDefaultInstance=tty1\n",
	"ser@.service":         "[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=getty.target\n",
	"tgt@.service":         "[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=foo@.target\n",
	"multi.service":        "[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target graphical.target\nRequiredBy=x.target\n",
	"spec.service":         "[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=%p-extra.target\nAlias=%p-alias.service\n",
	"also-missing.service": "[Service]\nExecStart=/bin/true\n[Install]\nAlso=nope.service masked.service\nWantedBy=multi-user.target\n",
	"reset.service":        "[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=a.target\nWantedBy=\nWantedBy=b.target\n",
	"multi-user.target":    "[Unit]\nDescription=Multi-User\n",
	// flint provides the standard targets built in (no "non-existent unit" notice with
	// --units); give systemctl files for those the corpus uses
	"sockets.target":         "[Unit]\nDescription=Sockets\n",
	"getty.target":           "[Unit]\nDescription=Gettys\n",
	"graphical.target":       "[Unit]\nDescription=Graphical\n",
	"empty.service":          "",
	"alias-target.service":   "[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\n",
	"inst-default@.service":  "[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\nDefaultInstance=%H\n",
	"tal@.service":           "[Service]\nExecStart=/bin/true\n[Install]\nAlias=talias@.service\nRequiredBy=getty.target\nDefaultInstance=d\n",
	"badalias.service":       "[Service]\nExecStart=/bin/true\n[Install]\nAlias=other.socket\nWantedBy=multi-user.target\n",
	"loop1.service":          "[Service]\nExecStart=/bin/true\n[Install]\nAlso=loop2.service\n",
	"loop2.service":          "[Service]\nExecStart=/bin/true\n[Install]\nAlso=loop1.service\nWantedBy=multi-user.target\n",
	"dropin-install.service": "[Service]\nExecStart=/bin/true\n", // its [Install] is in a drop-in
	"plain@.service":         "[Service]\nExecStart=/bin/true\n[Install]\nAlso=static.service\n",
	// an alias a template (or its instance) cannot have; units that cannot be parsed
	"tplalias@.service": "[Service]\nExecStart=/bin/true\n[Install]\nAlias=plainalias.service\nWantedBy=multi-user.target\n",
	"syntax.service":    "[Service]\nExecStart=/bin/true\n[Install\nWantedBy=multi-user.target\n",
	"utf8.service":      "[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\xff\n",
	"longline.service":  "[Install]\nWantedBy=multi-user.target\n# " + strings.Repeat("x", 1<<21) + "\n",
	// a unit whose drop-ins are of every kind systemctl does not block on (filled in by
	// setupHostileInstall)
	"dropdir.service":  "[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\n",
	"dropsock.service": "[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\n",
	"dropdang.service": "[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\n",
	"dropnull.service": "[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\n",
	"dropzero.service": "[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\n",
}

// setupInstallRoot writes the corpus under root; linkPrefix is what absolute symlinks
// inside the tree start with ("" for systemctl --root, root for flint).
func setupInstallRoot(t *testing.T, root, linkPrefix string) {
	t.Helper()
	lib := filepath.Join(root, "lib/systemd/system")
	etc := filepath.Join(root, "etc/systemd/system")
	for _, d := range []string{lib, etc, filepath.Join(root, "opt")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for n, c := range installCorpus {
		if err := os.WriteFile(filepath.Join(lib, n), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(filepath.Join(root, "opt/linked.service"),
		[]byte("[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\n"), 0o644))
	must(os.Symlink(linkPrefix+"/opt/linked.service", filepath.Join(etc, "linked.service")))
	for _, n := range []string{"path.service", "path2.service"} {
		must(os.WriteFile(filepath.Join(root, "opt", n),
			[]byte("[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\n"), 0o644))
	}
	must(os.Symlink("/dev/null", filepath.Join(etc, "masked.service")))
	must(os.Symlink(linkPrefix+"/lib/systemd/system/alias-target.service", filepath.Join(etc, "al.service")))
	// an instance symlinked to its own template (static, not an alias); a drop-in with an
	// [Install] section (the unit is disabled, not static)
	must(os.Symlink("plain@.service", filepath.Join(lib, "plain@x.service")))
	must(os.MkdirAll(filepath.Join(lib, "dropin-install.service.d"), 0o755))
	must(os.WriteFile(filepath.Join(lib, "dropin-install.service.d/install.conf"), []byte("[Install]\nWantedBy=multi-user.target\n"), 0o644))
	// a unit file in the config directory itself
	must(os.WriteFile(filepath.Join(etc, "local.socket"),
		[]byte("[Socket]\nListenStream=20151\n[Install]\nWantedBy=sockets.target\n"), 0o644))
	setupHostileInstall(t, root, linkPrefix)
}

// setupHostileInstall adds files of other types than regular files and symlinks to the
// install corpus: drop-ins that are a directory, a socket, a dangling link, /dev/null and
// /dev/zero (character devices made under root/dev for systemctl --root); linked unit files
// that are a character device, a loop or dangle; a character device as a unit file. Not a
// FIFO: systemctl blocks on it (flint's answer is checked by TestUnitFileStatesFileTypes).
func setupHostileInstall(t *testing.T, root, linkPrefix string) {
	t.Helper()
	lib := filepath.Join(root, "lib/systemd/system")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(root, "dev"), 0o755))
	must(syscall.Mknod(filepath.Join(root, "dev/zero"), syscall.S_IFCHR|0o666, 1<<8|5))
	must(syscall.Mknod(filepath.Join(root, "dev/null"), syscall.S_IFCHR|0o666, 1<<8|3))
	for _, d := range []string{"dropdir", "dropsock", "dropdang", "dropnull", "dropzero"} {
		must(os.Mkdir(filepath.Join(lib, d+".service.d"), 0o755))
	}
	must(os.Mkdir(filepath.Join(lib, "dropdir.service.d/x.conf"), 0o755))
	ln, err := net.Listen("unix", filepath.Join(lib, "dropsock.service.d/x.conf"))
	must(err)
	t.Cleanup(func() { ln.Close() })
	must(os.Symlink(linkPrefix+"/nonexistent.conf", filepath.Join(lib, "dropdang.service.d/x.conf")))
	must(os.Symlink(linkPrefix+"/dev/null", filepath.Join(lib, "dropnull.service.d/x.conf")))
	must(os.Symlink(linkPrefix+"/dev/zero", filepath.Join(lib, "dropzero.service.d/x.conf")))
	must(syscall.Mknod(filepath.Join(lib, "chr.service"), syscall.S_IFCHR|0o644, 1<<8|5))
	must(os.Symlink(linkPrefix+"/dev/zero", filepath.Join(lib, "lzero.service")))
	must(os.Symlink("loopb.service", filepath.Join(lib, "loopa.service")))
	must(os.Symlink("loopa.service", filepath.Join(lib, "loopb.service")))
	must(os.Symlink(linkPrefix+"/nonexistent.service", filepath.Join(lib, "dangling.service")))
	// linked unit files in the lower directory: one link, and a chain whose last name is the
	// unit's (not an alias)
	linked := "[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\nAlias=%p-alias.service\n"
	for _, n := range []string{"liblinked.service", "chained.service"} {
		must(os.WriteFile(filepath.Join(root, "opt", n), []byte(linked), 0o644))
	}
	must(os.Symlink(linkPrefix+"/opt/liblinked.service", filepath.Join(lib, "liblinked.service")))
	must(os.Symlink(linkPrefix+"/opt/chained.service", filepath.Join(root, "opt/chain")))
	must(os.Symlink(linkPrefix+"/opt/chain", filepath.Join(lib, "chained.service")))
}

// symlinkTree lists every symlink under root as "path -> target", root prefixes removed.
func symlinkTree(t *testing.T, root string) []string {
	var out []string
	filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.Mode()&os.ModeSymlink == 0 {
			return nil
		}
		dst, _ := os.Readlink(p)
		out = append(out, strings.TrimPrefix(p, root)+" -> "+strings.TrimPrefix(dst, root))
		return nil
	})
	sort.Strings(out)
	return out
}

// flintInstallCmd runs an install verb the way cmd/flint does and returns its output
// (stdout and stderr lines in order) and exit code.
func flintInstallCmd(l *unit.Loader, op string, names []string) (string, int) {
	var b strings.Builder
	if op == "is-enabled" || op == "is-enabled --full" {
		ok := false
		for _, n := range names {
			st, err := IsEnabled(l, n)
			if err != nil {
				fmt.Fprintln(&b, err)
				return b.String(), 1
			}
			ok = ok || EnabledExitOK(st)
			fmt.Fprintln(&b, st)
			if op == "is-enabled --full" {
				links, err := Links(l, n, false)
				if err != nil {
					fmt.Fprintln(&b, err)
					return b.String(), 1
				}
				for _, p := range links {
					fmt.Fprintf(&b, "  %s\n", p)
				}
			}
		}
		if ok {
			return b.String(), 0
		}
		return b.String(), 1
	}
	var ch []Change
	var err error
	switch op {
	case "enable":
		ch, err = Enable(l, names)
	case "disable":
		ch, err = Disable(l, names)
	case "mask":
		ch, err = Mask(l, names)
	case "unmask":
		ch, err = Unmask(l, names)
	case "link":
		ch, err = Link(l, names)
	}
	for _, c := range ch {
		fmt.Fprintln(&b, c)
	}
	if errors.Is(err, ErrNoInstallInfo) {
		fmt.Fprintln(&b, NoInstallInfoWarning)
		err = nil
	}
	if err != nil {
		var ie *Error
		if !errors.As(err, &ie) || !ie.Reported {
			fmt.Fprintln(&b, err)
		}
		return b.String(), 1
	}
	return b.String(), 0
}

// TestInstallDifferential runs the same enable/disable/is-enabled/mask/unmask sequence with
// `systemctl --root` (systemd's own implementation, offline) and with flint, and compares the
// printed lines, the exit codes and the symlinks created after every step.
func TestInstallDifferential(t *testing.T) {
	systemctl, err := exec.LookPath("systemctl")
	if err != nil {
		t.Skip("systemctl not installed")
	}
	rootS := t.TempDir()
	rootF := t.TempDir()
	setupInstallRoot(t, rootS, "")
	setupInstallRoot(t, rootF, rootF)
	l := unit.NewLoader(unit.System, []string{rootF + "/etc/systemd/system", rootF + "/lib/systemd/system"})

	all := []string{"foo.socket", "bar.socket", "foo.service", "static.service", "ind.service",
		"getty@.service", "getty@tty1.service", "getty@tty2.service", "ser@.service", "ser@a.service",
		"tgt@.service", "tgt@x.service", "multi.service", "spec.service", "spec-alias.service",
		"also-missing.service", "reset.service", "empty.service", "masked.service", "linked.service",
		"al.service", "alias-target.service", "inst-default@.service", "nope.service", "multi-user.target",
		"tal@.service", "tal@x.service", "talias@.service", "talias@d.service", "badalias.service",
		"loop1.service", "loop2.service", "local.socket", "dropin-install.service", "plain@x.service", "plain@y.service",
		"tplalias@.service", "tplalias@x.service", "plainalias.service", "syntax.service", "utf8.service",
		"longline.service", "dropdir.service", "dropsock.service", "dropdang.service", "dropnull.service",
		"dropzero.service", "chr.service", "lzero.service", "loopa.service", "dangling.service",
		"liblinked.service", "chained.service", "chained-alias.service"}
	type step struct {
		op    string
		names []string
	}
	var steps []step
	isAll := func() {
		for _, n := range all {
			steps = append(steps, step{"is-enabled", []string{n}})
		}
	}
	isAll()
	for _, s := range []step{
		{"enable", []string{"foo.socket"}},
		{"enable", []string{"foo.socket"}},
		{"enable", []string{"getty@.service", "ser@a.service", "tgt@x.service"}},
		{"enable", []string{"static.service"}},
		{"enable", []string{"ser@.service"}},
		{"enable", []string{"nope.service"}},
		{"enable", []string{"masked.service"}},
		{"enable", []string{"empty.service"}},
		{"enable", []string{"spec.service", "multi.service", "also-missing.service", "reset.service"}},
		{"enable", []string{"linked.service", "tgt@.service", "inst-default@.service"}},
		{"enable", []string{"al.service"}},
		{"enable", []string{"ind.service"}},
		{"enable", []string{"local.socket", "tal@.service", "badalias.service"}},
		{"enable", []string{"tal@x.service", "loop1.service"}},
		{"enable", []string{"dropin-install.service", "plain@x.service"}},
		{"enable", []string{"ROOT/opt/path.service"}},
		{"enable", []string{"ROOT/opt/path.service"}},
		{"enable", []string{"ROOT/opt/nope.service"}},
		{"enable", []string{"tplalias@x.service"}},
		{"enable", []string{"tplalias@.service"}},
		{"enable", []string{"dropnull.service", "dropzero.service"}},
		{"enable", []string{"lzero.service"}},
		{"enable", []string{"liblinked.service", "chained.service"}},
		{"link", []string{"ROOT/opt/path2.service"}},
	} {
		steps = append(steps, s)
	}
	isAll()
	for _, n := range all {
		steps = append(steps, step{"is-enabled --full", []string{n}})
	}
	for _, s := range []step{
		{"disable", []string{"bar.socket"}},
		{"disable", []string{"getty@.service"}},
		{"disable", []string{"nope.service"}},
		{"disable", []string{"ser@a.service", "tgt@.service"}},
		{"mask", []string{"multi.service", "nope.service"}},
		{"mask", []string{"multi.service"}},
		{"mask", []string{"foo.service"}},
	} {
		steps = append(steps, s)
	}
	isAll()
	for _, s := range []step{
		{"unmask", []string{"multi.service", "nope.service", "static.service"}},
		{"disable", []string{"spec.service", "multi.service", "linked.service", "also-missing.service", "reset.service"}},
		{"disable", []string{"static.service"}},
		{"disable", []string{"local.socket", "tal@.service", "loop2.service"}},
		{"disable", []string{"badalias.service", "tal@x.service"}},
		{"disable", []string{"path.service", "path2.service"}},
		{"disable", []string{"liblinked.service", "chained-alias.service"}},
	} {
		steps = append(steps, s)
	}
	isAll()

	norm := func(out, root string, sortLines bool) string {
		out = strings.ReplaceAll(out, root, "")
		lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
		if sortLines {
			sort.Strings(lines)
		}
		return strings.Join(lines, "\n")
	}
	for i, s := range steps {
		name := fmt.Sprintf("%02d-%s-%s", i, s.op, strings.Join(s.names, ","))
		t.Run(name, func(t *testing.T) {
			var namesS, namesF []string // ROOT/ is the root for systemctl --root, a real path for flint
			for _, n := range s.names {
				namesS = append(namesS, strings.TrimPrefix(n, "ROOT"))
				namesF = append(namesF, strings.Replace(n, "ROOT", rootF, 1))
			}
			out, rcS := systemctlRoot(t, systemctl, rootS, s.op, namesS)
			if s.op == "is-enabled --full" {
				// systemctl --root lists the links of the host's root under the state, so
				// the links disable would remove are what disable removes in a copy
				out, rcS = systemctlRoot(t, systemctl, rootS, "is-enabled", namesS)
				out = append(out, removedLinks(t, systemctl, rootS, namesS)...)
			}
			outF, rcF := flintInstallCmd(l, s.op, namesF)
			sortLines := s.op == "disable" || s.op == "is-enabled --full" // systemctl removes in readdir order
			if a, b := norm(string(out), rootS, sortLines), norm(outF, rootF, sortLines); a != b {
				t.Errorf("output differs\nsystemctl:\n%s\nflint:\n%s", a, b)
			}
			if rcS != rcF {
				t.Errorf("exit code: systemctl %d, flint %d", rcS, rcF)
			}
			if a, b := strings.Join(symlinkTree(t, rootS), "\n"), strings.Join(symlinkTree(t, rootF), "\n"); a != b {
				t.Errorf("symlinks differ\nsystemctl:\n%s\nflint:\n%s", a, b)
			}
		})
	}
}

// systemctlRoot runs systemctl --root=root with the words of op and names, and returns its
// output and exit code.
func systemctlRoot(t *testing.T, systemctl, root, op string, names []string) ([]byte, int) {
	cmd := exec.Command(systemctl, append(append([]string{"--root=" + root, "--no-pager"}, strings.Fields(op)...), names...)...)
	cmd.Env = append(os.Environ(), "SYSTEMD_LOG_COLOR=0", "SYSTEMD_COLORS=0", "LC_ALL=C.UTF-8")
	cmd.Env = filterEnv(cmd.Env, "SYSTEMD_UNIT_PATH")
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return out, ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out, 0
}

// removedLinks copies root, runs systemctl --root disable names on the copy and returns the
// symlinks it removed, as is-enabled --full lists them (with root, not the copy, in front).
func removedLinks(t *testing.T, systemctl, root string, names []string) []byte {
	cp := filepath.Join(t.TempDir(), "root")
	if out, err := exec.Command("cp", "-a", root, cp).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v\n%s", err, out)
	}
	out, _ := systemctlRoot(t, systemctl, cp, "disable", names)
	var b bytes.Buffer
	for _, line := range strings.Split(string(out), "\n") {
		if p, ok := strings.CutPrefix(line, "Removed \""); ok {
			fmt.Fprintf(&b, "  %s\n", root+strings.TrimPrefix(strings.TrimSuffix(p, "\"."), cp))
		}
	}
	return b.Bytes()
}

func filterEnv(env []string, key string) []string {
	var out []string
	for _, e := range env {
		if !strings.HasPrefix(e, key+"=") {
			out = append(out, e)
		}
	}
	return out
}
