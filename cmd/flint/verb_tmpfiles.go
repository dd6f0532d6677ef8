package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/flint-init/flint/internal/getopt"
	"github.com/flint-init/flint/internal/tmpfiles"
)

// flint tmpfiles (and flint under the name systemd-tmpfiles) is systemd-tmpfiles(8) of
// systemd 252: it creates, removes and cleans the files and directories tmpfiles.d(5) lines
// describe, with its options, messages and exit statuses (internal/tmpfiles).

func init() {
	register(&verb{name: "tmpfiles", summary: "create, remove and clean files as tmpfiles.d(5) says (systemd-tmpfiles)",
		run: func(g *globals, args []string) int {
			return runTmpfiles(g.prog+" tmpfiles", args, os.Stdin, os.Stdout, os.Stderr)
		}, rawArgs: true})
}

const tmpfilesUsage = `%s [OPTIONS...] [CONFIGURATION FILE...]

Creates, deletes and cleans up volatile and temporary files and directories.

  -h --help                 Show this help
     --user                 Execute user configuration
     --version              Show package version
     --cat-config           Show configuration files
     --create               Create marked files/directories
     --clean                Clean up marked directories
     --remove               Remove marked files/directories
     --boot                 Execute actions only safe at boot
     --prefix=PATH          Only apply rules with the specified prefix
     --exclude-prefix=PATH  Ignore rules with the specified prefix
  -E                        Ignore rules prefixed with /dev, /proc, /run, /sys
     --root=PATH            Operate on an alternate filesystem root
     --replace=PATH         Treat arguments as replacement for PATH
     --no-pager             Do not pipe output into a pager

See the systemd-tmpfiles(8) man page for details.
`

// tmpfilesSpec is systemd-tmpfiles 252's option table ("hE").
var tmpfilesSpec = &getopt.Spec{Options: []getopt.Option{
	{Long: "help", Short: 'h'},
	{Long: "user"},
	{Long: "version"},
	{Long: "cat-config"},
	{Long: "create"},
	{Long: "clean"},
	{Long: "remove"},
	{Long: "boot"},
	{Long: "prefix", Arg: getopt.RequiredArg},
	{Long: "exclude-prefix", Arg: getopt.RequiredArg},
	{Long: "root", Arg: getopt.RequiredArg},
	{Long: "image", Arg: getopt.RequiredArg},
	{Long: "replace", Arg: getopt.RequiredArg},
	{Long: "no-pager"},
	{Short: 'E'},
}}

// runTmpfiles parses systemd-tmpfiles' command line and runs it; prog names the command in
// getopt's messages and the help.
func runTmpfiles(prog string, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	level := tmpfiles.LevelInfo
	if l, ok := tmpfiles.ParseLevel(os.Getenv("SYSTEMD_LOG_LEVEL")); ok {
		level = l
	}
	o := tmpfiles.Options{Stdin: stdin, Stdout: stdout, Log: tmpfiles.WriterLogger(stderr, level)}
	p := tmpfilesSpec.Parse(args)
	for {
		f, ok, err := p.Next()
		if err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", prog, err)
			return tmpfiles.ExitFailure
		}
		if !ok {
			break
		}
		switch f.Key() {
		case "help":
			fmt.Fprintf(stdout, tmpfilesUsage, filepath.Base(prog))
			return 0
		case "version":
			fmt.Fprintln(stdout, versionString)
			return 0
		case "user":
			o.User = true
		case "cat-config":
			o.CatConfig = true
		case "create":
			o.Create = true
		case "clean":
			o.Clean = true
		case "remove":
			o.Remove = true
		case "boot":
			o.Boot = true
		case "prefix":
			o.Prefix = append(o.Prefix, f.Value)
		case "exclude-prefix":
			o.Exclude = append(o.Exclude, f.Value)
		case "E":
			o.Exclude = append(o.Exclude, "/dev", "/proc", "/run", "/sys")
		case "root":
			abs, err := filepath.Abs(f.Value)
			if err != nil {
				fmt.Fprintf(stderr, "Failed to parse path \"%s\" and make it absolute: %v\n", f.Value, err)
				return tmpfiles.ExitFailure
			}
			o.Root = abs
		case "image":
			fmt.Fprintln(stderr, "option --image is not supported by flint")
			return tmpfiles.ExitFailure
		case "replace":
			if !tmpfiles.ValidReplace(f.Value) {
				fmt.Fprintln(stderr, "The argument to --replace= must an absolute path to a config file")
				return tmpfiles.ExitFailure
			}
			o.Replace = f.Value
		case "no-pager":
		}
	}
	o.Files = p.Operands()
	return tmpfiles.Main(o)
}
