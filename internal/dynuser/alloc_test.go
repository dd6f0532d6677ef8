package dynuser

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The uids systemd 252 gave these names (scripts/systemd-ns, a unit of that name with
// DynamicUser=yes and no directory of its own): its siphash24 of the name, clamped.
func TestHashedUIDMatchesSystemd(t *testing.T) {
	for name, want := range map[string]uint32{"dyx-a": 63756, "dyx-b": 63612} {
		if got := HashedUID(name); got != want {
			t.Errorf("HashedUID(%q) = %d, systemd 252 allocated %d", name, got, want)
		}
	}
	for _, name := range []string{"a", "web", "_du0123456789abcdef", strings.Repeat("x", 31)} {
		if u := HashedUID(name); !IsDynamic(u) {
			t.Errorf("HashedUID(%q) = %d, outside %d-%d", name, u, MinUID, MaxUID)
		}
	}
}

// fixture is an allocator on files of a test's own: the lock directory, /etc/passwd and
// /etc/group stand-ins, a userdb directory, no IPC in use, and random candidates drawn from
// draws (then MinUID+7 for ever).
type fixture struct {
	a      *Allocator
	dir    string
	userdb string
	draws  []uint32
	ipc    map[uint32]bool
}

func newFixture(t *testing.T, lockDir string) *fixture {
	t.Helper()
	tmp := t.TempDir()
	if lockDir == "" {
		lockDir = filepath.Join(tmp, "dynamic-uid")
	}
	a, err := New(lockDir)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{a: a, dir: lockDir, userdb: filepath.Join(tmp, "userdb"), ipc: map[uint32]bool{}}
	a.Passwd, a.Group = filepath.Join(tmp, "passwd"), filepath.Join(tmp, "group")
	writeFile(t, a.Passwd, "root:x:0:0:root:/root:/bin/bash\nstatic:x:1500:1600::/:/bin/sh\nnobody:x:65534:65534::/:/bin/sh\n")
	writeFile(t, a.Group, "root:x:0:\nsgroup:x:1700:\nstatic:x:1600:\ngonly:x:1800:\n")
	a.UserDB = f.userdb
	a.IPCInUse = func(uid, gid uint32) bool { return f.ipc[uid] || f.ipc[gid] }
	a.Rand = func() uint32 {
		if len(f.draws) == 0 {
			return 7 // clamps to MinUID+7
		}
		r := f.draws[0]
		f.draws = f.draws[1:]
		return r
	}
	return f
}

func writeFile(t *testing.T, p, s string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) realize(t *testing.T, name string, isUser bool, suggested ...string) (*Entry, uint32, uint32) {
	t.Helper()
	e, err := f.a.Acquire(name)
	if err != nil {
		t.Fatal(err)
	}
	uid, gid, err := f.a.Realize(e, isUser, suggested)
	if err != nil {
		t.Fatalf("Realize(%s): %v", name, err)
	}
	return e, uid, gid
}

func (f *fixture) lockContent(id uint32) (string, bool) {
	b, err := os.ReadFile(filepath.Join(f.dir, strconv.FormatUint(uint64(id), 10)))
	return string(b), err == nil
}

func TestRealizeHashedThenRelease(t *testing.T) {
	f := newFixture(t, "")
	e, uid, gid := f.realize(t, "web", true)
	if want := HashedUID("web"); uid != want || gid != want {
		t.Fatalf("uid:gid = %d:%d, want the hashed %d", uid, gid, want)
	}
	if c, ok := f.lockContent(uid); !ok || c != "web\n" {
		t.Fatalf("lock file = %q, %v; want \"web\\n\"", c, ok)
	}
	// A second unit of the same name shares the uid: nothing new is allocated.
	e2, uid2, _ := f.realize(t, "web", true)
	if e2 != e || uid2 != uid {
		t.Fatalf("second user of the name got %d (entry %p, first %p)", uid2, e2, e)
	}
	if n, ok := f.a.Name(uid); !ok || n != "web" {
		t.Fatalf("Name(%d) = %q, %v", uid, n, ok)
	}
	if _, ok := f.a.Release(e); ok {
		t.Fatal("released while a unit still uses the name")
	}
	if _, ok := f.lockContent(uid); !ok {
		t.Fatal("lock file gone while the name is in use")
	}
	if id, ok := f.a.Release(e); !ok || id != uid {
		t.Fatalf("last Release = %d, %v; want %d, true", id, ok, uid)
	}
	if _, ok := f.lockContent(uid); ok {
		t.Fatal("lock file left after the last release")
	}
	if _, ok := f.a.Current("web"); ok {
		t.Fatal("name still allocated after its release")
	}
}

func TestRealizeProbing(t *testing.T) {
	h := HashedUID("svc")
	next := uint32(MinUID + 7) // the fixture's default draw, clamped
	inRange := uint32(MinUID + 100)
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, f *fixture) []string // returns the suggested paths
		want  uint32
	}{
		{"hashed", func(*testing.T, *fixture) []string { return nil }, h},
		{"static user has the hashed uid", func(t *testing.T, f *fixture) []string {
			writeFile(t, f.a.Passwd, "other:x:"+strconv.Itoa(int(h))+":100::/:/bin/sh\n")
			return nil
		}, next},
		{"static group has the hashed gid", func(t *testing.T, f *fixture) []string {
			writeFile(t, f.a.Group, "other:x:"+strconv.Itoa(int(h))+":\n")
			return nil
		}, next},
		{"IPC objects of the hashed uid", func(t *testing.T, f *fixture) []string {
			f.ipc[h] = true
			return nil
		}, next},
		{"systemd's lock for the hashed uid", func(t *testing.T, f *fixture) []string {
			d := t.TempDir()
			writeFile(t, filepath.Join(d, strconv.Itoa(int(h))), "other\n")
			f.a.Foreign = []string{d}
			return nil
		}, next},
		{"a user record not flint's has the hashed uid", func(t *testing.T, f *fixture) []string {
			os.MkdirAll(f.userdb, 0o755)
			writeFile(t, filepath.Join(f.userdb, "mine.user"), `{"userName":"mine","uid":1}`)
			os.Symlink("mine.user", filepath.Join(f.userdb, strconv.Itoa(int(h))+".user"))
			return nil
		}, next},
		{"random draws until one is free", func(t *testing.T, f *fixture) []string {
			f.ipc[h] = true
			f.ipc[MinUID+1] = true
			f.draws = []uint32{1, 2}
			return nil
		}, MinUID + 2},
		{"suggested directory owner first", func(t *testing.T, f *fixture) []string {
			d := t.TempDir()
			if err := os.Chown(d, int(inRange), int(inRange)); err != nil {
				t.Skip("cannot chown:", err) // not root: the package's other tests still run
			}
			return []string{filepath.Join(d, "missing"), d}
		}, inRange},
		{"suggested owner outside the range is passed over", func(t *testing.T, f *fixture) []string {
			return []string{t.TempDir()} // root's
		}, h},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, "")
			suggested := tc.setup(t, f)
			_, uid, gid := f.realize(t, "svc", true, suggested...)
			if uid != tc.want || gid != tc.want {
				t.Fatalf("got %d:%d, want %d", uid, gid, tc.want)
			}
			// Candidates passed over leave no lock file behind.
			ents, _ := os.ReadDir(f.dir)
			if len(ents) != 1 || ents[0].Name() != strconv.Itoa(int(tc.want)) {
				var names []string
				for _, e := range ents {
					names = append(names, e.Name())
				}
				t.Fatalf("lock files %v, want only %d", names, tc.want)
			}
		})
	}
}

