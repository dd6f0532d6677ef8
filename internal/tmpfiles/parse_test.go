package tmpfiles

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// testRoot makes a root directory with the files the parser reads in it: users, groups, a
// machine ID, os-release.
func testRoot(t testing.TB) string {
	t.Helper()
	root := t.TempDir()
	files := map[string]string{
		"etc/passwd":     "root:x:0:0::/root:/bin/sh\nbin:x:2:2::/bin:/bin/sh\ndaemon:x:1:1::/:/bin/sh\n",
		"etc/group":      "root:x:0:\nadm:x:4:\nbin:x:2:\n",
		"usr/lib/group":  "adm:x:99:\nextra:x:77:\n",
		"etc/machine-id": "0123456789abcdef0123456789abcdef\n",
		"etc/os-release": "ID=debian\nVERSION_ID=\"12\"\nBUILD_ID=b1\n",
		"src/file":       "x",
	}
	for p, c := range files {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

type logged []string

func (l *logged) logger() Logger {
	return func(level Level, msg string) {
		if level <= LevelNotice {
			*l = append(*l, msg)
		}
	}
}

func newTestParser(t *testing.T, root string, l *logged) *Parser {
	p := NewParser(root, false, l.logger())
	p.Spec.Getenv = func(k string) string {
		return map[string]string{"HOME": "/home/x"}[k]
	}
	return p
}

// TestParseLineErrors: every refusal of a line, in systemd-tmpfiles 252's words, and whether
// it makes the configuration invalid (exit status 65).
func TestParseLineErrors(t *testing.T) {
	root := testRoot(t)
	for _, c := range []struct {
		line, msg string
		invalid   bool
	}{
		{`d "/unbalanced`, "Failed to parse line: Invalid argument", true},
		{`d /trailing\`, "Failed to parse line: Invalid argument", true},
		{`d`, "Syntax error.", true},
		{`"" /x`, "Command too short ''.", true},
		{`dX /x`, "Unknown modifiers in command 'dX'", true},
		{`d!! /x`, "Unknown modifiers in command 'd!!'", true},
		{`d++ /x`, "Unknown modifiers in command 'd++'", true},
		{`Y /y`, "Unknown command type 'Y'.", true},
		{`d relative`, "Path 'relative' not absolute.", true},
		{`d /%Z`, "Failed to replace specifiers in '/%Z': Invalid slot", true},
		{`d /%1`, "Failed to replace specifiers in '/%1': Invalid slot", true},
		{`d /` + strings.Repeat("a", 4095), "Failed to replace specifiers in '/" + strings.Repeat("a", 4095) + "': File name too long", false},
		{`d /bad-mode 0999`, "Invalid mode '0999'.", true},
		{`d /bad-mode +755`, "Invalid mode '+755'.", true},
		{`d /bad-mode 10000`, "Invalid mode '10000'.", true},
		{`d /bad-mode ~`, "Invalid mode '~'.", true},
		{`d /u - nosuchuser`, "Failed to resolve user 'nosuchuser': No such process", true},
		{`d /u - 65535`, "Failed to resolve user '65535': No such process", true},
		{`d /u - :nosuch`, "Failed to resolve user 'nosuch': No such process", true},
		{`d /g - - nosuchgroup`, "Failed to resolve group 'nosuchgroup'.", true},
		{`d /a - - - 1x`, "Invalid age '1x'.", true},
		{`d /a - - - ~`, "Invalid age ''.", true},
		{`d /a - - - q:1d`, "Invalid age-by 'q'.", true},
		{`d /a - - - :1d`, "Invalid age-by ''.", true},
		{`d /a - - - " ":1d`, "Invalid age-by ' '.", true},
		{`d /a - - - m:`, "Invalid age ''.", true},
		{`L~ /l - - - - x`, "base64 decoding not supported for symlink targets.", true},
		{`C~ /c - - - - /src`, "base64 decoding not supported for copy sources.", true},
		{`C /c - - - - relative`, "Source path 'relative' is not absolute.", true},
		{`c~ /dev/x - - - - 1:3`, "base64 decoding not supported for device node creation.", true},
		{`c /dev/x`, "Device file requires argument.", true},
		{`b /dev/x - - - - 1`, "Can't parse device file major/minor '1'.", true},
		{`b /dev/x - - - - 4096:0`, "Can't parse device file major/minor '4096:0'.", true},
		{`b /dev/x - - - - 1:1048576`, "Can't parse device file major/minor '1:1048576'.", true},
		{`b /dev/x - - - - 1:-1`, "Can't parse device file major/minor '1:-1'.", true},
		{`w /w`, "Write file requires argument.", true},
		{`t /t`, "Set extended attribute requires argument.", true},
		{`t~ /t - - - - a=b`, "base64 decoding not supported for extended attributes.", true},
		{`a /a`, "Set ACLs requires argument.", true},
		{`A~ /a - - - - u::rwx`, "base64 decoding not supported for ACLs.", true},
		{`h /h`, "Set file attribute requires argument.", true},
		{`H~ /h - - - - +i`, "base64 decoding not supported for file attributes.", true},
		{`h /h - - - - +Q`, "Unknown file attribute 'Q' on '/h'.", true},
		{`h /h - - - - +`, "Setting file attribute on '/h' needs an attribute specification.", true},
		{`f /f - - - - \q`, "Failed to substitute specifiers in argument: Invalid argument", true},
		{`f /f - - - - \x00`, "Failed to substitute specifiers in argument: Invalid argument", true},
		{`f /f - - - - %Z`, "Failed to substitute specifiers in argument: Invalid slot", true},
		{`f /f - - - - ` + strings.Repeat("b", 4096), "Failed to substitute specifiers in argument: File name too long", false},
		{`f~ /f - - - - !!!`, "Failed to base64 decode specified argument '!!!': Invalid argument", false},
		{`f~ /f - - - - YQ`, "Failed to base64 decode specified argument 'YQ': Broken pipe", false},
		{`f~ /f - - - - YQ==YQ==`, "Failed to base64 decode specified argument 'YQ==YQ==': File name too long", false},
		{`f^ /f`, "Reading from credential requested, but no credential name specified.", false},
		{`f^ /f - - - - a/b`, "Credential name not valid: a/b", false},
	} {
		t.Run(c.line[:min(len(c.line), 40)], func(t *testing.T) {
			var l logged
			p := newTestParser(t, root, &l)
			it, err := p.ParseLine("/x.conf", 7, c.line)
			if err == nil {
				t.Fatalf("kept: %+v", it)
			}
			le, ok := err.(*LineError)
			if !ok {
				t.Fatalf("error %T %v", err, err)
			}
			want := "/x.conf:7: " + c.msg
			if le.File == "" {
				want = c.msg
			}
			if le.Error() != want {
				t.Errorf("got  %q\nwant %q", le.Error(), want)
			}
			if le.Invalid != c.invalid {
				t.Errorf("invalid = %v, want %v", le.Invalid, c.invalid)
			}
		})
	}
}

// TestParseLineSkipped: lines that do not apply, with what they log.
func TestParseLineSkipped(t *testing.T) {
	root := testRoot(t)
	for _, c := range []struct {
		line string
		logs []string
		boot bool
		user bool
	}{
		{line: `r! /forcefsck`},
		{line: `C /copy - - - - /nonexistent`},
		{line: `f^ /f - - - - nocred`},
		{line: `d /excluded/x`},
		{line: `d /%t/x`, user: true, logs: []string{
			"/x.conf:1: Failed to resolve specifier: Required $XDG_... variable not defined, skipping.",
			"All rules containing unresolvable specifiers will be skipped."}},
	} {
		t.Run(c.line, func(t *testing.T) {
			var l logged
			p := newTestParser(t, "", &l)
			p.Spec.Root, p.IDs.Root, p.Root = root, root, root
			p.Boot, p.User, p.Spec.User = c.boot, c.user, c.user
			if c.user {
				p.Root, p.Spec.Root = "", ""
			}
			p.Exclude = []string{"/excluded"}
			it, err := p.ParseLine("/x.conf", 1, c.line)
			if err != nil || it != nil {
				t.Fatalf("got %+v, %v", it, err)
			}
			if strings.Join(l, "\n") != strings.Join(c.logs, "\n") {
				t.Errorf("logged %q, want %q", l, c.logs)
			}
		})
	}
}

// TestParseLineItems: what lines become.
func TestParseLineItems(t *testing.T) {
	root := testRoot(t)
	t.Setenv("CREDENTIALS_DIRECTORY", "")
	creds := t.TempDir()
	os.WriteFile(filepath.Join(creds, "secret"), []byte("aGk="), 0o600)
	for _, c := range []struct {
		line  string
		check func(t *testing.T, it *Item)
		logs  []string
	}{
		{`d /run/user 0755 root root 10d -`, func(t *testing.T, it *Item) {
			want(t, it.Type == CreateDirectory && it.Path == root+"/run/user" && it.Mode == 0o755 && it.ModeSet &&
				it.UIDSet && it.UID == 0 && it.GIDSet && it.Age == 10*24*time.Hour && !it.HasArg, it)
		}, nil},
		{`d /x`, func(t *testing.T, it *Item) { want(t, it.Mode == 0o755 && !it.ModeSet && !it.AgeSet, it) }, nil},
		{`f /x`, func(t *testing.T, it *Item) { want(t, it.Mode == 0o644 && !it.ModeSet, it) }, nil},
		{`f+!-= /x ~:0600 :bin :adm ~aM:2h "quoted" \x41 %%`, func(t *testing.T, it *Item) {
			want(t, it.Force && it.AllowFailure && it.TryReplace && it.MaskPerms && it.ModeOnlyCreate &&
				it.Mode == 0o600 && it.UID == 2 && it.UIDOnlyCreate && it.GID == 4 && it.GIDOnlyCreate &&
				it.KeepFirstLevel && it.AgeByFile == AgeByAtime && it.AgeByDir == AgeByMtime && it.Age == 2*time.Hour &&
				string(it.Arg) == `"quoted" A %`, it)
		}, nil},
		{`g /x - - extra`, nil, []string{"/x.conf:1: Unknown command type 'g'."}},
		{`d /x - - extra`, func(t *testing.T, it *Item) { want(t, it.GID == 77, it) }, nil},
		{`d /x - - - infinity`, func(t *testing.T, it *Item) { want(t, it.Age == AgeInfinity, it) }, nil},
		{`d /x - - - 0`, func(t *testing.T, it *Item) { want(t, it.AgeSet && it.Age == 0, it) }, nil},
		{`d /x - - - a:1h`, func(t *testing.T, it *Item) {
			want(t, it.AgeByFile == AgeByAtime && it.AgeByDir == ageByDefaultDir, it)
		}, nil},
		{`d "/with space/./x//y/" 0700`, func(t *testing.T, it *Item) { want(t, it.Path == root+"/with space/x/y", it) }, nil},
		{`d /var/run/x`, func(t *testing.T, it *Item) { want(t, it.Path == root+"/run/x", it) }, nil},
		{`d /a/../b`, func(t *testing.T, it *Item) { want(t, it.Path == root+"/a/../b", it) }, nil},
		{`d /x - - - - arg`, func(t *testing.T, it *Item) { want(t, string(it.Arg) == "arg", it) },
			[]string{"/x.conf:1: d lines don't take argument fields, ignoring."}},
		{`L /etc/foo`, func(t *testing.T, it *Item) { want(t, string(it.Arg) == "/usr/share/factory/etc/foo", it) }, nil},
		{`C /dst - - - - /src`, func(t *testing.T, it *Item) { want(t, string(it.Arg) == root+"/src", it) }, nil},
		{`c /dev/x 0600 - - - 010:0x10`, func(t *testing.T, it *Item) { want(t, it.MajorMinor == 8<<8|16, it) }, nil},
		{`c /dev/x 0600 - - - 0x10:010`, nil, []string{"/x.conf:1: Can't parse device file major/minor '0x10:010'."}},
		{`t /x - - - - user.a=b "user.c=d e" bad =x user.z= user.%m=%H`, func(t *testing.T, it *Item) {
			want(t, len(it.Xattrs) == 3 && it.Xattrs[0] == [2]string{"user.a", "b"} && it.Xattrs[1] == [2]string{"user.c", "d e"} &&
				it.Xattrs[2][0] == "user.0123456789abcdef0123456789abcdef", it)
		}, []string{
			"Failed to parse extended attribute, ignoring: bad",
			"Malformed extended attribute found, ignoring: =x",
			"Malformed extended attribute found, ignoring: user.z=",
		}},
		{`a+ /x - - - - d:g:adm:r-x,u:bin:rw,g::r`, func(t *testing.T, it *Item) {
			want(t, it.ACL != nil && len(it.ACL.Access) == 2 && len(it.ACL.Default) == 1, it)
		}, nil},
		{`a /x - - - - u:bin:rw`, func(t *testing.T, it *Item) {
			want(t, it.ACL != nil && len(it.ACL.Access) == 2 && it.ACL.Access[1].tag == aclMask && it.ACL.Access[1].perm == 6, it)
		}, nil},
		{`a /x - - - - u:nosuchuser:rw`, func(t *testing.T, it *Item) { want(t, it.ACL == nil, it) },
			[]string{`Failed to parse ACL "u:nosuchuser:rw": Invalid argument. Ignoring`}},
		{`h /x - - - - =`, func(t *testing.T, it *Item) { want(t, it.AttrSet && it.AttrValue == 0 && it.AttrMask == allAttrs, it) }, nil},
		{`h /x - - - - -iC`, func(t *testing.T, it *Item) { want(t, it.AttrValue == 0 && it.AttrMask == 0x00800010, it) }, nil},
		{`h /x - - - - Ci`, func(t *testing.T, it *Item) { want(t, it.AttrValue == 0x00800010 && it.AttrMask == 0x00800010, it) }, nil},
		{`f~ /x - - - - aGVs bG8=`, func(t *testing.T, it *Item) { want(t, string(it.content()) == "hello", it) }, nil},
		{`f^~ /x - - - - secret`, func(t *testing.T, it *Item) { want(t, string(it.content()) == "hi", it) }, nil},
		{`f /%m/%a/%o-%w-%B-%W/%U%u%G%g/%h/%T/%V/%C/%L/%S/%t`, func(t *testing.T, it *Item) {
			// %C, %L, %S, %t have the root directory in front, as in systemd-tmpfiles 252
			want(t, it.Path == root+"/0123456789abcdef0123456789abcdef/x86-64/debian-12-b1-/0root0root/home/x/tmp/var/tmp"+
				root+"/var/cache"+root+"/var/log"+root+"/var/lib"+root+"/run", it)
		}, nil},
		{`f /x - - - - 100%`, func(t *testing.T, it *Item) { want(t, string(it.Arg) == "100%", it) }, nil},
		{`f /x - - - - %!`, func(t *testing.T, it *Item) { want(t, string(it.Arg) == "%!", it) }, nil},
		{`f /x - - - - -`, func(t *testing.T, it *Item) { want(t, !it.HasArg, it) }, nil},
	} {
		t.Run(c.line, func(t *testing.T) {
			var l logged
			p := newTestParser(t, root, &l)
			p.Boot = true // lines with '!' are kept only with --boot
			p.CredentialsDir = creds
			it, err := p.ParseLine("/x.conf", 1, c.line)
			if c.check == nil {
				if err == nil || err.Error() != c.logs[0] {
					t.Fatalf("got %v, want %s", err, c.logs[0])
				}
				return
			}
			if err != nil || it == nil {
				t.Fatalf("got %+v, %v", it, err)
			}
			c.check(t, it)
			if strings.Join(l, "\n") != strings.Join(c.logs, "\n") {
				t.Errorf("logged %q, want %q", l, c.logs)
			}
		})
	}
}

func want(t *testing.T, ok bool, it *Item) {
	t.Helper()
	if !ok {
		t.Errorf("item %+v", it)
	}
}

// TestNumbers: the number parsers systemd uses for modes, ids and device numbers.
func TestNumbers(t *testing.T) {
	for _, c := range []struct {
		s    string
		base int
		v    uint32
		err  error
	}{
		{"755", 8, 0o755, nil}, {"0755", 8, 0o755, nil}, {"8", 8, 0, syscall.EINVAL},
		{"12", 0, 12, nil}, {"012", 0, 10, nil}, {"0x1f", 0, 31, nil}, {"0b101", 0, 5, nil},
		{"0o17", 0, 15, nil}, {" 5", 0, 5, nil}, {"+5", 0, 5, nil}, {"-0", 0, 0, nil},
		{"-1", 0, 0, syscall.ERANGE}, {"4294967296", 10, 0, syscall.ERANGE}, {"", 10, 0, syscall.EINVAL},
		{"1a", 10, 0, syscall.EINVAL},
	} {
		v, err := strtoul(c.s, c.base, false, false, false)
		if v != c.v || err != c.err {
			t.Errorf("strtoul(%q, %d) = %d, %v; want %d, %v", c.s, c.base, v, err, c.v, c.err)
		}
	}
	for s, ok := range map[string]bool{"0": true, "1000": true, "01": false, "+1": false, " 1": false, "4294967295": false, "65535": false} {
		if _, err := parseID(s); (err == nil) != ok {
			t.Errorf("parseID(%q): %v", s, err)
		}
	}
}

// TestSplitLines: read_line()'s line endings.
func TestSplitLines(t *testing.T) {
	got, err := splitLines([]byte("a\nb\r\nc\rd\n\ne\x00f\n\rg\r\n\x00h"))
	if err != nil {
		t.Fatal(err)
	}
	if w := []string{"a", "b", "c", "d", "", "e", "f", "g", "h"}; strings.Join(got, "|") != strings.Join(w, "|") {
		t.Errorf("got %q, want %q", got, w)
	}
	if _, err := splitLines([]byte(strings.Repeat("x", maxLine))); err != errLineTooLong {
		t.Errorf("long line: %v", err)
	}
}

// TestFnmatch: fnmatch(3) with FNM_PATHNAME|FNM_PERIOD, and GLOB_BRACE expansion.
func TestFnmatch(t *testing.T) {
	for _, c := range []struct {
		p, n string
		ok   bool
	}{
		{"/tmp/systemd-private-*", "/tmp/systemd-private-abc", true},
		{"/tmp/*", "/tmp/a/b", false},
		{"/tmp/*", "/tmp/.hidden", false},
		{"/tmp/.*", "/tmp/.hidden", true},
		{"/tmp/.X[0-9]*-lock", "/tmp/.X0-lock", true},
		{"/tmp/.X[0-9]*-lock", "/tmp/.Xa-lock", false},
		{"/a/[!x]", "/a/y", true},
		{"/a/[^x]", "/a/x", false},
		{"/a/[[:digit:]]", "/a/5", true},
		{"/a/?", "/a/.", false},
		{`/a/\*`, "/a/*", true},
		{`/a/\*`, "/a/b", false},
		{"/a/[", "/a/[", true},
	} {
		if got := fnmatch(c.p, c.n, true); got != c.ok {
			t.Errorf("fnmatch(%q, %q) = %v", c.p, c.n, got)
		}
	}
	if got := strings.Join(braceExpand("/a/{b,c{d,e}}/f{g}"), " "); got != "/a/b/fg /a/cd/fg /a/ce/fg" {
		t.Errorf("braces: %s", got)
	}
}
