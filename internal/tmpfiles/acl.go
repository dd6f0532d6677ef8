package tmpfiles

import (
	"encoding/binary"
	"sort"
	"strconv"
	"strings"
	"syscall"
)

// ACL tags, as in the kernel's POSIX ACL extended attributes.
const (
	aclUserObj  = 0x01
	aclUser     = 0x02
	aclGroupObj = 0x04
	aclGroup    = 0x08
	aclMask     = 0x10
	aclOther    = 0x20

	aclUndefinedID = 1<<32 - 1
)

// aclEntry is one entry of a POSIX ACL.
type aclEntry struct {
	tag  uint16
	perm uint16 // r=4 w=2 x=1
	id   uint32 // for aclUser and aclGroup
}

// ACL is the argument of an a or A line: the access and the default ACL (either may be
// empty).
type ACL struct {
	Access, Default []aclEntry
}

// parseACL reads an ACL argument as systemd's parse_acl(): comma-separated entries, those
// starting with "default:" or "d:" going to the default ACL, each part read by libacl's
// acl_from_text(); with wantMask, a mask entry is computed for a part that names users or
// groups and has none. Names are looked up on the host, as libacl does.
func parseACL(text string, wantMask bool) (*ACL, error) {
	var access, def []string
	for _, e := range strings.Split(text, ",") {
		if p, ok := strings.CutPrefix(e, "default:"); ok {
			def = append(def, p)
		} else if p, ok := strings.CutPrefix(e, "d:"); ok {
			def = append(def, p)
		} else {
			access = append(access, e)
		}
	}
	acl := &ACL{}
	for _, part := range []struct {
		texts []string
		out   *[]aclEntry
	}{{access, &acl.Access}, {def, &acl.Default}} {
		if len(part.texts) == 0 {
			continue
		}
		es, err := aclFromText(strings.Join(part.texts, ","))
		if err != nil {
			return nil, err
		}
		if wantMask {
			es = maskIfNeeded(es)
		}
		*part.out = es
	}
	return acl, nil
}

// aclFromText is libacl's acl_from_text(): entries "user:NAME:rwx", "u::rw-", "group:...",
// "mask::r-x", "other::---" (tags abbreviated to their letter, the empty qualifier of mask
// and other optional, up to three permission characters), separated by commas and
// whitespace.
func aclFromText(s string) ([]aclEntry, error) {
	var out []aclEntry
	i := 0
	skipWS := func() {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
			i++
		}
		if i < len(s) && s[i] == '#' {
			for i < len(s) && s[i] != '\n' {
				i++
			}
		}
	}
	skipTag := func(name string) bool {
		skipWS()
		switch {
		case strings.HasPrefix(s[i:], name):
			i += len(name)
		case i < len(s) && s[i] == name[0]:
			i++
		default:
			return false
		}
		skipWS()
		if i < len(s) && s[i] == ':' {
			i++
		}
		return true
	}
	token := func() string {
		skipWS()
		start := i
		for i < len(s) && s[i] != '\r' && s[i] != '\n' && s[i] != ':' && s[i] != ',' {
			i++
		}
		t := s[start:i]
		if i < len(s) && s[i] == ':' {
			i++
		}
		return t
	}
	for i < len(s) {
		var e aclEntry
		skipWS()
		if i >= len(s) {
			return nil, syscall.EINVAL
		}
		switch s[i] {
		case 'u', 'g':
			group := s[i] == 'g'
			name := map[bool]string{false: "user", true: "group"}[group]
			if !skipTag(name) {
				return nil, syscall.EINVAL
			}
			e.tag, e.id = aclUserObj, aclUndefinedID
			if group {
				e.tag = aclGroupObj
			}
			if q := token(); q != "" {
				id, ok := aclQualifier(q, group)
				if !ok {
					return nil, syscall.EINVAL
				}
				e.tag, e.id = aclUser, id
				if group {
					e.tag = aclGroup
				}
			}
		case 'm', 'o':
			other := s[i] == 'o'
			if !skipTag(map[bool]string{false: "mask", true: "other"}[other]) {
				return nil, syscall.EINVAL
			}
			skipWS()
			if i < len(s) && s[i] == ':' {
				i++
			}
			e.tag, e.id = aclMask, aclUndefinedID
			if other {
				e.tag = aclOther
			}
		default:
			return nil, syscall.EINVAL
		}
	perms:
		for n := 0; n < 3; n++ {
			var bit uint16
			if i < len(s) {
				bit = map[byte]uint16{'r': 4, 'w': 2, 'x': 1, '-': 0}[s[i]]
			}
			if i >= len(s) || (bit == 0 && s[i] != '-') {
				if n == 0 {
					return nil, syscall.EINVAL
				}
				break perms
			}
			if e.perm&bit != 0 {
				return nil, syscall.EINVAL
			}
			e.perm |= bit
			i++
		}
		out = append(out, e)
		skipWS()
		if i < len(s) && s[i] == ',' {
			i++
			skipWS()
		}
	}
	return out, nil
}

