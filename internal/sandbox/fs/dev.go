package fs

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// devNodes are the device nodes PrivateDevices= copies into the unit's /dev.
var devNodes = []string{"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty"}

// mountPrivateDev is mount_private_dev(): a tmpfs /dev with the pseudo devices, the host's
// devpts, shm, mqueue and hugepages bound in, and the usual symlinks; then moved onto the
// unit's /dev, whose old mounts are gone.
//
// devMountFD, when > 0, is a NewDevMount to use instead of a tmpfs of its own: its nodes
// are there already.
func mountPrivateDev(e *entry, devMountFD int) error {
	tmp, err := os.MkdirTemp("/tmp", "namespace-dev-")
	if err != nil {
		return fmt.Errorf("Failed to create temporary directory: %w", err)
	}
	defer os.Remove(tmp)
	dev := tmp + "/dev"
	_ = os.Mkdir(dev, 0o755)
	defer os.Remove(dev)
	if devMountFD > 0 {
		if err := unix.MoveMount(devMountFD, "", unix.AT_FDCWD, dev, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
			return fmt.Errorf("attach the device tmpfs to %s: %w", dev, err)
		}
	} else if err := unix.Mount("tmpfs", dev, "tmpfs", devMountFlags, "mode=755"+limitsPrivateDev); err != nil {
		return fmt.Errorf("mount tmpfs on %s: %w", dev, err)
	}
	ok := false
	defer func() {
		if !ok {
			umountRecursive(dev)
		}
	}()
	_ = os.Mkdir(dev+"/pts", 0o755)
	if err := unix.Mount("/dev/pts", dev+"/pts", "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind /dev/pts: %w", err)
	}
	canMknod := true
	if fi, err := os.Lstat("/dev/ptmx"); err != nil {
		return err
	} else if fi.Mode()&os.ModeSymlink != 0 {
		if err := os.Symlink("pts/ptmx", dev+"/ptmx"); err != nil {
			return err
		}
	} else if err := cloneDevice("/dev/ptmx", tmp, &canMknod); err != nil {
		return err
	}
	_ = os.Mkdir(dev+"/shm", 0o755)
	if err := unix.Mount("/dev/shm", dev+"/shm", "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind /dev/shm: %w", err)
	}
	_ = os.Mkdir(dev+"/mqueue", 0o755)
	_ = unix.Mount("/dev/mqueue", dev+"/mqueue", "", unix.MS_BIND, "")
	_ = os.Mkdir(dev+"/hugepages", 0o755)
	_ = unix.Mount("/dev/hugepages", dev+"/hugepages", "", unix.MS_BIND, "")
	_ = os.Symlink("/run/systemd/journal/dev-log", dev+"/log")
	for _, d := range devNodes {
		if err := cloneDevice(d, tmp, &canMknod); err != nil && !errors.Is(err, unix.ENXIO) {
			return err
		}
	}
	// dev_setup(): the /proc/self links.
	if _, err := os.Stat("/proc/kcore"); err == nil {
		_ = os.Symlink("/proc/kcore", dev+"/core")
	}
	for _, l := range [][2]string{{"/proc/self/fd", "fd"}, {"/proc/self/fd/0", "stdin"}, {"/proc/self/fd/1", "stdout"}, {"/proc/self/fd/2", "stderr"}} {
		_ = os.Symlink(l[0], dev+"/"+l[1])
	}
	_ = os.MkdirAll(e.path, 0o755)
	umountRecursive(e.path)
	if err := unix.Mount(dev, e.path, "", unix.MS_MOVE, ""); err != nil {
		return fmt.Errorf("move %s to %s: %w", dev, e.path, err)
	}
	ok = true
	return nil
}

// cloneDevice is clone_device_node(): mknod a copy of device d under tmp, or, where mknod
// is refused (a container), bind the host's node onto an empty file; then the
// /dev/char/MAJOR:MINOR link. ENXIO: d is missing or not a device.
func cloneDevice(d, tmp string, canMknod *bool) error {
	var st unix.Stat_t
	if err := unix.Stat(d, &st); err != nil {
		if errors.Is(err, unix.ENOENT) {
			return unix.ENXIO
		}
		return err
	}
	typ := st.Mode & unix.S_IFMT
	if typ != unix.S_IFCHR && typ != unix.S_IFBLK {
		return unix.ENXIO
	}
	dn := tmp + d
	made := false
	if _, err := os.Lstat(dn); err == nil {
		made = true // NewDevMount's
	} else if *canMknod {
		err := unix.Mknod(dn, st.Mode, int(st.Rdev))
		switch {
		case err == nil:
			made = true
		case errors.Is(err, unix.EPERM):
			*canMknod = false
		default:
			return fmt.Errorf("mknod failed for %s: %w", d, err)
		}
	}
	if !made {
		if err := unix.Mknod(dn, unix.S_IFREG, 0); err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("mknod() fallback failed for '%s': %w", d, err)
		}
		if err := unix.Mount(d, dn, "", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("bind %s: %w", d, err)
		}
	}
	kind := "char"
	if typ == unix.S_IFBLK {
		kind = "block"
	}
	dir := tmp + "/dev/" + kind
	_ = os.MkdirAll(dir, 0o755)
	_ = os.Symlink("../"+d[len("/dev/"):], fmt.Sprintf("%s/%d:%d", dir, unix.Major(st.Rdev), unix.Minor(st.Rdev)))
	return nil
}
