package unit

import (
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
)

// fileTypeTree makes a unit directory holding every kind of file under a unit name, and a
// directory outside the search path for the targets of linked unit files. The outcomes the
// tests expect are systemd 252's (checked with systemd-ns, systemctl show, is-enabled and
// list-unit-files), except where systemd blocks (a FIFO) or reads a device (a block device).
func fileTypeTree(t *testing.T) (units, opt string) {
	t.Helper()
	root := t.TempDir()
	units, opt = filepath.Join(root, "units"), filepath.Join(root, "opt")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(units, 0o755))
	must(os.MkdirAll(opt, 0o755))
	u := func(n string) string { return filepath.Join(units, n) }
	o := func(n string) string { return filepath.Join(opt, n) }
	svc := "[Unit]\nDescription=%s\n[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\n"
	write := func(p, desc string) { must(os.WriteFile(p, []byte(strings.Replace(svc, "%s", desc, 1)), 0o644)) }
	sock := func(p string) {
		ln, err := net.Listen("unix", p)
		must(err)
		t.Cleanup(func() { ln.Close() })
	}

	write(u("ok.service"), "ok")
	// the unit directory's own entries
	must(syscall.Mkfifo(u("fifo.service"), 0o644))
	sock(u("sock.service"))
	must(syscall.Mknod(u("chr.service"), syscall.S_IFCHR|0o644, 1<<8|5))
	must(syscall.Mknod(u("blk.service"), syscall.S_IFBLK|0o600, 7<<8|0))
	must(os.Mkdir(u("dir.service"), 0o755))
	// linked unit files (symlinks out of the search path)
	must(os.Symlink("/dev/zero", u("lzero.service")))
	must(os.Symlink("/dev/null", u("lnull.service")))
	must(syscall.Mkfifo(o("fifo.service"), 0o644))
	must(os.Symlink(o("fifo.service"), u("lfifo.service")))
	sock(o("sock.service"))
	must(os.Symlink(o("sock.service"), u("lsock.service")))
	must(syscall.Mknod(o("blk.service"), syscall.S_IFBLK|0o600, 7<<8|0))
	must(os.Symlink(o("blk.service"), u("lblk.service")))
	must(os.Mkdir(o("dir.service"), 0o755))
	must(os.Symlink(o("dir.service"), u("ldir.service")))
	must(os.Symlink("loopb.service", u("loopa.service")))
	must(os.Symlink("loopa.service", u("loopb.service")))
	must(os.Symlink(o("loop2"), o("loop1")))
	must(os.Symlink(o("loop1"), o("loop2")))
	must(os.Symlink(o("loop1"), u("loopout.service")))
	must(os.Symlink("/nonexistent/x.service", u("dangling.service")))
	write(o("real.service"), "chain")
	must(os.Symlink(o("real.service"), o("mid.service")))
	must(os.Symlink(o("mid.service"), u("chain.service")))
	must(os.WriteFile(u("big.service"), nil, 0o644))
	must(os.Truncate(u("big.service"), MaxFileSize+1)) // sparse: nothing is written
	// drop-ins of every kind, one good one
	write(u("drop.service"), "drop")
	d := u("drop.service.d")
	must(os.Mkdir(d, 0o755))
	must(os.WriteFile(filepath.Join(d, "50-good.conf"), []byte("[Unit]\nDescription=from-good\n"), 0o644))
	must(syscall.Mkfifo(filepath.Join(d, "10-fifo.conf"), 0o644))
	must(os.Symlink("/dev/zero", filepath.Join(d, "20-zero.conf")))
	must(os.Mkdir(filepath.Join(d, "30-dir.conf"), 0o755))
	must(os.Symlink("/nonexistent", filepath.Join(d, "40-dangling.conf")))
	must(os.Symlink("45-loop.conf", filepath.Join(d, "45-loop.conf")))
	must(os.Symlink("/dev/null", filepath.Join(d, "60-null.conf")))
	must(syscall.Mknod(filepath.Join(d, "70-blk.conf"), syscall.S_IFBLK|0o600, 7<<8|0))
	sock(filepath.Join(d, "80-sock.conf"))
	// .wants/ directories: one a FIFO, one holding entries of odd types (only names count)
	must(os.WriteFile(u("tgt.target"), []byte("[Unit]\nDescription=tgt\n"), 0o644))
	must(syscall.Mkfifo(u("tgt.target.wants"), 0o644))
	must(os.WriteFile(u("tgt2.target"), []byte("[Unit]\nDescription=tgt2\n"), 0o644))
	must(os.Mkdir(u("tgt2.target.wants"), 0o755))
	must(os.Symlink("../ok.service", u("tgt2.target.wants/ok.service")))
	must(syscall.Mkfifo(u("tgt2.target.wants/fifo.service"), 0o644))
	return units, opt
}