// aclQualifier resolves a user or group of an ACL entry: a number, else a name of the host's
// /etc/passwd or /etc/group.
func aclQualifier(q string, group bool) (uint32, bool) {
	if v, err := strconv.ParseUint(q, 10, 32); err == nil {
		return uint32(v), true
	}
	l := &IDs{}
	m, err := l.table(group)
	if err != nil {
		return 0, false
	}
	id, ok := m[q]
	return id, ok
}

// maskIfNeeded adds the mask entry a list of named entries needs (calc_acl_mask_if_needed):
// the union of the group entry's and the named entries' permissions.
func maskIfNeeded(es []aclEntry) []aclEntry {
	need := false
	var mask uint16
	for _, e := range es {
		switch e.tag {
		case aclMask:
			return es
		case aclUser, aclGroup:
			need = true
			mask |= e.perm
		case aclGroupObj:
			mask |= e.perm
		}
	}
	if !need {
		return es
	}
	return append(es, aclEntry{tag: aclMask, perm: mask, id: aclUndefinedID})
}

// withBase adds the owner, group and other entries a list lacks, from the file's mode
// (add_base_acls_if_needed).
func withBase(es []aclEntry, mode uint32) []aclEntry {
	have := map[uint16]bool{}
	for _, e := range es {
		have[e.tag] = true
	}
	out := append([]aclEntry(nil), es...)
	for _, b := range []aclEntry{
		{tag: aclUserObj, perm: uint16(mode>>6) & 7},
		{tag: aclGroupObj, perm: uint16(mode>>3) & 7},
		{tag: aclOther, perm: uint16(mode) & 7},
	} {
		if !have[b.tag] {
			b.id = aclUndefinedID
			out = append(out, b)
		}
	}
	return out
}

// mergeACL sets the entries of add in old (acls_for_file): an entry of the same tag (and
// user or group) takes the new permissions, others are appended.
func mergeACL(old, add []aclEntry) []aclEntry {
	out := append([]aclEntry(nil), old...)
	for _, n := range add {
		found := false
		for k := range out {
			if out[k].tag == n.tag && (n.tag != aclUser && n.tag != aclGroup || out[k].id == n.id) {
				out[k].perm = n.perm
				found = true
				break
			}
		}
		if !found {
			out = append(out, n)
		}
	}
	return out
}

// encodeACL is the value of a system.posix_acl_* extended attribute: version 2, then the
// entries sorted by tag and id, as the kernel requires.
func encodeACL(es []aclEntry) []byte {
	s := append([]aclEntry(nil), es...)
	sort.SliceStable(s, func(a, b int) bool {
		if s[a].tag != s[b].tag {
			return s[a].tag < s[b].tag
		}
		return s[a].id < s[b].id
	})
	b := make([]byte, 4, 4+8*len(s))
	binary.LittleEndian.PutUint32(b, 2)
	for _, e := range s {
		b = binary.LittleEndian.AppendUint16(b, e.tag)
		b = binary.LittleEndian.AppendUint16(b, e.perm)
		id := e.id
		if e.tag != aclUser && e.tag != aclGroup {
			id = aclUndefinedID
		}
		b = binary.LittleEndian.AppendUint32(b, id)
	}
	return b
}

// decodeACL reads a system.posix_acl_* value.
func decodeACL(b []byte) ([]aclEntry, error) {
	if len(b) < 4 || binary.LittleEndian.Uint32(b) != 2 || (len(b)-4)%8 != 0 {
		return nil, syscall.EINVAL
	}
	var out []aclEntry
	for p := 4; p < len(b); p += 8 {
		out = append(out, aclEntry{
			tag:  binary.LittleEndian.Uint16(b[p:]),
			perm: binary.LittleEndian.Uint16(b[p+2:]),
			id:   binary.LittleEndian.Uint32(b[p+4:]),
		})
	}
	return out, nil
}

// aclText is an ACL as acl_to_any_text(..., ',', TEXT_ABBREVIATE) prints it, with numeric
// ids.
func aclText(es []aclEntry) string {
	var parts []string
	for _, e := range es {
		t := map[uint16]string{aclUserObj: "u:", aclUser: "u:", aclGroupObj: "g:", aclGroup: "g:", aclMask: "m:", aclOther: "o:"}[e.tag]
		if e.tag == aclUser || e.tag == aclGroup {
			t += strconv.FormatUint(uint64(e.id), 10)
		}
		perm := []byte("---")
		if e.perm&4 != 0 {
			perm[0] = 'r'
		}
		if e.perm&2 != 0 {
			perm[1] = 'w'
		}
		if e.perm&1 != 0 {
			perm[2] = 'x'
		}
		parts = append(parts, t+":"+string(perm))
	}
	return strings.Join(parts, ",")
}
