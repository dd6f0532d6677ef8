package main

import (
	"os"
	"strings"
	"sync"

	"github.com/flint-init/flint/internal/security"
	"github.com/flint-init/flint/unit/install"
)

// glyphSet is the marks systemctl and journalctl draw: Unicode in a UTF-8 locale, ASCII
// otherwise (systemd 252's special_glyph). Scripts and configuration management often run
// them with LC_ALL=C (Ansible's modules do) and see the ASCII ones.
type glyphSet struct {
	utf8                                   bool
	treeVertical, treeBranch, treeRight    string // "│ " "├─" "└─"
	blackCircle, whiteCircle, multiplySign string // "●" "○" "×"
	bullet, arrowRight                     string // "•" "→"
}

var (
	unicodeGlyphs = glyphSet{true, "│ ", "├─", "└─", "●", "○", "×", "•", "→"}
	asciiGlyphs   = glyphSet{false, "| ", "|-", "`-", "*", "*", "x", "*", "->"}
)

// glyphs returns the set for this process's environment, chosen once.
var glyphs = sync.OnceValue(func() glyphSet {
	if localeIsUTF8() {
		return unicodeGlyphs
	}
	return asciiGlyphs
})

// localeIsUTF8 is systemd's is_locale_utf8 for flint's static binary: $SYSTEMD_UTF8 when it
// is a boolean, else what the locale the environment names (LC_ALL, LC_CTYPE, LANG) says
// (security.Terminal: C and POSIX named explicitly are not UTF-8, no locale named is).
func localeIsUTF8() bool {
	switch strings.ToLower(os.Getenv("SYSTEMD_UTF8")) {
	case "1", "yes", "y", "true", "t", "on":
		return true
	case "0", "no", "n", "false", "f", "off":
		return false
	}
	return security.Terminal(nil).UTF8
}

// changeText is c as systemctl prints it, its arrow in the locale's glyphs.
func changeText(c install.Change) string {
	if c.Type == install.ChangeSymlink && !glyphs().utf8 {
		return "Created symlink " + c.Path + " " + glyphs().arrowRight + " " + c.Source + "."
	}
	return c.String()
}
