package fs

import (
	"reflect"
	"testing"
)

// TestEntries: the mount list setup_namespace() would apply, sorted and pruned, without
// any process.
func TestEntries(t *testing.T) {
	for _, tc := range []struct {
		name string
		spec Spec
		want []string // "path mode" after pruning, root "/r"
	}{
		{"strict with a writable path", Spec{ProtectSystem: "strict", ReadWritePaths: []string{"/var/lib/x"}},
			[]string{"/r read-only", "/r/dev rw-implicit", "/r/home rw-implicit", "/r/proc rw-implicit", "/r/root rw-implicit",
				"/r/run/credentials inaccessible", "/r/run/user rw-implicit", "/r/sys rw-implicit", "/r/var/lib/x read-write"}},
		{"inaccessible masks below", Spec{InaccessiblePaths: []string{"/srv"}, ReadOnlyPaths: []string{"/srv/a"}, ReadWritePaths: []string{"-/srv/b"}},
			[]string{"/r/run/credentials inaccessible", "/r/srv inaccessible"}},
		{"same mode below is dropped", Spec{ReadOnlyPaths: []string{"/usr", "/usr/share"}},
			[]string{"/r/run/credentials inaccessible", "/r/usr read-only"}},
		{"duplicates: the stronger mode wins", Spec{ReadOnlyPaths: []string{"/opt"}, ReadWritePaths: []string{"/opt"}},
			[]string{"/r/opt read-only", "/r/run/credentials inaccessible"}},
		{"kernel tunables imply the API file systems", Spec{ProtectKernelTunables: true},
			nil},
		{"private tmp and devices", Spec{TmpDir: "/tmp/a", VarTmpDir: "/var/tmp/b", PrivateDevices: true},
			[]string{"/r/dev private-dev", "/r/run/credentials inaccessible", "/r/tmp private-tmp", "/r/var/tmp private-tmp"}},
		{"credentials", Spec{Unit: "u.service", Credentials: []Credential{{ID: "a", Set: true}}},
			[]string{"/r/run/credentials tmpfs", "/r/run/credentials/u.service bind"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			creds := ""
			if len(tc.spec.Credentials) > 0 {
				creds = CredentialsDir(tc.spec.Unit)
			}
			es, err := tc.spec.entries("/r", true, creds)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range es {
				got = append(got, e.path+" "+e.mode.String())
			}
			if tc.want == nil {
				// The API file systems come with the table; /sys stays read-only: the
				// duplicate's flag is kept by the entry that wins.
				for _, e := range es {
					if e.path == "/r/sys" && !e.isReadOnly() {
						t.Errorf("/r/sys %s is not read-only", e.mode)
					}
				}
				for _, p := range []string{"/r/proc procfs", "/r/sys sysfs", "/r/dev bind-dev", "/r/run run", "/r/proc/sys read-only"} {
					found := false
					for _, g := range got {
						found = found || g == p
					}
					if !found {
						t.Errorf("no %q in %v", p, got)
					}
				}
				return
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("entries\n%v\nwant\n%v", got, tc.want)
			}
		})
	}
}

func TestPathCompare(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		less bool
	}{{"/", "/a", true}, {"/a", "/a/b", true}, {"/a/b", "/ab", true}, {"/b", "/a/c", false}} {
		if got := pathCompare(tc.a, tc.b) < 0; got != tc.less {
			t.Errorf("pathCompare(%s, %s) < 0 = %v", tc.a, tc.b, got)
		}
	}
}
