package unit

import (
	"strings"
	"testing"
)

func TestParseName(t *testing.T) {
	for _, c := range []struct {
		name                     string
		prefix, instance, suffix string
		ok, template, inst       bool
	}{
		{"foo.service", "foo", "", "service", true, false, false},
		{"foo@.service", "foo", "", "service", true, true, false},
		{"foo@bar.socket", "foo", "bar", "socket", true, false, true},
		{"foo@bar@baz.service", "foo", "bar@baz", "service", true, false, true},
		{"a-b\\x2dc:d_e.f.target", "a-b\\x2dc:d_e.f", "", "target", true, false, false},
		{"foo.mount", "foo", "", "mount", true, false, false},
		{"@foo.service", "", "", "", false, false, false},
		{"foo", "", "", "", false, false, false},
		{".service", "", "", "", false, false, false},
		{"foo.bar", "", "", "", false, false, false},
		{"fo o.service", "", "", "", false, false, false},
		{"foo/bar.service", "", "", "", false, false, false},
		{"", "", "", "", false, false, false},
		{strings.Repeat("a", 247) + ".service", strings.Repeat("a", 247), "", "service", true, false, false},
		{strings.Repeat("a", 248) + ".service", "", "", "", false, false, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, i, s, err := ParseName(c.name)
			if (err == nil) != c.ok {
				t.Fatalf("ParseName(%q) err = %v, want ok=%v", c.name, err, c.ok)
			}
			if !c.ok {
				return
			}
			if p != c.prefix || i != c.instance || s != c.suffix {
				t.Errorf("ParseName(%q) = %q %q %q", c.name, p, i, s)
			}
			if IsTemplate(c.name) != c.template || IsInstance(c.name) != c.inst {
				t.Errorf("IsTemplate=%v IsInstance=%v", IsTemplate(c.name), IsInstance(c.name))
			}
		})
	}
}

func TestInstantiate(t *testing.T) {
	n, err := Instantiate("getty@.service", "tty1")
	if err != nil || n != "getty@tty1.service" {
		t.Fatalf("Instantiate = %q, %v", n, err)
	}
	if n, err := Instantiate("getty@tty2.service", "tty1"); err != nil || n != "getty@tty1.service" {
		t.Fatalf("Instantiate(instance) = %q, %v", n, err)
	}
	if _, err := Instantiate("plain.service", "x"); err == nil {
		t.Fatal("Instantiate(plain) succeeded")
	}
	if TemplateOf("a@b.socket") != "a@.socket" || TemplateOf("a.socket") != "" {
		t.Fatal("TemplateOf")
	}
}

// escapeCases are checked against systemd-escape when it is installed.
var escapeCases = []string{"foo/bar", "/foo//bar/", ".hidden", "a-b", "a b", "ü", `a\b`, "x:y_z.w", "", "-", "..", "a.b"}

func TestEscape(t *testing.T) {
	want := map[string]string{
		"foo/bar": "foo-bar", "/foo//bar/": "-foo--bar-", ".hidden": `\x2ehidden`, "a-b": `a\x2db`,
		"a b": `a\x20b`, "ü": `\xc3\xbc`, `a\b`: `a\x5cb`, "x:y_z.w": "x:y_z.w", "": "",
	}
	for in, w := range want {
		if got := Escape(in); got != w {
			t.Errorf("Escape(%q) = %q, want %q", in, got, w)
		}
	}
	for in, w := range map[string]string{"/": "-", "/foo//bar/": "foo-bar", "foo/./bar": "foo-bar", "/a-b": `a\x2db`} {
		if got := EscapePath(in); got != w {
			t.Errorf("EscapePath(%q) = %q, want %q", in, got, w)
		}
	}
	for in, w := range map[string]string{`a-b\x2dc`: "a/b-c", "x": "x"} {
		if got, err := Unescape(in); err != nil || got != w {
			t.Errorf("Unescape(%q) = %q, %v", in, got, err)
		}
	}
	for _, bad := range []string{`a\x2`, `\y41`, `\x4g`} {
		if _, err := Unescape(bad); err == nil {
			t.Errorf("Unescape(%q) succeeded", bad)
		}
	}
	if p, _ := UnescapePath("-"); p != "/" {
		t.Errorf("UnescapePath(-) = %q", p)
	}
	if p, _ := UnescapePath(`a-b\x2dc`); p != "/a/b-c" {
		t.Errorf("UnescapePath = %q", p)
	}
}

func FuzzParseName(f *testing.F) {
	for _, s := range []string{"foo.service", "foo@.socket", "a@b@c.target", "@x.service", "x.", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, i, sfx, err := ParseName(s)
		if err != nil {
			return
		}
		var re string
		if strings.Contains(s, "@") {
			re = p + "@" + i + "." + sfx
		} else {
			re = p + "." + sfx
		}
		if re != s {
			t.Fatalf("ParseName(%q) parts %q %q %q do not rebuild it", s, p, i, sfx)
		}
		if IsTemplate(s) && IsInstance(s) {
			t.Fatalf("%q is both template and instance", s)
		}
	})
}

func FuzzEscape(f *testing.F) {
	for _, s := range escapeCases {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e := Escape(s)
		u, err := Unescape(e)
		if err != nil || u != s {
			t.Fatalf("Unescape(Escape(%q)) = %q, %v", s, u, err)
		}
		for i := 0; i < len(e); i++ {
			if !isValidNameChar(e[i]) {
				t.Fatalf("Escape(%q) = %q has invalid byte %q", s, e, e[i])
			}
		}
	})
}