// Two allocators on one lock directory (two managers, or a manager and its successor) never
// give one uid to two names while both are in use; a lock file whose holder is gone is
// taken over.
func TestLockSharedBetweenAllocators(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "dynamic-uid")
	f1, f2 := newFixture(t, dir), newFixture(t, dir)
	e1, u1, _ := f1.realize(t, "first", true)
	// The second allocator's only candidates: first's uid (hashed for "second" is not, so
	// force it through the suggested path), then a random one.
	d := t.TempDir()
	if err := os.Chown(d, int(u1), int(u1)); err != nil {
		t.Skip("cannot chown:", err)
	}
	f2.draws = []uint32{u1 - MinUID, 40}
	e2, u2, _ := f2.realize(t, "second", true, d)
	if u2 == u1 {
		t.Fatalf("both names got %d", u1)
	}
	// first's manager goes (its lock goes with its process; here: the file closed, left).
	e1.lock.Close()
	f3 := newFixture(t, dir)
	_, u3, _ := f3.realize(t, "third", true, d)
	if u3 != u1 {
		t.Fatalf("a lock file nobody holds was not taken over: got %d, want %d", u3, u1)
	}
	if c, _ := f3.lockContent(u1); c != "third\n" {
		t.Fatalf("lock file says %q", c)
	}
	f2.a.Release(e2)
}

func TestRealizeStaticAndNumeric(t *testing.T) {
	f := newFixture(t, "")
	// A static user of the name wins (its primary group too): nothing is locked.
	_, uid, gid := f.realize(t, "static", true)
	if uid != 1500 || gid != 1600 {
		t.Fatalf("static user: %d:%d, want 1500:1600", uid, gid)
	}
	_, gid2, _ := f.realize(t, "sgroup", false)
	if gid2 != 1700 {
		t.Fatalf("static group: %d, want 1700", gid2)
	}
	_, n, ng := f.realize(t, "4711", true)
	if n != 4711 || ng != 4711 {
		t.Fatalf("numeric: %d:%d", n, ng)
	}
	if ents, _ := os.ReadDir(f.dir); len(ents) != 0 {
		t.Fatalf("static and numeric ids locked: %v", ents)
	}
	// A static group of the name without such a user (and the other way round) is refused.
	e, _ := f.a.Acquire("gonly")
	if _, _, err := f.a.Realize(e, true, nil); !errors.Is(err, ErrNameTaken) {
		t.Fatalf("user named as a static group: %v, want ErrNameTaken", err)
	}
	e, _ = f.a.Acquire("nobody")
	if _, _, err := f.a.Realize(e, false, nil); !errors.Is(err, ErrNameTaken) {
		t.Fatalf("group named as a static user: %v, want ErrNameTaken", err)
	}
}

