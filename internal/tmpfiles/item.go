package tmpfiles

import (
	"bytes"
	"time"
)

// Type is the letter of a line type of tmpfiles.d(5).
type Type byte

// The line types of systemd 252.
const (
	CreateFile          Type = 'f'
	TruncateFile        Type = 'F' // deprecated spelling of f+
	CreateDirectory     Type = 'd'
	TruncateDirectory   Type = 'D'
	CreateSubvolume     Type = 'v'
	CreateSubvolumeQ    Type = 'q' // subvolume inheriting its parent's quota group
	CreateSubvolumeNewQ Type = 'Q' // subvolume with a quota group of its own
	CreateFIFO          Type = 'p'
	CreateSymlink       Type = 'L'
	CreateCharDevice    Type = 'c'
	CreateBlockDevice   Type = 'b'
	CopyFiles           Type = 'C'

	// These take globs.
	WriteFile             Type = 'w'
	EmptyDirectory        Type = 'e'
	SetXattr              Type = 't'
	RecursiveSetXattr     Type = 'T'
	SetACL                Type = 'a'
	RecursiveSetACL       Type = 'A'
	SetAttribute          Type = 'h'
	RecursiveSetAttribute Type = 'H'
	IgnorePath            Type = 'x'
	IgnoreDirectoryPath   Type = 'X'
	RemovePath            Type = 'r'
	RecursiveRemovePath   Type = 'R'
	RelabelPath           Type = 'z'
	RecursiveRelabelPath  Type = 'Z'
	AdjustMode            Type = 'm' // legacy spelling of z
)

// AgeBy is a set of the timestamps cleaning looks at (the age-by letters).
type AgeBy uint8

// The timestamps, in the order of the letters a, b, c, m.
const (
	AgeByAtime AgeBy = 1 << iota
	AgeByBtime
	AgeByCtime
	AgeByMtime

	ageByDefaultFile = AgeByAtime | AgeByBtime | AgeByCtime | AgeByMtime
	ageByDefaultDir  = AgeByAtime | AgeByBtime | AgeByMtime
)

// Item is one parsed line.
type Item struct {
	Type Type
	// Path is the absolute, simplified path (or glob), with the root directory in front of it
	// when one is given, as systemd-tmpfiles keeps it.
	Path string
	// Arg is the argument after specifier expansion (and C unescaping for f, F, w, L, C).
	// For C it is the source with the root in front.
	Arg    []byte
	HasArg bool // the line has an argument ("-" is none)
	// Content is what f, F and w write when it is not Arg: the argument decoded from base64
	// ('~') or the credential it names ('^').
	Content    []byte
	HasContent bool
	// Xattrs are the name=value pairs of t and T lines.
	Xattrs [][2]string
	// ACL is the parsed argument of a and A lines; nil when it failed to parse.
	ACL *ACL

	UID, GID   uint32
	Mode       uint32
	Age        time.Duration // AgeInfinity: never
	AgeByFile  AgeBy
	AgeByDir   AgeBy
	MajorMinor uint64 // c and b: the device number (unix.Mkdev)
	AttrValue  uint32 // h and H: the flags to set
	AttrMask   uint32 // h and H: the flags touched

	UIDSet, GIDSet, ModeSet bool
	// …Only: a ':' prefix, applied only to inodes created now.
	UIDOnlyCreate, GIDOnlyCreate, ModeOnlyCreate bool
	AgeSet                                       bool
	MaskPerms                                    bool // '~' before the mode
	AttrSet                                      bool
	KeepFirstLevel                               bool // '~' before the age

	Force        bool // '+'
	AllowFailure bool // '-'
	TryReplace   bool // '='

	File string // where the line is
	Line int

	done operation // what process has done with it already
}

// content is what the line writes: Content when set, else Arg.
func (i *Item) content() []byte {
	if i.HasContent {
		return i.Content
	}
	return i.Arg
}

// AgeInfinity is the age "infinity": never old enough.
const AgeInfinity = time.Duration(1<<63 - 1)

// needsGlob reports whether the type's path is a glob.
func (t Type) needsGlob() bool {
	switch t {
	case WriteFile, IgnorePath, IgnoreDirectoryPath, RemovePath, RecursiveRemovePath,
		EmptyDirectory, AdjustMode, RelabelPath, RecursiveRelabelPath, SetXattr,
		RecursiveSetXattr, SetACL, RecursiveSetACL, SetAttribute, RecursiveSetAttribute:
		return true
	}
	return false
}

// takesOwnership reports whether the type makes (or claims) the inode; such lines conflict
// with each other when they differ.
func (t Type) takesOwnership() bool {
	switch t {
	case CreateFile, TruncateFile, CreateDirectory, EmptyDirectory, TruncateDirectory,
		CreateSubvolume, CreateSubvolumeQ, CreateSubvolumeNewQ, CreateFIFO, CreateSymlink,
		CreateCharDevice, CreateBlockDevice, CopyFiles, WriteFile, IgnorePath,
		IgnoreDirectoryPath, RemovePath, RecursiveRemovePath:
		return true
	}
	return false
}

// isDirectoryType: the types that create a directory (their mode defaults to 0755, X lines
// take their age).
func (t Type) isDirectoryType() bool {
	switch t {
	case CreateDirectory, TruncateDirectory, CreateSubvolume, CreateSubvolumeQ, CreateSubvolumeNewQ:
		return true
	}
	return false
}

// itemLess orders the items of one path: those taking ownership first, then by type letter
// (item_compare).
func itemLess(a, b *Item) bool {
	ao, bo := a.Type.takesOwnership(), b.Type.takesOwnership()
	if ao != bo {
		return ao
	}
	return a.Type < b.Type
}

// compatible reports whether two lines for the same path may both apply (item_compatible):
// two that take ownership must be the same in everything but their type.
func compatible(a, b *Item) bool {
	if !a.Type.takesOwnership() || !b.Type.takesOwnership() {
		return true
	}
	return bytes.Equal(a.content(), b.content()) &&
		a.UIDSet == b.UIDSet && a.UID == b.UID && a.UIDOnlyCreate == b.UIDOnlyCreate &&
		a.GIDSet == b.GIDSet && a.GID == b.GID && a.GIDOnlyCreate == b.GIDOnlyCreate &&
		a.ModeSet == b.ModeSet && a.Mode == b.Mode && a.ModeOnlyCreate == b.ModeOnlyCreate &&
		a.AgeSet == b.AgeSet && a.Age == b.Age &&
		a.AgeByFile == b.AgeByFile && a.AgeByDir == b.AgeByDir &&
		a.MaskPerms == b.MaskPerms && a.KeepFirstLevel == b.KeepFirstLevel &&
		a.MajorMinor == b.MajorMinor
}

// duplicated reports whether i conflicts with a line already kept for its path: only several
// w+ lines may be given for one path beside the compatible ones.
func duplicated(existing []*Item, i *Item) bool {
	for _, e := range existing {
		if compatible(e, i) {
			continue
		}
		if e.Type != WriteFile || !e.Force || i.Type != WriteFile || !i.Force {
			return true
		}
	}
	return false
}
