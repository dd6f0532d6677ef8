package unit

import (
	"maps"
	"slices"
	"syscall"
	"time"
)

// A daemon-reload of unchanged unit files keeps the decoded units instead of parsing every
// file again. Reload moves the Loader's caches aside (loaderCache); the next scan of the
// search path takes them back when nothing a unit was decoded from changed:
//
//   - the directories of the search path and their .d/.wants/.requires/.upholds
//     subdirectories have the modification and change times and inodes they had at the last
//     scan (dirSum): no unit file, alias, mask, drop-in or dependency link was added, removed
//     or renamed;
//   - the scan's maps (ids, the aliases in names, the subdirectories in fsCache) are equal:
//     a symlink replaced by another is seen there too;
//   - every decoded unit's fragment and drop-ins have the identity they had when they were
//     read (device, inode, size, modification and change time: fileID), which covers files
//     written in place and the targets of linked unit files outside the search path;
//   - no unit was loaded from a file that could not be read (volatile).
//
// Anything else drops the caches and every unit is parsed again, as systemd's daemon-reload
// always does. The change time cannot be set by a user, so a file rewritten with its old
// modification time restored (touch -r, cp -p) is still seen.

// fileID identifies a version of a file: what fstat or stat (following symlinks) says.
type fileID struct {
	dev, ino     uint64
	size         int64
	mtime, ctime int64 // nanoseconds
	mode         uint32
}

func idOf(st *syscall.Stat_t) fileID {
	return fileID{dev: st.Dev, ino: st.Ino, size: st.Size, mode: st.Mode,
		mtime: st.Mtim.Nano(), ctime: st.Ctim.Nano()}
}

// modTime is the file's modification time.
func (f fileID) modTime() time.Time { return time.Unix(0, f.mtime) }

// statID stats p (following symlinks); ok is false when it cannot be stat'ed.
func statID(p string) (fileID, bool) {
	var st syscall.Stat_t
	if statRetry(p, &st) != nil {
		return fileID{}, false
	}
	return idOf(&st), true
}

// fnv64 is FNV-1a, 64 bits, over what the sums fold in.
type fnv64 uint64

const fnvOffset fnv64 = 14695981039346656037

func (h fnv64) str(s string) fnv64 {
	for i := 0; i < len(s); i++ {
		h = (h ^ fnv64(s[i])) * 1099511628211
	}
	return (h ^ 0xff) * 1099511628211 // a separator: "ab","c" differs from "a","bc"
}

func (h fnv64) u64(v uint64) fnv64 {
	for i := 0; i < 8; i++ {
		h = (h ^ fnv64(byte(v>>(8*i)))) * 1099511628211
	}
	return h
}

// file folds in path p and its identity (ok false: it could not be stat'ed or read).
func (h fnv64) file(p string, id fileID, ok bool) fnv64 {
	h = h.str(p)
	if !ok {
		return h.u64(1<<64 - 1)
	}
	return h.u64(id.dev).u64(id.ino).u64(uint64(id.size)).u64(uint64(id.mtime)).u64(uint64(id.ctime)).u64(uint64(id.mode))
}

// unitSum is the sum of a unit's files as they are now: its fragment (when it has one) and
// its drop-ins, in that order. base computes the same sum from the files as it read them.
func (l *Loader) unitSum(u *Unit) uint64 {
	h := fnvOffset
	if u.FragmentPath != "" {
		id, ok := statID(l.lk.InTree(u.FragmentPath))
		h = h.file(u.FragmentPath, id, ok)
	}
	l.statDropIns(u.DropInPaths, &h)
	return uint64(h)
}

// dirSum sums the identities of the search path's directories and of the drop-in and
// dependency directories found in them (fsCache holds only those), in no particular order
// (a sum of hashes).
func (l *Loader) dirSum() uint64 {
	var sum uint64
	for _, d := range l.path {
		id, ok := statID(d)
		sum += uint64(fnvOffset.file(d, id, ok))
	}
	for p := range l.fsCache {
		id, ok := statID(l.lk.InTree(p))
		sum += uint64(fnvOffset.file(p, id, ok))
	}
	return sum
}

// loaderCache is what Reload sets aside: the scan's maps and everything decoded from them.
type loaderCache struct {
	ids      map[string]string
	names    map[string][]string
	fsCache  map[string]bool
	masks    map[string]bool
	revWants map[string][]string
	units    map[string]*Unit
	sums     map[*Unit]uint64
	sockets  []string
	triggers []string

	bySocket, byTrigger *triggerIndex
	dirs                uint64
	volatile            bool
}

// setAside moves the caches into a loaderCache and clears them. Callers hold l.mu.
func (l *Loader) setAside() {
	if l.ids != nil && !l.volatile {
		l.prev = &loaderCache{ids: l.ids, names: l.names, fsCache: l.fsCache, masks: l.masks,
			revWants: l.revWants, units: l.units, sums: l.sums,
			sockets: l.sockets, triggers: l.triggers, bySocket: l.bySocket, byTrigger: l.byTrigger,
			dirs: l.dirStamp}
	} else if l.ids == nil && l.prev != nil {
		// Reload twice without a scan between: what was set aside is still the last load.
	} else {
		l.prev = nil
	}
	l.ids, l.names, l.fsCache, l.masks, l.units, l.sockets, l.triggers = nil, nil, nil, nil, nil, nil, nil
	l.revWants, l.bySocket, l.byTrigger, l.sums, l.volatile = nil, nil, nil, nil, false
}

// takeBack restores what Reload set aside when the fresh scan (ids, names, fsCache, dirs)
// finds the search path as it was and every decoded unit's files unchanged. Callers hold
// l.mu, right after a scan.
func (l *Loader) takeBack() {
	c := l.prev
	l.prev = nil
	if c == nil || c.dirs != l.dirStamp || !maps.Equal(c.ids, l.ids) || !maps.Equal(c.fsCache, l.fsCache) ||
		!maps.EqualFunc(c.names, l.names, slices.Equal[[]string]) {
		return
	}
	for u, sum := range c.sums {
		if l.unitSum(u) != sum {
			return
		}
	}
	l.masks, l.revWants, l.units, l.sums = c.masks, c.revWants, c.units, c.sums
	l.sockets, l.triggers, l.bySocket, l.byTrigger = c.sockets, c.triggers, c.bySocket, c.byTrigger
	l.reused++
}

// statDropIns folds the identity of each drop-in into h, stat'ed before it is read, and
// returns the newest modification time among them.
func (l *Loader) statDropIns(paths []string, h *fnv64) stamp {
	var newest stamp
	for _, p := range paths {
		id, ok := statID(l.lk.InTree(p))
		*h = h.file(p, id, ok)
		if t := stampOf(id.modTime()); ok && t > newest {
			newest = t
		}
	}
	return newest
}