func TestRealizeGivesUp(t *testing.T) {
	f := newFixture(t, "")
	for id := uint32(MinUID); id <= MaxUID; id++ {
		f.ipc[id] = true
	}
	e, _ := f.a.Acquire("full")
	if _, _, err := f.a.Realize(e, true, nil); !errors.Is(err, ErrNoUID) {
		t.Fatalf("got %v, want ErrNoUID", err)
	}
	if ents, _ := os.ReadDir(f.dir); len(ents) != 0 {
		t.Fatalf("lock files left: %d", len(ents))
	}
}

func TestAcquireRefusesBadNames(t *testing.T) {
	f := newFixture(t, "")
	for _, n := range []string{"", "a.b", "-x", "9lives", "has space", strings.Repeat("x", 32), "65535"} {
		if _, err := f.a.Acquire(n); err == nil {
			t.Errorf("Acquire(%q) accepted", n)
		}
	}
	for _, n := range []string{"a", "_x", "web-1", "A_b", strings.Repeat("x", 31), "1234"} {
		if _, err := f.a.Acquire(n); err != nil {
			t.Errorf("Acquire(%q): %v", n, err)
		}
	}
}

func TestUserRecords(t *testing.T) {
	f := newFixture(t, "")
	e, uid, _ := f.realize(t, "rec", true)
	id := strconv.Itoa(int(uid))
	for _, p := range []string{"rec.user", "rec.group"} {
		data, err := os.ReadFile(filepath.Join(f.userdb, p))
		if err != nil || !strings.Contains(string(data), `"service":"io.flint.DynamicUser"`) || !strings.Contains(string(data), `:`+id+`,`) {
			t.Fatalf("%s = %s, %v", p, data, err)
		}
	}
	for _, l := range []string{id + ".user", id + ".group"} {
		if target, err := os.Readlink(filepath.Join(f.userdb, l)); err != nil || !strings.HasPrefix(target, "rec.") {
			t.Fatalf("%s -> %q, %v", l, target, err)
		}
	}
	f.a.Release(e)
	if ents, _ := os.ReadDir(f.userdb); len(ents) != 0 {
		t.Fatalf("records left after release: %v", ents)
	}
	// Someone else's record of the name is neither replaced nor removed.
	writeFile(t, filepath.Join(f.userdb, "other.user"), `{"userName":"other","uid":5}`)
	e, _, _ = f.realize(t, "other", true)
	f.a.Release(e)
	if data, _ := os.ReadFile(filepath.Join(f.userdb, "other.user")); string(data) != `{"userName":"other","uid":5}` {
		t.Fatalf("foreign record changed: %s", data)
	}
}

// TestRecordsOfAnotherManager: two managers with lock directories of their own share the
// records: neither hands out an id the other's records name, nor replaces the other's record
// of a name both use.
func TestRecordsOfAnotherManager(t *testing.T) {
	f, g := newFixture(t, ""), newFixture(t, "")
	g.a.UserDB = f.userdb
	e, uid, _ := f.realize(t, "shared", true)
	owned := filepath.Join(t.TempDir(), "owned")
	writeFile(t, owned, "")
	if err := os.Chown(owned, int(uid), int(uid)); err != nil {
		t.Fatal(err)
	}
	// uid is g's first candidate (a directory it owns), then the hash of the name.
	ge, guid, _ := g.realize(t, "shared", true, owned)
	if guid == uid {
		t.Fatalf("both managers gave out %d", uid)
	}
	data, err := os.ReadFile(filepath.Join(f.userdb, "shared.user"))
	if err != nil || !strings.Contains(string(data), `"uid":`+strconv.Itoa(int(uid))+`,`) {
		t.Errorf("shared.user = %s, %v; want the first manager's", data, err)
	}
	g.a.Release(ge)
	if _, err := os.Lstat(filepath.Join(f.userdb, "shared.user")); err != nil {
		t.Error("the other manager removed the first one's record")
	}
	f.a.Release(e)
}

func TestVacuum(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "dynamic-uid")
	f := newFixture(t, dir)
	held, uHeld, _ := f.realize(t, "held", true)
	gone, uGone, _ := f.realize(t, "gone", true)
	// gone's manager was killed: its lock dropped, its files stayed.
	gone.lock.Close()
	g := newFixture(t, dir)
	g.a.UserDB = f.userdb
	g.a.Vacuum()
	if _, ok := f.lockContent(uGone); ok {
		t.Error("stale lock file kept")
	}
	if _, err := os.Lstat(filepath.Join(f.userdb, "gone.user")); err == nil {
		t.Error("stale user record kept")
	}
	if _, ok := f.lockContent(uHeld); !ok {
		t.Error("a held lock file was removed")
	}
	if _, err := os.Lstat(filepath.Join(f.userdb, "held.user")); err != nil {
		t.Error("a held name's record was removed")
	}
	f.a.Release(held)
}
