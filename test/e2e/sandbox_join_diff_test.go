package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flint-init/flint/internal/textdiff"
)

// joinProbe records, for the service %1, its network and IPC namespaces and what it sees
// in /tmp, and says how they relate to those of the first unit that ran (the "a" unit):
// the namespace ids differ between systemd and flint, their relations do not. @DIR@ is the
// test's directory.
const joinProbe = `set -u
out=@DIR@/out
net=$(readlink /proc/self/ns/net); ipc=$(readlink /proc/self/ns/ipc)
touch /tmp/flintjoin-mark-$1 2>/dev/null
if [ "$1" = a ]; then echo "$net $ipc" > $out/a-ids; fi
read anet aipc < $out/a-ids
host=$(readlink /proc/1/ns/net 2>/dev/null)
{
  [ "$net" = "$anet" ] && echo "$1 net: as a" || echo "$1 net: own"
  [ "$ipc" = "$aipc" ] && echo "$1 ipc: as a" || echo "$1 ipc: own"
  echo "$1 tmp: $(ls /tmp | grep '^flintjoin-mark-' | sort | tr '\n' ' ')"
  echo "$1 net devices: $(awk 'NR>2 {print $1}' /proc/net/dev | sort | tr '\n' ' ')"
} > $out/$1.tmp
mv $out/$1.tmp $out/$1
exec sleep 600
`

// joinUnits (a first line JoinsNamespaceOf= goes to [Unit]): a and b share their namespaces and /tmp (b joins a); c has its own; d joins a
// with PrivateNetwork= only; e joins a without asking for any namespace; f joins a from a
// user namespace of its own (PrivateUsers=); g has its namespaces and a user namespace.
var joinUnits = []struct{ name, body string }{
	{"a", "PrivateNetwork=yes\nPrivateIPC=yes\nPrivateTmp=yes"},
	{"b", "JoinsNamespaceOf=join-a.service\nPrivateNetwork=yes\nPrivateIPC=yes\nPrivateTmp=yes"},
	{"c", "PrivateNetwork=yes\nPrivateIPC=yes\nPrivateTmp=yes"},
	{"d", "JoinsNamespaceOf=join-a.service\nPrivateNetwork=yes"},
	{"e", "JoinsNamespaceOf=join-a.service\n"},
	{"f", "JoinsNamespaceOf=join-a.service\nPrivateNetwork=yes\nPrivateIPC=yes\nPrivateUsers=yes\nUser=nobody\nPrivateTmp=yes"},
	{"g", "PrivateNetwork=yes\nPrivateIPC=yes\nPrivateUsers=yes"},
}

// TestJoinsNamespaceDifferential starts the units of joinUnits one after the other (each
// keeps running, so that its namespaces live on) on systemd 252 and on flint: each sees
// the same namespaces and /tmp relative to the others.
func TestJoinsNamespaceDifferential(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	dir, err := os.MkdirTemp("/srv", "flint-join-diff-")
	if err != nil {
		t.Skipf("no shared directory: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	os.Mkdir(filepath.Join(dir, "out"), 0o777)
	os.Chmod(filepath.Join(dir, "out"), 0o777)
	// d and e have the host's /tmp (systemd's has its own)
	marks := func() {
		for _, u := range joinUnits {
			os.Remove("/tmp/flintjoin-mark-" + u.name)
		}
	}
	marks()
	t.Cleanup(marks)
	os.WriteFile(filepath.Join(dir, "probe.sh"), []byte(strings.ReplaceAll(joinProbe, "@DIR@", dir)), 0o755)
	files := map[string]string{}
	var names []string
	for _, u := range joinUnits {
		name := "join-" + u.name + ".service"
		names = append(names, name)
		unitPart, body := "", u.body
		if j, rest, ok := strings.Cut(body, "\n"); ok && strings.HasPrefix(j, "JoinsNamespaceOf=") {
			unitPart, body = j+"\n", rest
		}
		files[name] = "[Unit]\nDefaultDependencies=no\n" + unitPart + "[Service]\nType=simple\n" +
			"ExecStart=/bin/sh " + dir + "/probe.sh " + u.name + "\n" + body + "\n"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	_, _, _, sd, m := bootWithConfig(t, ctx, files)
	report := func() string {
		var b strings.Builder
		for _, u := range joinUnits {
			r, err := os.ReadFile(filepath.Join(dir, "out", u.name))
			if err != nil {
				b.WriteString(u.name + ": no report\n")
			}
			b.Write(r)
			os.Remove(filepath.Join(dir, "out", u.name))
		}
		return b.String()
	}
	reported := func(u string) {
		t.Helper()
		if !waitFor(20*time.Second, func() bool { _, err := os.Stat(filepath.Join(dir, "out", u)); return err == nil }) {
			t.Fatalf("no report of %s", u)
		}
	}
	for i, n := range names {
		if b, err := sd.Systemctl(ctx, "start", n); err != nil {
			t.Fatalf("systemd start %s: %v %s", n, err, b)
		}
		reported(joinUnits[i].name)
	}
	want := report()
	sd.Systemctl(ctx, append([]string{"stop"}, names...)...)
	for i, n := range names {
		if o, code := m.flint("start", n); code != 0 {
			t.Fatalf("flint start %s: exit %d %s", n, code, o)
		}
		reported(joinUnits[i].name)
	}
	got := report()
	if got != want {
		t.Errorf("flint and systemd differ:\n%s", textdiff.Lines(want, got, "systemd ", "flint   "))
	}
	t.Logf("systemd:\n%s\nflint:\n%s", want, got)
	// the group's runtime goes with its last unit: started again, a gets new namespaces
	m.flint(append([]string{"stop"}, names...)...)
	if o, code := m.flint("start", names[0]); code != 0 {
		t.Fatalf("flint start again: exit %d %s", code, o)
	}
	reported("a")
	if r, _ := os.ReadFile(filepath.Join(dir, "out", "a")); !strings.Contains(string(r), "a tmp: flintjoin-mark-a \n") {
		t.Errorf("a after the group stopped:\n%s", r)
	}
}
