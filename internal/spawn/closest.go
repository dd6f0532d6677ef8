package spawn

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// The closest values systemd's exec_child settles for when the kernel refuses a setting for
// want of privilege (setrlimit_closest, setpriority_closest). They depend on the limits and
// nice level the child has at that step: the manager's own, which the child inherits and no
// earlier step changes, so they are computed here, before the fork.

// oomScoreAdjPath is the file the OOM score is written to (tests name another).
var oomScoreAdjPath = "/proc/self/oom_score_adj"

// hardLimit is ownHardLimit (tests pretend other limits).
var hardLimit = ownHardLimit

// rlimInfinity is RLIM_INFINITY.
const rlimInfinity = ^uint64(0)

// ownHardLimit is this process's hard limit of resource (RLIM_INFINITY when unknown: then no
// closest value is tried, as systemd propagates the EPERM).
func ownHardLimit(resource int) uint64 {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(resource, &rl); err != nil {
		return rlimInfinity
	}
	return rl.Max
}

// closestRlimit returns the limit to set when want is refused with EPERM, given the hard
// limit the child has (hard), and whether there is one to try: none when that hard limit is
// infinite (the EPERM had other reasons) or when it would be want itself.
func closestRlimit(want Rlimit, hard uint64) (Rlimit, bool) {
	if hard == rlimInfinity {
		return Rlimit{}, false
	}
	fixed := Rlimit{Resource: want.Resource, Soft: min(want.Soft, hard), Hard: min(want.Hard, hard)}
	return fixed, fixed != want
}

// ownNice returns this process's nice level and the soft RLIMIT_NICE.
func ownNice() (nice int, rlimNice uint64) {
	// The system call returns 20 - nice (1..40), not the nice level.
	if r, err := unix.Getpriority(unix.PRIO_PROCESS, 0); err == nil {
		nice = 20 - r
	}
	var rl unix.Rlimit
	if unix.Getrlimit(unix.RLIMIT_NICE, &rl) == nil {
		rlimNice = rl.Cur
	}
	return nice, rlimNice
}

// How the nice step treats a privilege error (EPERM, EACCES).
const (
	niceFails     = iota // it fails the start (201/NICE)
	niceTolerated        // it is ignored: the nice level stays
	niceFallback         // the closest level is set instead
)

// closestNice is setpriority_closest decided ahead: for nice level want, in a child at level
// cur with a soft RLIMIT_NICE of rlimNice, how a privilege error is treated and, for
// niceFallback, the level to set instead. Raising the level never needs privilege (an error
// there is not one to work around); the level it already has is no change; lowering it goes as
// far as RLIMIT_NICE allows, and not at all when the child is already lower than that.
func closestNice(want, cur int, rlimNice uint64) (int, int) {
	switch {
	case want == cur:
		return 0, niceTolerated
	case want > cur:
		return 0, niceFails
	}
	limit := rlimitToNice(rlimNice)
	if cur < limit {
		return 0, niceTolerated
	}
	return limit, niceFallback
}

// rlimitToNice is the lowest nice level a soft RLIMIT_NICE of limit allows (20 - limit, within
// -20..19).
func rlimitToNice(limit uint64) int {
	switch {
	case limit <= 1:
		return 19
	case limit >= 40:
		return -20
	}
	return 20 - int(limit)
}
