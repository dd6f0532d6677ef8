package unit

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// testExpander expands the specifiers systemd knows with fixed values; an unknown one is an
// error, as in systemd.
func testExpander(u *Unit) Expander {
	return func(s string) (string, error) {
		var b strings.Builder
		for i := 0; i < len(s); i++ {
			if s[i] != '%' {
				b.WriteByte(s[i])
				continue
			}
			if i+1 >= len(s) {
				b.WriteByte('%') // a '%' at the very end is kept, as in systemd
				break
			}
			i++
			switch c := s[i]; c {
			case '%':
				b.WriteByte('%')
			case 'n', 'N':
				b.WriteString(u.Name)
			case 'p', 'P':
				b.WriteString(u.Prefix)
			case 'i', 'I':
				b.WriteString(u.Instance)
			case 'j', 'J':
				b.WriteString(u.Prefix)
			case 'f':
				b.WriteString("/" + u.Instance)
			case 't':
				b.WriteString("/run")
			case 'S':
				b.WriteString("/var/lib")
			case 'C':
				b.WriteString("/var/cache")
			case 'L':
				b.WriteString("/var/log")
			case 'E':
				b.WriteString("/etc")
			case 'T':
				b.WriteString("/tmp")
			case 'V':
				b.WriteString("/var/tmp")
			case 'h':
				b.WriteString("/root")
			case 's':
				b.WriteString(defaultRootShell())
			case 'u', 'g':
				b.WriteString("root")
			case 'U', 'G':
				b.WriteString("0")
			case 'H', 'l', 'q':
				b.WriteString("host")
			case 'm', 'b', 'o', 'M':
				b.WriteString("0123456789abcdef0123456789abcdef")
			case 'v', 'a', 'A', 'B', 'w', 'W', 'y', 'Y', 'd':
				b.WriteString("x")
			default:
				return "", fmt.Errorf("unknown specifier %%%c", c)
			}
		}
		return b.String(), nil
	}
}

func newTestUnit(name string) *Unit {
	u := &Unit{Name: name, Names: []string{name}}
	dot := strings.LastIndexByte(name, '.')
	u.Type = Type(name[dot+1:])
	base := name[:dot]
	u.Prefix = base
	if at := strings.IndexByte(base, '@'); at >= 0 {
		u.Prefix, u.Instance = base[:at], base[at+1:]
		if u.Instance != "" {
			u.Template = base[:at+1] + name[dot:]
		}
	}
	return u
}

// TestDecodeSystemUnits decodes every service, socket and target installed on this machine:
// systemd loads them all, so no error may come out, and warnings only for directives that
// systemd 252 itself does not know.
func TestDecodeSystemUnits(t *testing.T) {
	var files []string
	for _, dir := range []string{"/lib/systemd/system", "/usr/lib/systemd/user"} {
		for _, ext := range []string{"service", "socket", "target"} {
			m, _ := filepath.Glob(filepath.Join(dir, "*."+ext))
			files = append(files, m...)
		}
	}
	if len(files) == 0 {
		t.Skip("no systemd units installed")
	}
	n := 0
	for _, path := range files {
		data, err := os.ReadFile(path)
		if err != nil {
			continue // dangling symlink
		}
		fi, err := os.Stat(path)
		if err != nil || fi.Size() == 0 {
			continue // masked
		}
		n++
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			f, diags := ParseFile(path, data)
			u := newTestUnit(name)
			u.FragmentPath = path
			if strings.Contains(name, "@.") {
				u.Instance = "inst"
			}
			diags = append(diags, Decode(u, []*File{f}, testExpander(u))...)
			for _, d := range diags {
				if d.Severity == Error || !strings.HasPrefix(d.Msg, "Unknown key ") {
					t.Errorf("%s", d)
				}
			}
			if u.LoadState != Loaded {
				t.Errorf("LoadState = %s (%s)", u.LoadState, u.LoadError)
			}
		})
	}
	t.Logf("decoded %d units", n)
}
