package listen

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/flint-init/flint/unit"
)

// TestSocketFileSwapped: the socket file bind made is given SocketMode= and SocketUser= only
// through itself: when a user who may write to its directory has put a symlink or a hard
// link in its place, the start fails and what the link names keeps its mode and owner.
func TestSocketFileSwapped(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(dir, "victim")
	if err := os.WriteFile(victim, []byte("root's\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := section(func(c *unit.SocketSection) { c.SocketMode = 0o666; c.SocketUser = "nobody" })
	link := filepath.Join(dir, "link.sock")
	if err := os.Symlink(victim, link); err != nil {
		t.Fatal(err)
	}
	if err := setSocketFile(link, cfg); err == nil || !strings.Contains(err.Error(), "was replaced after bind") {
		t.Errorf("a symlink in the socket's place: %v", err)
	}
	hard := filepath.Join(dir, "hard.sock")
	if err := os.Link(victim, hard); err != nil {
		t.Fatal(err)
	}
	if err := setSocketFile(hard, cfg); err == nil || !strings.Contains(err.Error(), "was replaced after bind") {
		t.Errorf("a hard link in the socket's place: %v", err)
	}
	var st unix.Stat_t
	if err := unix.Stat(victim, &st); err != nil {
		t.Fatal(err)
	}
	if st.Mode&0o777 != 0o600 || st.Uid != uint32(os.Geteuid()) {
		t.Errorf("the link's target is now mode %o uid %d", st.Mode&0o777, st.Uid)
	}
	// The socket itself gets them.
	s := mustOpen(t, unit.Listen{Kind: unit.ListenStream, Path: filepath.Join(dir, "real.sock")}, cfg)
	_ = s
	if err := unix.Lstat(filepath.Join(dir, "real.sock"), &st); err != nil {
		t.Fatal(err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFSOCK || st.Mode&0o777 != 0o666 || st.Uid != 65534 {
		t.Errorf("socket file mode %o uid %d, want a socket 0666 of 65534", st.Mode, st.Uid)
	}
}

// TestFIFOOfAnotherUser: a FIFO another uid made where a FIFO socket unit listens is not
// taken over (its maker could read what is meant for the service), as systemd 252's
// fifo_address_create refuses it; its mode and owner stay.
func TestFIFOOfAnotherUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to make a FIFO of another uid")
	}
	path := filepath.Join(t.TempDir(), "fifo")
	if err := unix.Mkfifo(path, 0o666); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(path, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o666); err != nil {
		t.Fatal(err)
	}
	_, err := Open(unit.Listen{Kind: unit.ListenFIFO, Path: path}, section(func(c *unit.SocketSection) { c.SocketMode = 0o600 }))
	if err == nil || !errors.Is(err, unix.EEXIST) || !strings.Contains(err.Error(), "a FIFO of uid 65534, not the manager's") {
		t.Errorf("a FIFO of nobody's: %v", err)
	}
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil || st.Mode&0o777 != 0o666 || st.Uid != 65534 {
		t.Errorf("nobody's FIFO is now mode %o uid %d (%v)", st.Mode&0o777, st.Uid, err)
	}
	// One of SocketUser='s is taken: the manager gave it that owner itself.
	if _, err := Open(unit.Listen{Kind: unit.ListenFIFO, Path: path}, section(func(c *unit.SocketSection) {
		c.SocketMode, c.SocketUser = 0o600, "nobody"
	})); err != nil {
		t.Errorf("a FIFO of SocketUser='s: %v", err)
	}
}

// TestMkdirParentsLeavesOthers: a parent directory that exists (made by someone else, or a
// symlink put there) keeps its mode; only the directories made get DirectoryMode=.
func TestMkdirParentsLeavesOthers(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "target")
	if err := os.Mkdir(target, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, filepath.Join(dir, "a")); err != nil {
		t.Fatal(err)
	}
	if err := mkdirParents(filepath.Join(dir, "a", "b", "c.sock"), 0o755); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]os.FileMode{target: 0o700, filepath.Join(target, "b"): 0o755} {
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s: %v %v, want %v", p, fi.Mode(), err, want)
		}
	}
}
