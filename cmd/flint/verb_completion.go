package main

import (
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/flint-init/flint/internal/getopt"
)

// flint completion bash|zsh|fish prints a shell completion script: verbs (with their
// summaries for zsh and fish), each verb's options, and unit names asked from the running
// manager (flint list-units --all --plain --no-legend) for the verbs that take units.

func init() {
	register(&verb{name: "completion", summary: "print a shell completion script (bash, zsh or fish)", rawArgs: true, run: runCompletion})
}

const completionUsage = `usage: flint completion bash|zsh|fish

Print a completion script for the shell. Load it with:
  bash:  source <(flint completion bash)
  zsh:   flint completion zsh > "${fpath[1]}/_flint"
  fish:  flint completion fish > ~/.config/fish/completions/flint.fish
`

// verbOptions are the options each verb takes (for completion): for systemctl's verbs, the
// options ctlOptions ties to them and flint honours; the other command lines' by hand.
var verbOptions = sync.OnceValue(completionOptions) // after the verbs' registration

func completionOptions() map[string][]string {
	out := map[string][]string{
		"logs": {"--unit=", "--follow", "--lines=", "--since=", "--output=short", "--output=json"},
		"activate": {"--listen=", "--accept", "--inetd", "--datagram", "--seqpacket", "--setenv=",
			"--fdname=", "--restart"},
		"run":        specWords(runSpec),
		"completion": {"bash", "zsh", "fish"},
	}
	for _, o := range ctlOptions {
		if o.refused || o.hidden || o.Long == "" {
			continue
		}
		w := "--" + o.Long
		if o.Arg != getopt.NoArg {
			w += "="
		}
		for _, v := range o.verbs {
			if _, ok := verbs[v]; ok && !slices.Contains(out[v], w) {
				out[v] = append(out[v], w)
			}
		}
	}
	return out
}

// unitVerbs take unit names as arguments.
var unitVerbs = []string{"start", "stop", "restart", "reload", "try-restart", "reload-or-restart", "try-reload-or-restart", "isolate",
	"status", "show", "is-active", "is-failed", "is-enabled", "list-dependencies", "enable",
	"disable", "mask", "unmask", "cat", "kill", "reset-failed", "logs"}

var globalOptions = []string{"--control=", "--units=", "--user", "--system", "--output=", "--no-pager", "--help"}

// sortedVerbs are the verbs' names, sorted, without the hidden (legacy) ones.
func sortedVerbs() []string {
	names := make([]string, 0, len(verbs))
	for n, v := range verbs {
		if !v.hidden {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names
}

func runCompletion(g *globals, args []string) int {
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
		fmt.Print(completionUsage)
		return 0
	}
	if len(args) != 1 {
		fmt.Fprint(os.Stderr, completionUsage)
		return 2
	}
	switch args[0] {
	case "bash":
		writeBashCompletion(os.Stdout)
	case "zsh":
		writeZshCompletion(os.Stdout)
	case "fish":
		writeFishCompletion(os.Stdout)
	default:
		fmt.Fprintf(os.Stderr, "flint completion: unknown shell %q (bash, zsh or fish)\n", args[0])
		return 2
	}
	return 0
}

func shellWords(list []string) string { return strings.Join(list, " ") }

func writeBashCompletion(w io.Writer) {
	fmt.Fprintf(w, `# bash completion for flint; source <(flint completion bash)
_flint_units() {
    flint "${_flint_global[@]}" list-units --all --plain --no-legend 2>/dev/null | while read -r u _; do printf '%%s\n' "$u"; done
}
_flint() {
    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
    local verb= i
    _flint_global=()
    for ((i = 1; i < COMP_CWORD; i++)); do
        case ${COMP_WORDS[i]} in
            --control|--units) _flint_global+=("${COMP_WORDS[i]}" "${COMP_WORDS[i+1]}"); ((i++)) ;;
            --control=*|--units=*|--user) _flint_global+=("${COMP_WORDS[i]}") ;;
            -*) ;;
            *) verb=${COMP_WORDS[i]}; break ;;
        esac
    done
    case $prev in
        --control|--units) COMPREPLY=($(compgen -f -- "$cur")); return ;;
    esac
    if [[ -z $verb ]]; then
        COMPREPLY=($(compgen -W "%s %s" -- "$cur"))
        return
    fi
    local opts=
    case $verb in
%s    esac
    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$opts" -- "$cur"))
        return
    fi
    case $verb in
        %s) COMPREPLY=($(compgen -W "$(_flint_units)" -- "$cur")) ;;
        completion) COMPREPLY=($(compgen -W "bash zsh fish" -- "$cur")) ;;
        analyze) COMPREPLY=($(compgen -W "verify critical-chain plot dot" -- "$cur")) ;;
        *) COMPREPLY=($(compgen -f -- "$cur")) ;;
    esac
}
complete -F _flint flint
`, shellWords(sortedVerbs()), shellWords(globalOptions), bashOptionCases(), strings.Join(unitVerbs, "|"))
}

func bashOptionCases() string {
	var b strings.Builder
	for _, v := range sortedVerbs() {
		if o := verbOptions()[v]; len(o) > 0 && v != "completion" {
			fmt.Fprintf(&b, "        %s) opts=%q ;;\n", v, shellWords(append(o, "--help")))
		}
	}
	return b.String()
}

func zshQuote(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "'", "'\\''"), ":", "\\:")
}