// TestLoadFileTypes: each kind of file as a unit file, a linked unit file and a drop-in, and
// as a .wants/ directory: the loader never blocks or reads a device, gives systemd's load
// state, and names the file it could not use.
func TestLoadFileTypes(t *testing.T) {
	units, _ := fileTypeTree(t)
	l := NewLoader(System, []string{units})
	for _, tc := range []struct {
		name     string
		state    LoadState
		fragment bool   // FragmentPath set
		msg      string // in a diagnostic (not-found) or LoadError (error)
	}{
		{"ok.service", Loaded, true, ""},
		{"fifo.service", NotFound, false, ""},
		{"sock.service", NotFound, false, ""},
		{"chr.service", NotFound, false, ""},
		{"blk.service", NotFound, false, ""},
		{"dir.service", NotFound, false, ""},
		{"lzero.service", Masked, true, ""},
		{"lnull.service", Masked, true, ""},
		{"lfifo.service", NotFound, false, "Failed to open " + units + "/lfifo.service: Not a regular file (a FIFO)"},
		{"lsock.service", NotFound, false, "Failed to open " + units + "/lsock.service: No such device or address"},
		{"lblk.service", NotFound, false, "Failed to open " + units + "/lblk.service: Not a regular file (a block device)"},
		{"ldir.service", LoadError, true, units + "/ldir.service: Is a directory"},
		{"loopa.service", NotFound, false, ""},
		{"loopout.service", NotFound, false, "Failed to open " + units + "/loopout.service: Too many levels of symbolic links"},
		{"dangling.service", NotFound, false, "Failed to open " + units + "/dangling.service: No such file or directory"},
		{"chain.service", Loaded, true, ""},
		{"big.service", LoadError, true, units + "/big.service: File larger than 64 MiB"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var u *Unit
			within(t, "Load", func() { u = l.Load(tc.name) })
			if u.LoadState != tc.state || (u.FragmentPath != "") != tc.fragment {
				t.Fatalf("LoadState %s, FragmentPath %q; want %s, fragment %v (%v)", u.LoadState, u.FragmentPath, tc.state, tc.fragment, u.Diagnostics)
			}
			if tc.msg == "" {
				return
			}
			found := strings.Contains(u.LoadError, tc.msg)
			for _, d := range u.Diagnostics {
				found = found || d.Msg == tc.msg
			}
			if !found {
				t.Errorf("no message %q: LoadError %q, diagnostics %v", tc.msg, u.LoadError, u.Diagnostics)
			}
		})
	}
	t.Run("drop-ins", func(t *testing.T) {
		var u *Unit
		within(t, "Load", func() { u = l.Load("drop.service") })
		if u.LoadState != Loaded || u.Unit.Description != "from-good" {
			t.Fatalf("LoadState %s, Description %q; want loaded with the good drop-in applied", u.LoadState, u.Unit.Description)
		}
		if len(u.DropInPaths) != 9 {
			t.Errorf("DropInPaths %q: systemd lists all 9", u.DropInPaths)
		}
		d := filepath.Join(units, "drop.service.d")
		for conf, why := range map[string]string{
			"10-fifo.conf": "Not a regular file (a FIFO)", "20-zero.conf": "Not a regular file (a character device)",
			"30-dir.conf": "Is a directory", "40-dangling.conf": "No such file or directory",
			"45-loop.conf": "Too many levels of symbolic links", "70-blk.conf": "Not a regular file (a block device)",
			"80-sock.conf": "No such device or address",
		} {
			want := "Failed to read " + filepath.Join(d, conf) + ", ignoring: " + why
			if !slices.ContainsFunc(u.Diagnostics, func(x Diagnostic) bool { return x.Msg == want && x.Severity == Warning }) {
				t.Errorf("no warning %q in %v", want, u.Diagnostics)
			}
		}
		for _, x := range u.Diagnostics {
			if strings.Contains(x.Msg, "60-null.conf") {
				t.Errorf("/dev/null is an empty drop-in: %v", x)
			}
		}
	})
	t.Run("wants", func(t *testing.T) {
		var a, b *Unit
		within(t, "Load", func() { a, b = l.Load("tgt.target"), l.Load("tgt2.target") })
		if a.LoadState != Loaded || len(a.Unit.Wants) != 0 {
			t.Errorf("tgt.target with a FIFO as .wants: %s, Wants=%q", a.LoadState, a.Unit.Wants)
		}
		if b.LoadState != Loaded || !slices.Equal(b.Unit.Wants, []string{"fifo.service", "ok.service"}) {
			t.Errorf("tgt2.target: %s, Wants=%q", b.LoadState, b.Unit.Wants)
		}
	})
	t.Run("cat", func(t *testing.T) {
		var err error
		within(t, "Cat", func() { _, err = Cat(l, "drop.service") })
		if err == nil || !strings.Contains(err.Error(), "10-fifo.conf: Not a regular file (a FIFO)") {
			t.Errorf("Cat of a unit with a FIFO drop-in: %v", err)
		}
	})
}

