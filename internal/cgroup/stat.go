package cgroup

import "golang.org/x/sys/unix"

type statT struct{ major, minor uint32 }

// stat gives the block device of path: itself when it is one, else the device its file
// system is on.
func stat(path string, out *statT) error {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return err
	}
	dev := st.Dev
	if st.Mode&unix.S_IFMT == unix.S_IFBLK {
		dev = st.Rdev
	}
	out.major, out.minor = unix.Major(dev), unix.Minor(dev)
	return nil
}
