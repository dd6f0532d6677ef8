package logs

import (
	"cmp"
	"errors"
	"fmt"
	"github.com/flint-init/flint/unit/show"
	"hash/fnv"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Cursor names a place in a store's entries, in journald's cursor syntax:
// "s=STORE;i=SEQ;b=BOOT;m=MONO;t=REALTIME;x=HASH" (hexadecimal numbers; the ids are 128-bit
// hex). Within the store that wrote it (s=), the sequence number places it exactly; in another
// store (a later manager run) it places by the monotonic clock when the boot is the same,
// else by the wall clock, as journald does for a cursor of another journal file.
type Cursor struct {
	Store string        // s=: the store's ID
	Seq   uint64        // i=
	Boot  string        // b=: the kernel's boot id
	Mono  time.Duration // m=
	Time  time.Time     // t=
	hash  uint64        // x=: shown, not checked
}

// BootID is the kernel's boot id (/proc/sys/kernel/random/boot_id) without dashes, as the
// journal writes it; "" if unknown.
var BootID = sync.OnceValue(func() string {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	return strings.ReplaceAll(strings.TrimSpace(string(b)), "-", "")
})

// CursorOf is the cursor of line l of the store whose ID is storeID.
func CursorOf(l *Line, storeID string) string {
	h := fnv.New64a()
	h.Write([]byte(l.Unit))
	h.Write([]byte{0})
	h.Write([]byte(l.Text))
	return fmt.Sprintf("s=%s;i=%x;b=%s;m=%x;t=%x;x=%x", storeID, l.Seq, BootID(), l.Mono.Microseconds(), l.Time.UnixMicro(), h.Sum64())
}

// ErrBadCursor is the error of a cursor that cannot be read (journalctl: "Failed to seek to
// cursor: Invalid argument").
var ErrBadCursor = errors.New("Invalid argument")

// ParseCursor reads a cursor. Unknown keys are ignored, as journald ignores them; it must
// place somewhere: s= with i=, b= with m=, or t=.
func ParseCursor(s string) (*Cursor, error) {
	c := &Cursor{}
	var haveSeq, haveMono, haveTime bool
	for _, part := range strings.Split(s, ";") {
		k, v, ok := strings.Cut(part, "=")
		if !ok || v == "" {
			return nil, ErrBadCursor
		}
		var err error
		switch k {
		case "s":
			if !isID128(v) {
				return nil, ErrBadCursor
			}
			c.Store = v
		case "b":
			if !isID128(v) {
				return nil, ErrBadCursor
			}
			c.Boot = v
		case "i":
			c.Seq, err = strconv.ParseUint(v, 16, 64)
			haveSeq = err == nil
		case "m":
			var m uint64
			m, err = strconv.ParseUint(v, 16, 63)
			c.Mono, haveMono = time.Duration(m)*time.Microsecond, err == nil
		case "t":
			var t uint64
			t, err = strconv.ParseUint(v, 16, 63)
			c.Time, haveTime = time.UnixMicro(int64(t)), err == nil
		case "x":
			c.hash, err = strconv.ParseUint(v, 16, 64)
		}
		if err != nil {
			return nil, ErrBadCursor
		}
	}
	if !(c.Store != "" && haveSeq || c.Boot != "" && haveMono || haveTime) {
		return nil, ErrBadCursor
	}
	return c, nil
}

func isID128(s string) bool {
	if len(s) != 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !strings.ContainsRune("0123456789abcdef", rune(s[i])) {
			return false
		}
	}
	return true
}

// compare places l against the cursor: negative when l comes before the place it names, 0
// when l is the entry it names, positive after.
func (c *Cursor) compare(l *Line, storeID string) int {
	switch {
	case c.Store == storeID && c.Seq != 0:
		return cmp.Compare(l.Seq, c.Seq)
	case c.Boot != "" && c.Boot == BootID() && c.Mono != 0:
		return cmp.Compare(l.Mono, c.Mono)
	case !c.Time.IsZero():
		return cmp.Compare(l.Time.UnixMicro(), c.Time.UnixMicro())
	}
	return 1
}

// Cmdline is argv as journald's _CMDLINE shows a command line: the words joined by spaces,
// each quoted as a shell needs it (unit.ShellQuote), an empty one as "".
func Cmdline(argv []string) string {
	words := make([]string, len(argv))
	for i, w := range argv {
		if w == "" {
			w = `""`
		} else {
			w = show.ShellQuote(w)
		}
		words[i] = w
	}
	return strings.Join(words, " ")
}