func writeZshCompletion(w io.Writer) {
	var vs strings.Builder
	for _, v := range sortedVerbs() {
		fmt.Fprintf(&vs, "        '%s:%s'\n", v, zshQuote(verbs[v].summary))
	}
	var opts strings.Builder
	for _, v := range sortedVerbs() {
		if o := verbOptions()[v]; len(o) > 0 && v != "completion" {
			fmt.Fprintf(&opts, "        %s) opts=(%s) ;;\n", v, shellWords(append(o, "--help")))
		}
	}
	fmt.Fprintf(w, `#compdef flint
# zsh completion for flint; flint completion zsh > "${fpath[1]}/_flint"
_flint() {
    local -a verbs opts units
    verbs=(
%s    )
    local verb i
    for ((i = 2; i < CURRENT; i++)); do
        case ${words[i]} in
            --control|--units) ((i++)) ;;
            -*) ;;
            *) verb=${words[i]}; break ;;
        esac
    done
    if [[ -z $verb ]]; then
        _describe -t verbs 'flint verb' verbs
        compadd -- %s
        return
    fi
    case $verb in
%s    esac
    if [[ ${words[CURRENT]} == -* ]]; then
        compadd -- $opts
        return
    fi
    case $verb in
        %s)
            units=(${(f)"$(flint list-units --all --plain --no-legend 2>/dev/null | awk '{print $1}')"})
            compadd -- $units ;;
        completion) compadd -- bash zsh fish ;;
        *) _files ;;
    esac
}
_flint "$@"
`, vs.String(), shellWords(globalOptions), opts.String(), strings.Join(unitVerbs, "|"))
}

func writeFishCompletion(w io.Writer) {
	fmt.Fprintln(w, "# fish completion for flint; flint completion fish > ~/.config/fish/completions/flint.fish")
	fmt.Fprintln(w, "function __flint_units; flint list-units --all --plain --no-legend 2>/dev/null | string replace -r ' .*' ''; end")
	fmt.Fprintf(w, "complete -c flint -f\n")
	for _, o := range globalOptions {
		name := strings.TrimSuffix(strings.TrimPrefix(o, "--"), "=")
		if strings.HasSuffix(o, "=") {
			fmt.Fprintf(w, "complete -c flint -l %s -r\n", name)
		} else {
			fmt.Fprintf(w, "complete -c flint -l %s\n", name)
		}
	}
	for _, v := range sortedVerbs() {
		fmt.Fprintf(w, "complete -c flint -n __fish_use_subcommand -a %s -d %s\n", v, fishQuote(verbs[v].summary))
	}
	fmt.Fprintf(w, "complete -c flint -n '__fish_seen_subcommand_from %s' -a '(__flint_units)'\n", strings.Join(unitVerbs, " "))
	fmt.Fprintln(w, "complete -c flint -n '__fish_seen_subcommand_from completion' -a 'bash zsh fish'")
	for _, v := range sortedVerbs() {
		for _, o := range verbOptions()[v] {
			if !strings.HasPrefix(o, "--") {
				continue
			}
			name, val, hasVal := strings.Cut(strings.TrimPrefix(o, "--"), "=")
			line := fmt.Sprintf("complete -c flint -n '__fish_seen_subcommand_from %s' -l %s", v, name)
			if hasVal {
				line += " -r"
				if val != "" {
					line += " -a " + val
				}
			}
			fmt.Fprintln(w, line)
		}
	}
}

func fishQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", "\\'") + "'" }

// specWords are the long options of spec as completion offers them ("--name", "--name=" for
// one that takes an argument), --help left out: a verb's completion follows its option table.
func specWords(spec *getopt.Spec) []string {
	var words []string
	for _, o := range spec.Options {
		switch {
		case o.Long == "" || o.Long == "help":
		case o.Arg == getopt.RequiredArg:
			words = append(words, "--"+o.Long+"=")
		default:
			words = append(words, "--"+o.Long)
		}
	}
	return words
}
