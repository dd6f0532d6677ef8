package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/flint-init/flint/client"
	"github.com/flint-init/flint/unit"
	"github.com/flint-init/flint/unit/show"
)

// The manager's environment block: what every process it starts begins with.

func init() {
	register(&verb{name: "show-environment", summary: "print the manager's environment block", manager: true,
		usage: "usage: flint show-environment [-o json]\n",
		run:   func(g *globals, a []string) int { return runShowEnvironment(g, a, os.Stdout, os.Stderr) }})
	register(&verb{name: "set-environment", summary: "set variables of the manager's environment block (VAR=VALUE...)", manager: true,
		usage: "usage: flint set-environment VAR=VALUE...\n",
		run:   func(g *globals, a []string) int { return runSetEnvironment(g, "set-environment", a, os.Stderr) }})
	register(&verb{name: "unset-environment", summary: "unset variables of the manager's environment block", manager: true,
		usage: "usage: flint unset-environment VAR...\n",
		run:   func(g *globals, a []string) int { return runSetEnvironment(g, "unset-environment", a, os.Stderr) }})
	register(&verb{name: "import-environment", summary: "copy variables of this environment into the manager's", manager: true,
		usage: "usage: flint import-environment VAR...\n",
		run:   func(g *globals, a []string) int { return runImportEnvironment(g, a, os.Environ(), os.Stderr) }})
}

// runShowEnvironment prints the block as systemctl show-environment: one VAR=VALUE a line in
// the manager's order, the value quoted for a POSIX shell where it needs it; -o json as an
// object of the variables.
func runShowEnvironment(g *globals, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		fmt.Fprintln(stderr, "Too many arguments.")
		return 1
	}
	env, err := client.New(g.control).Environment()
	if err != nil {
		if _, ok := err.(*client.Error); ok {
			fmt.Fprintf(stderr, "Failed to get environment: %v\n", err)
			return 1
		}
		return reportClientError(err)
	}
	if g.jsonOutput() {
		writeEnvJSON(stdout, env, g.output)
		return 0
	}
	for _, kv := range env {
		name, value, _ := strings.Cut(kv, "=")
		fmt.Fprintf(stdout, "%s=%s\n", name, show.ShellQuotePOSIX(value))
	}
	return 0
}

// runSetEnvironment is systemctl set-environment and unset-environment.
func runSetEnvironment(g *globals, verb string, args []string, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "Too few arguments.")
		return 1
	}
	c := client.New(g.control)
	var err error
	if verb == "set-environment" {
		err = c.SetEnvironment(args)
	} else {
		err = c.UnsetEnvironment(args)
	}
	if err != nil {
		if _, ok := err.(*client.Error); ok {
			fmt.Fprintf(stderr, "Failed to set environment: %v\n", err)
			return 1
		}
		return reportClientError(err)
	}
	return 0
}

// runImportEnvironment is systemctl import-environment: the named variables of this
// process's environment (all of them, deprecated, without names) are set in the manager's.
func runImportEnvironment(g *globals, args, environ []string, stderr io.Writer) int {
	var set []string
	if len(args) == 0 {
		fmt.Fprintln(stderr, "Calling import-environment without a list of variable names is deprecated.")
		set = cleanEnv(environ)
		for _, kv := range set {
			if hasControlChars(kv) {
				fmt.Fprintf(stderr, "Environment variable $%s contains control characters, importing anyway.\n", kv[:strings.IndexByte(kv, '=')])
			}
		}
	}
	for _, name := range args {
		if !unit.ValidEnvName(name) {
			fmt.Fprintf(stderr, "Not a valid environment variable name: %s\n", name)
			return 1
		}
		found := false
		for _, kv := range environ {
			if v, ok := strings.CutPrefix(kv, name+"="); ok {
				if hasControlChars(v) {
					fmt.Fprintf(stderr, "Environment variable $%s contains control characters, importing anyway.\n", name)
				}
				set = append(set, kv)
				found = true
				break
			}
		}
		if !found {
			fmt.Fprintf(stderr, "Environment variable $%s not set, ignoring.\n", name)
		}
	}
	if err := client.New(g.control).SetEnvironment(set); err != nil {
		if _, ok := err.(*client.Error); ok {
			fmt.Fprintf(stderr, "Failed to import environment: %v\n", err)
			return 1
		}
		return reportClientError(err)
	}
	return 0
}

// cleanEnv is systemd's strv_env_clean: invalid assignments dropped, of several assignments
// to one name the last kept, in its place.
func cleanEnv(env []string) []string {
	var out []string
	for i, kv := range env {
		if !unit.ValidEnvAssignment(kv) {
			continue
		}
		name := kv[:strings.IndexByte(kv, '=')+1]
		dup := false
		for _, later := range env[i+1:] {
			if strings.HasPrefix(later, name) {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, kv)
		}
	}
	return out
}

func hasControlChars(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return r < ' ' || r == 0x7f }) >= 0
}

// writeEnvJSON prints the block as systemd's json_variant_dump prints an object of strings:
// compact, or with -o json-pretty a member a line indented by a tab ("NAME" : "value"),
// json-seq with a record separator before, json-sse as a "data:" event.
func writeEnvJSON(w io.Writer, env []string, mode string) {
	var members []string
	for _, kv := range env {
		name, value, _ := strings.Cut(kv, "=")
		if mode == "json-pretty" {
			members = append(members, "\t"+jsonString(name)+" : "+jsonString(value))
		} else {
			members = append(members, jsonString(name)+":"+jsonString(value))
		}
	}
	switch mode {
	case "json-pretty":
		if len(members) == 0 {
			fmt.Fprint(w, "{}\n")
			return
		}
		fmt.Fprintf(w, "{\n%s\n}\n", strings.Join(members, ",\n"))
	case "json-seq":
		fmt.Fprintf(w, "\x1e{%s}\n", strings.Join(members, ","))
	case "json-sse":
		fmt.Fprintf(w, "data: {%s}\n\n", strings.Join(members, ","))
	default:
		fmt.Fprintf(w, "{%s}\n", strings.Join(members, ","))
	}
}

// jsonString quotes s as systemd's JSON writer does: \" \\ and the control characters
// escaped (\b \f \n \r \t, others \u00XX), everything else as it is.
func jsonString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if c < ' ' || c == 0x7f {
				fmt.Fprintf(&b, `\u%04x`, c)
			} else {
				b.WriteByte(c)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}
