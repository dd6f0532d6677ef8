package fs

import (
	"os"

	"golang.org/x/sys/unix"
)

// With PrivateUsers= the child is cloned into its user namespace (internal/spawn's UserNS)
// and sets up its mounts from inside, where the kernel refuses a proc instance of the
// host's pid namespace. systemd sets the mounts up before it unshares the user namespace;
// flint's manager makes that mount instead, detached (fsopen/fsmount), and the child
// attaches it (move_mount) where Apply would mount it.

// NeedsProcMount reports whether s mounts a proc instance of its own (ProtectProc=,
// ProcSubset=, or MountAPIVFS= with RootDirectory=).
func (s *Spec) NeedsProcMount() bool {
	return (s.ProtectProc != "" && s.ProtectProc != "default") || (s.ProcSubset != "" && s.ProcSubset != "all") ||
		(s.RootDirectory != "" && s.MountAPIVFS)
}

// NewProcMount makes the detached proc mount of s (for ProcMountFD), as mountProcfs would
// mount it: nosuid, nodev, noexec, with hidepid= and subset= (options the kernel refuses
// are left out, as mountProcfs does).
func NewProcMount(s *Spec) (*os.File, error) {
	fd, err := unix.Fsopen("proc", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	_ = unix.FsconfigSetString(fd, "source", "proc")
	if hidepid, subset := s.procOptions(); hidepid != "" {
		_ = unix.FsconfigSetString(fd, "hidepid", hidepid)
		if subset != "" {
			_ = unix.FsconfigSetString(fd, "subset", subset)
		}
	}
	if err := unix.FsconfigCreate(fd); err != nil {
		return nil, err
	}
	m, err := unix.Fsmount(fd, unix.FSMOUNT_CLOEXEC, unix.MOUNT_ATTR_NOSUID|unix.MOUNT_ATTR_NODEV|unix.MOUNT_ATTR_NOEXEC)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(m), "proc-mount"), nil
}

// procOptions are the hidepid= and subset= values of ProtectProc= and ProcSubset= ("" for
// none).
func (s *Spec) procOptions() (hidepid, subset string) {
	pp := s.ProtectProc
	if (pp != "" && pp != "default") || (s.ProcSubset != "" && s.ProcSubset != "all") {
		if pp == "" || pp == "default" {
			pp = "off"
		}
		hidepid = pp
		if s.ProcSubset == "pid" {
			subset = "pid"
		}
	}
	return hidepid, subset
}

// NewDevMount makes the detached tmpfs of PrivateDevices='s /dev (for DevMountFD), as
// mountPrivateDev mounts it, with the device nodes in it: a child in a user namespace
// may neither make them nor use ones made on a tmpfs of its own.
func NewDevMount() (*os.File, error) {
	fd, err := unix.Fsopen("tmpfs", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	for _, o := range [][2]string{{"source", "tmpfs"}, {"mode", "755"}, {"size", "4m"}, {"nr_inodes", "64k"}} {
		if err := unix.FsconfigSetString(fd, o[0], o[1]); err != nil {
			return nil, err
		}
	}
	if err := unix.FsconfigCreate(fd); err != nil {
		return nil, err
	}
	m, err := unix.Fsmount(fd, unix.FSMOUNT_CLOEXEC, unix.MOUNT_ATTR_NOSUID|unix.MOUNT_ATTR_STRICTATIME|unix.MOUNT_ATTR_NOEXEC)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(m), "dev-mount")
	for _, d := range append([]string{"/dev/ptmx"}, devNodes...) {
		var st unix.Stat_t
		if unix.Lstat(d, &st) != nil {
			continue
		}
		if typ := st.Mode & unix.S_IFMT; typ != unix.S_IFCHR && typ != unix.S_IFBLK {
			continue
		}
		if err := unix.Mknodat(m, d[len("/dev/"):], st.Mode, int(st.Rdev)); err != nil {
			f.Close()
			return nil, err
		}
	}
	return f, nil
}

// attachProcMount puts the mount of ProcMountFD at path.
func (s *Spec) attachProcMount(path string) error {
	return unix.MoveMount(s.ProcMountFD, "", unix.AT_FDCWD, path, unix.MOVE_MOUNT_F_EMPTY_PATH)
}