// TestUnitFileStatesFileTypes: list-unit-files lists regular files and symlinks only, and
// is-enabled answers each kind of file as systemctl 252 does (a character device masks;
// what cannot be read fails with the reason), without blocking.
func TestUnitFileStatesFileTypes(t *testing.T) {
	units, _ := fileTypeTree(t)
	l := NewLoader(System, []string{units})
	var listed []string
	within(t, "List", func() { listed = l.List() })
	want := []string{"big.service", "chain.service", "dangling.service", "drop.service", "ldir.service", "lblk.service",
		"lfifo.service", "lnull.service", "loopa.service", "loopb.service", "loopout.service", "lsock.service",
		"lzero.service", "ok.service", "tgt.target", "tgt2.target"}
	slices.Sort(want)
	if !slices.Equal(listed, want) {
		t.Errorf("List:\n%q\nwant\n%q", listed, want)
	}
	for name, want := range map[string]string{
		"ok.service":       StateEnabled, // tgt2.target.wants/ok.service
		"chain.service":    StateAlias,
		"chr.service":      StateMasked,
		"lzero.service":    StateMasked,
		"lnull.service":    StateMasked,
		"fifo.service":     "Not a regular file (a FIFO)",
		"lfifo.service":    "Not a regular file (a FIFO)",
		"sock.service":     "No such device or address",
		"lsock.service":    "No such device or address",
		"blk.service":      "Not a regular file (a block device)",
		"lblk.service":     "Not a regular file (a block device)",
		"dir.service":      "Is a directory",
		"ldir.service":     "Is a directory",
		"loopa.service":    "Too many levels of symbolic links",
		"loopout.service":  "Too many levels of symbolic links",
		"dangling.service": "No such file or directory",
		"big.service":      "File larger than 64 MiB",
		"drop.service":     "Not a regular file (a FIFO)", // its first drop-in
	} {
		var st string
		var err error
		within(t, "IsEnabled", func() { st, err = IsEnabled(l, name) })
		if strings.Contains(want, " ") {
			msg := "Failed to get unit file state for " + name + ": " + want
			if err == nil || err.Error() != msg {
				t.Errorf("IsEnabled(%s) = %q, %v; want the error %q", name, st, err, msg)
			}
			if name != "dangling.service" && st != StateBad {
				t.Errorf("IsEnabled(%s) = %q with its error, want bad (list-unit-files)", name, st)
			}
			continue
		}
		if err != nil || st != want {
			t.Errorf("IsEnabled(%s) = %q, %v; want %s", name, st, err, want)
		}
	}
}
