package tmpfiles

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzConfig feeds arbitrary configuration files to the parser (lines, then the set of lines:
// duplicates, X ages, parents): it must never panic, and a line it keeps must have a known
// type, an absolute, simplified path inside the root directory, a mode within 07777 and a
// consistent age.
func FuzzConfig(f *testing.F) {
	for _, s := range []string{
		"d /run/user 0755 root root 10d -",
		"f+! /run/nologin 0644 - - - \"System is booting up.\"",
		"L+ /etc/mtab - - - - ../proc/self/mounts",
		"a+ /var/log/journal - - - - d:group::r-x,d:group:adm:r-x,group::r-x",
		"t /x - - - - user.a=b \"user.c=d e\"",
		"h /x - - - - =Ci",
		"c /dev/x 0600 - - - 1:3",
		"e /tmp - - - ~aM:1h",
		"w~ /x - - - - aGVsbG8=",
		"f^ /x - - - - cred",
		"d /%m/%b/%H/%T %%",
		"Z /x ~:0755 :0 :0",
		"X /tmp/systemd-private-%b-*/tmp",
	} {
		f.Add([]byte(s + "\n" + s + "\r\nd /run/user 0755\x00w+ /x - - - - a"))
	}
	root := f.TempDir()
	os.MkdirAll(filepath.Join(root, "etc"), 0o755)
	os.WriteFile(filepath.Join(root, "etc/passwd"), []byte("root:x:0:0::/root:/bin/sh\nbin:x:2:2::/:/bin/sh\n"), 0o644)
	os.WriteFile(filepath.Join(root, "etc/group"), []byte("root:x:0:\nadm:x:4:\n"), 0o644)
	os.WriteFile(filepath.Join(root, "etc/machine-id"), []byte("0123456789abcdef0123456789abcdef\n"), 0o644)
	os.WriteFile(filepath.Join(root, "etc/os-release"), []byte("ID=debian\nVERSION_ID=\"12\"\n"), 0o644)
	f.Fuzz(func(t *testing.T, data []byte) {
		p := NewParser(root, false, nil)
		p.Boot = true
		p.Spec.Getenv = func(string) string { return "" }
		cfg := &Config{}
		lines, _ := splitLines(data)
		for n, line := range lines {
			line = strings.Trim(line, whitespace)
			if line == "" || line[0] == '#' {
				continue
			}
			it, err := p.ParseLine("fuzz.conf", n+1, line)
			if err != nil {
				if _, ok := err.(*LineError); !ok {
					t.Fatalf("%q: error of type %T: %v", line, err, err)
				}
				continue
			}
			if it == nil {
				continue
			}
			checkItem(t, root, line, it)
			cfg.add(p, it)
			cfg.inheritAges()
		}
		cfg.link()
		for _, it := range cfg.Items() {
			checkItem(t, root, "", it)
		}
	})
}

func checkItem(t *testing.T, root, line string, it *Item) {
	if !strings.Contains("fFdDvqQpLcbCwetTaAhHxXrRzZm", string(it.Type)) {
		t.Fatalf("%q: unknown type %q kept", line, it.Type)
	}
	// "/" in a root directory is the root with a slash, as systemd's path_join() makes it.
	if _, ok := pathStartsWith(it.Path, root); !ok || (simplify(it.Path) != it.Path && it.Path != root+"/") {
		t.Fatalf("%q: path %q not simplified inside %s", line, it.Path, root)
	}
	if it.Mode > 0o7777 {
		t.Fatalf("%q: mode %o", line, it.Mode)
	}
	if it.AgeSet && (it.AgeByFile == 0 || it.AgeByDir == 0) {
		t.Fatalf("%q: age without timestamps", line)
	}
	if (it.Type == CreateCharDevice || it.Type == CreateBlockDevice) && !it.HasArg {
		t.Fatalf("%q: device without a number", line)
	}
}
