package difftest

import (
	"net"
	"os"
	"path/filepath"
	"syscall"
)

// FileTypeUnits are the units FileTypeTree writes when it leaves out what systemd 252 blocks
// on: each kind of file as a unit file in the directory, as a linked unit file, and as a
// drop-in and .wants/ directory.
var FileTypeUnits = []string{"ft-ok.service", "ft-fifo.service", "ft-sock.service", "ft-chr.service",
	"ft-blk.service", "ft-dir.service", "ft-lzero.service", "ft-lnull.service", "ft-lsock.service",
	"ft-ldir.service", "ft-loopa.service", "ft-loopb.service", "ft-loopout.service", "ft-dangling.service",
	"ft-chain.service", "ft-chained.service", "ft-drop.service", "ft-wants.target", "ft-wants2.target", "ft.target"}

// FileTypeUnsafe are the units FileTypeTree adds with all: a FIFO and a block device as
// linked unit files (systemd 252 blocks in open(2) on the one and reads the other), a file
// over 64 MiB; ft-drop.service then also has a FIFO, /dev/zero and a block device as drop-ins.
var FileTypeUnsafe = []string{"ft-lfifo.service", "ft-lblk.service", "ft-big.service"}

// FileTypeTree writes into units (a unit directory) a unit of each kind of file that is not
// a regular file, and into opt (a directory outside the search path) what its symlinks point
// to; see FileTypeUnits and FileTypeUnsafe. Device nodes need CAP_MKNOD. The returned
// function closes the listening sockets made for the socket files.
func FileTypeTree(units, opt string, all bool) (closeAll func(), err error) {
	var lns []net.Listener
	closeAll = func() {
		for _, ln := range lns {
			ln.Close()
		}
	}
	u := func(n string) string { return filepath.Join(units, n) }
	o := func(n string) string { return filepath.Join(opt, n) }
	svc := func(desc string) []byte {
		return []byte("[Unit]\nDescription=" + desc + "\nDefaultDependencies=no\n[Service]\nExecStart=/bin/sleep 1000\n[Install]\nWantedBy=ft.target\n")
	}
	d := u("ft-drop.service.d")
	steps := []func() error{
		func() error { return os.MkdirAll(units, 0o755) },
		func() error { return os.MkdirAll(opt, 0o755) },
		func() error {
			return os.WriteFile(u("ft.target"), []byte("[Unit]\nDescription=ft\nDefaultDependencies=no\n"), 0o644)
		},
		func() error { return os.WriteFile(u("ft-ok.service"), svc("ok"), 0o644) },
		// the unit directory's own entries
		func() error { return syscall.Mkfifo(u("ft-fifo.service"), 0o644) },
		func() error { return listenUnix(&lns, u("ft-sock.service")) },
		func() error { return syscall.Mknod(u("ft-chr.service"), syscall.S_IFCHR|0o644, 1<<8|5) },
		func() error { return syscall.Mknod(u("ft-blk.service"), syscall.S_IFBLK|0o600, 7<<8|0) }, // loop0's numbers
		func() error { return os.Mkdir(u("ft-dir.service"), 0o755) },
		// linked unit files: symlinks out of the search path
		func() error { return os.Symlink("/dev/zero", u("ft-lzero.service")) },
		func() error { return os.Symlink("/dev/null", u("ft-lnull.service")) },
		func() error { return listenUnix(&lns, o("sock.service")) },
		func() error { return os.Symlink(o("sock.service"), u("ft-lsock.service")) },
		func() error { return os.Mkdir(o("dir.service"), 0o755) },
		func() error { return os.Symlink(o("dir.service"), u("ft-ldir.service")) },
		func() error { return os.Symlink("ft-loopb.service", u("ft-loopa.service")) },
		func() error { return os.Symlink("ft-loopa.service", u("ft-loopb.service")) },
		func() error { return os.Symlink(o("loop2"), o("loop1")) },
		func() error { return os.Symlink(o("loop1"), o("loop2")) },
		func() error { return os.Symlink(o("loop1"), u("ft-loopout.service")) },
		func() error { return os.Symlink(o("missing.service"), u("ft-dangling.service")) },
		// chains of links: the last name another (an alias) or the unit's own
		func() error { return os.WriteFile(o("real.service"), svc("chain"), 0o644) },
		func() error { return os.Symlink(o("real.service"), o("mid.service")) },
		func() error { return os.Symlink(o("mid.service"), u("ft-chain.service")) },
		func() error { return os.WriteFile(o("ft-chained.service"), svc("chained"), 0o644) },
		func() error { return os.Symlink(o("ft-chained.service"), o("chain")) },
		func() error { return os.Symlink(o("chain"), u("ft-chained.service")) },
		// drop-ins of each kind, one good one
		func() error { return os.WriteFile(u("ft-drop.service"), svc("drop"), 0o644) },
		func() error { return os.Mkdir(d, 0o755) },
		func() error {
			return os.WriteFile(filepath.Join(d, "50-good.conf"), []byte("[Unit]\nDescription=from-good\n"), 0o644)
		},
		func() error { return os.Mkdir(filepath.Join(d, "30-dir.conf"), 0o755) },
		func() error { return os.Symlink("/nonexistent", filepath.Join(d, "40-dangling.conf")) },
		func() error { return os.Symlink("45-loop.conf", filepath.Join(d, "45-loop.conf")) },
		func() error { return os.Symlink("/dev/null", filepath.Join(d, "60-null.conf")) },
		func() error { return listenUnix(&lns, filepath.Join(d, "80-sock.conf")) },
		// .wants/ directories: a FIFO; one whose entries are a symlink and a FIFO
		func() error {
			return os.WriteFile(u("ft-wants.target"), []byte("[Unit]\nDescription=wants\nDefaultDependencies=no\n"), 0o644)
		},
		func() error { return syscall.Mkfifo(u("ft-wants.target.wants"), 0o644) },
		func() error {
			return os.WriteFile(u("ft-wants2.target"), []byte("[Unit]\nDescription=wants2\nDefaultDependencies=no\n"), 0o644)
		},
		func() error { return os.Mkdir(u("ft-wants2.target.wants"), 0o755) },
		func() error { return os.Symlink("../ft-ok.service", u("ft-wants2.target.wants/ft-ok.service")) },
		func() error { return syscall.Mkfifo(u("ft-wants2.target.wants/ft-fifo.service"), 0o644) },
	}
	if all {
		steps = append(steps,
			func() error { return syscall.Mkfifo(o("fifo.service"), 0o644) },
			func() error { return os.Symlink(o("fifo.service"), u("ft-lfifo.service")) },
			func() error { return syscall.Mknod(o("blk.service"), syscall.S_IFBLK|0o600, 7<<8|0) },
			func() error { return os.Symlink(o("blk.service"), u("ft-lblk.service")) },
			func() error { return os.WriteFile(u("ft-big.service"), nil, 0o644) },
			func() error { return os.Truncate(u("ft-big.service"), 64<<20) }, // sparse: nothing is written
			func() error { return syscall.Mkfifo(filepath.Join(d, "10-fifo.conf"), 0o644) },
			func() error { return os.Symlink("/dev/zero", filepath.Join(d, "20-zero.conf")) },
			func() error {
				return syscall.Mknod(filepath.Join(d, "70-blk.conf"), syscall.S_IFBLK|0o600, 7<<8|0)
			},
		)
	}
	for _, step := range steps {
		if err := step(); err != nil {
			closeAll()
			return nil, err
		}
	}
	return closeAll, nil
}

func listenUnix(lns *[]net.Listener, path string) error {
	ln, err := net.Listen("unix", path)
	if err != nil {
		return err
	}
	*lns = append(*lns, ln)
	return nil
}
