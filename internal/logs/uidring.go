package logs

import (
	"math"
	"strconv"
	"strings"
)

// The lines of no unit (a user's logger, a shell's systemd-cat) are kept per sender uid, so
// that one user who logs a lot pushes out its own lines only, never root's (kept with the
// lines of unknown senders, as a unit's) or another user's. A user who can log under many
// uids (subordinate uids in a user namespace) holds at most maxUIDRings rings of
// uidRingBytes: the ring written to longest ago is dropped for a new one.
const (
	maxUIDRings  = 64
	uidRingBytes = 1 << 20
)

// uidKeyPrefix starts the key of a uid's ring in Store.units: no unit name starts with a NUL.
const uidKeyPrefix = "\x00uid "

// ringKey is the key of the ring that keeps l: its unit, or its sender's uid.
func ringKey(l *Line) string {
	if l.Unit == "" && l.Source != nil && l.Source.UID > 0 {
		return uidKeyPrefix + strconv.Itoa(l.Source.UID)
	}
	return l.Unit
}

// unitOfKey is the unit of the lines a ring keeps ("" for a uid's).
func unitOfKey(key string) string {
	if strings.HasPrefix(key, uidKeyPrefix) {
		return ""
	}
	return key
}

// ringFor returns the ring that keeps l, made if needed; s.mu is held.
func (s *Store) ringFor(l *Line) *ring {
	key := ringKey(l)
	r := s.units[key]
	byUID := key != l.Unit
	if r == nil {
		maxBytes := s.unitBytes
		if byUID {
			s.evictUIDRing()
			if maxBytes <= 0 || maxBytes > uidRingBytes {
				maxBytes = uidRingBytes
			}
		}
		r = &ring{max: int32(min(s.perUnit, math.MaxInt32)), maxBytes: int32(min(max(maxBytes, 0), math.MaxInt32))}
		s.units[key] = r
	}
	if byUID {
		if s.uidLast == nil {
			s.uidLast = map[string]uint64{}
		}
		s.uidLast[key] = l.Seq
	}
	return r
}

// evictUIDRing drops the uid ring written to longest ago when there are maxUIDRings.
func (s *Store) evictUIDRing() {
	if len(s.uidLast) < maxUIDRings {
		return
	}
	var oldest string
	var seq uint64
	for k, v := range s.uidLast {
		if oldest == "" || v < seq {
			oldest, seq = k, v
		}
	}
	delete(s.uidLast, oldest)
	delete(s.units, oldest)
}
