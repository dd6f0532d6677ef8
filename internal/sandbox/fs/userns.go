package fs

import "syscall"

// UserNS sets up PrivateUsers= on the SysProcAttr of the child about to be started: a user
// namespace of its own in which root and the unit's user and group map to themselves and
// every other id to nobody, as systemd 252's setup_private_users(). It must be done at
// clone time: a multi-threaded Go process cannot unshare(CLONE_NEWUSER).
func UserNS(attr *syscall.SysProcAttr, uid, gid int) {
	attr.Cloneflags |= syscall.CLONE_NEWUSER
	attr.UidMappings = idMap(uid)
	attr.GidMappings = idMap(gid)
	attr.GidMappingsEnableSetgroups = true
}

func idMap(id int) []syscall.SysProcIDMap {
	m := []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 1}}
	if id > 0 {
		m = append(m, syscall.SysProcIDMap{ContainerID: id, HostID: id, Size: 1})
	}
	return m
}
