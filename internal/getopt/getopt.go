// Package getopt parses command lines as glibc's getopt_long(3) does, so that flint's
// multi-call names (systemctl, journalctl, systemd-notify, systemd-analyze) accept exactly the
// command lines the systemd 252 tools accept and refuse the others with the same words.
//
// What it reproduces: short options clustered (-aq), with their value attached (-n5, -pId) or
// in the next argument (-n 5); long options with --name=value or --name value, abbreviated to
// any unambiguous prefix (--ful for --full); permutation: options and operands in any order,
// the operands handed back in their order; "--" ends the options; "-" alone is an operand.
// An optional value is only ever attached (-b1, --boot=1), as in glibc. Options are returned
// one at a time, in command-line order, because the tools act on some of them as they are
// met (systemctl -t help prints the types at once): the caller stops at the first error, as
// they do.
package getopt

import (
	"fmt"
	"strings"
)

// ArgKind says whether an option takes a value.
type ArgKind int

const (
	NoArg       ArgKind = iota // --all
	RequiredArg                // --type=TYPE, --type TYPE, -tTYPE, -t TYPE
	OptionalArg                // --boot[=ID], -b[ID]: the value only attached
)

// Option is one entry of an option table.
type Option struct {
	Long  string // long name without "--"; "" for a short-only option
	Short byte   // short letter; 0 for a long-only option
	Arg   ArgKind
	// Exact: matched only by its whole name, never by an abbreviation. For options a tool
	// adds to another tool's table (flint's --control beside systemctl's options), so that
	// the abbreviations the other tool accepts keep meaning what they mean there.
	Exact bool
}

// Key names the option to the caller: its long name, or its letter for a short-only one.
func (o *Option) Key() string {
	if o.Long != "" {
		return o.Long
	}
	return string(o.Short)
}

// Spec is an option table.
type Spec struct {
	Options []Option
	// NoPermute stops at the first operand, which with everything after it is an operand
	// (getopt's "+" mode, as systemd-socket-activate's command line).
	NoPermute bool
}

// Found is one option met on the command line.
type Found struct {
	Opt      *Option
	Value    string
	HasValue bool // a value was given (always for RequiredArg)
	// Spelled is how the option was written, without its value: "--full", "-l".
	Spelled string
}

// Key is Opt.Key().
func (f Found) Key() string { return f.Opt.Key() }

// Error is a command-line error in glibc's words, without the program name glibc puts
// before them ("unrecognized option '--bogus'").
type Error struct{ Msg string }

func (e *Error) Error() string { return e.Msg }

// Parser walks one command line.
type Parser struct {
	spec     *Spec
	args     []string
	i        int    // next argument to look at
	cluster  string // the rest of a cluster of short options ("q" of "-aq")
	operands []string
	done     bool
}

// Parse starts parsing args (the command line without the program name).
func (s *Spec) Parse(args []string) *Parser {
	return &Parser{spec: s, args: args}
}

// Next returns the next option; ok is false when no option is left (then Operands holds
// every operand). After an error the Parser must not be used further.
func (p *Parser) Next() (f Found, ok bool, err error) {
	if p.cluster != "" {
		return p.short()
	}
	for !p.done && p.i < len(p.args) {
		a := p.args[p.i]
		switch {
		case a == "--":
			p.operands = append(p.operands, p.args[p.i+1:]...)
			p.i = len(p.args)
		case len(a) < 2 || a[0] != '-':
			if p.spec.NoPermute {
				p.operands = append(p.operands, p.args[p.i:]...)
				p.i = len(p.args)
				break
			}
			p.operands = append(p.operands, a)
			p.i++
		case strings.HasPrefix(a, "--"):
			p.i++
			return p.long(a[2:])
		default:
			p.i++
			p.cluster = a[1:]
			return p.short()
		}
	}
	p.done = true
	return Found{}, false, nil
}

// Operands are the arguments that are not options nor their values, in order; complete
// once Next has returned ok == false.
func (p *Parser) Operands() []string { return p.operands }

// TakeNext consumes the next argument when there is one, it is not an option, and accept
// says yes: journalctl's -n and -b look at the word after them when they were given no
// value ("-n 5").
func (p *Parser) TakeNext(accept func(string) bool) (string, bool) {
	if p.cluster != "" || p.i >= len(p.args) {
		return "", false
	}
	a := p.args[p.i]
	if !accept(a) {
		return "", false
	}
	p.i++
	return a, true
}

func (p *Parser) short() (Found, bool, error) {
	c := p.cluster[0]
	p.cluster = p.cluster[1:]
	var opt *Option
	for k := range p.spec.Options {
		if p.spec.Options[k].Short == c && c != 0 {
			opt = &p.spec.Options[k]
			break
		}
	}
	if opt == nil {
		p.cluster = ""
		return Found{}, false, &Error{fmt.Sprintf("invalid option -- '%c'", c)}
	}
	f := Found{Opt: opt, Spelled: "-" + string(c)}
	switch opt.Arg {
	case RequiredArg:
		if p.cluster != "" {
			f.Value, f.HasValue = p.cluster, true
			p.cluster = ""
			break
		}
		if p.i >= len(p.args) {
			return Found{}, false, &Error{fmt.Sprintf("option requires an argument -- '%c'", c)}
		}
		f.Value, f.HasValue = p.args[p.i], true
		p.i++
	case OptionalArg:
		if p.cluster != "" {
			f.Value, f.HasValue = p.cluster, true
			p.cluster = ""
		}
	}
	return f, true, nil
}

func (p *Parser) long(body string) (Found, bool, error) {
	name, value, hasValue := strings.Cut(body, "=")
	var opt *Option
	var prefixed []*Option
	for k := range p.spec.Options {
		o := &p.spec.Options[k]
		if o.Long == "" {
			continue
		}
		if o.Long == name {
			opt = o
			break
		}
		if !o.Exact && strings.HasPrefix(o.Long, name) {
			prefixed = append(prefixed, o)
		}
	}
	if opt == nil && len(prefixed) > 0 {
		opt = prefixed[0]
		for _, o := range prefixed[1:] {
			// glibc: several matches are ambiguous unless they are the same option.
			if o.Arg != opt.Arg || o.Short != opt.Short || o.Short == 0 {
				var b strings.Builder
				fmt.Fprintf(&b, "option '--%s' is ambiguous; possibilities:", body)
				for _, q := range prefixed {
					fmt.Fprintf(&b, " '--%s'", q.Long)
				}
				return Found{}, false, &Error{b.String()}
			}
		}
	}
	if opt == nil {
		return Found{}, false, &Error{fmt.Sprintf("unrecognized option '--%s'", body)}
	}
	f := Found{Opt: opt, Spelled: "--" + opt.Long}
	switch opt.Arg {
	case NoArg:
		if hasValue {
			return Found{}, false, &Error{fmt.Sprintf("option '--%s' doesn't allow an argument", opt.Long)}
		}
	case RequiredArg:
		if hasValue {
			f.Value, f.HasValue = value, true
			break
		}
		if p.i >= len(p.args) {
			return Found{}, false, &Error{fmt.Sprintf("option '--%s' requires an argument", opt.Long)}
		}
		f.Value, f.HasValue = p.args[p.i], true
		p.i++
	case OptionalArg:
		f.Value, f.HasValue = value, hasValue
	}
	return f, true, nil
}
