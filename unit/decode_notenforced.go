package unit

import "time"

// Parsers for directives flint does not enforce: values are validated where the syntax is
// simple (booleans, time spans, modes, numbers, paths) so that typos still warn as they do
// in systemd, and accepted otherwise.

func neBool(d *decoder, e Entry, v string) {
	if v == "" {
		return
	}
	var b bool
	pBool(func(*decoder) *bool { return &b })(d, e, v)
}

func neSec(d *decoder, e Entry, v string) {
	if v == "" {
		return
	}
	var t time.Duration
	pSec(func(*decoder) *time.Duration { return &t }, false)(d, e, v)
}

func neMode(d *decoder, e Entry, v string) {
	if _, err := ParseMode(v); err != nil {
		d.warn(e, "Failed to parse mode value, ignoring: %s", v)
	}
}

func neUnsigned(d *decoder, e Entry, v string) {
	var n int
	pUnsigned(func(*decoder) *int { return &n })(d, e, v)
}

func nePaths(d *decoder, e Entry, v string) {}

func neAny(d *decoder, e Entry, v string) {}

func registerNotEnforced() {
	for _, n := range notEnforcedDirectives {
		for _, sec := range n.sections {
			if _, ok := directiveTable[sec][n.name]; ok {
				continue
			}
			reg(sec, n.name, NotEnforced, n.parse)
		}
	}
}
