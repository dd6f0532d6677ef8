package tmpfiles

import (
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"syscall"
)

// Exit statuses of systemd-tmpfiles.
const (
	ExitOK        = 0
	ExitFailure   = 1  // bad command line, a configuration file given that cannot be read
	ExitDataErr   = 65 // EX_DATAERR: some line is wrong
	ExitCantCreat = 73 // EX_CANTCREAT: some line could not be applied
)

// Options are systemd-tmpfiles' command line.
type Options struct {
	Create, Clean, Remove bool
	Boot                  bool // --boot: lines with '!' too
	User                  bool // --user
	CatConfig             bool // --cat-config
	Prefix, Exclude       []string
	// Root is --root (made absolute); "" for none. "/" is the host, read offline (users from
	// /etc/passwd without the names a running system adds).
	Root    string
	Replace string   // --replace=PATH
	Files   []string // the configuration files named (else every file of the directories)

	Stdin  io.Reader // "-" as a file name
	Stdout io.Writer // --cat-config
	Log    Logger
	// Getenv reads the environment; nil: os.Getenv.
	Getenv func(string) string
}

// Main does what systemd-tmpfiles 252 does with the options and returns its exit status.
// Every message goes to o.Log.
func Main(o Options) int {
	logf := func(level Level, format string, a ...any) {
		if o.Log != nil {
			o.Log(level, fmt.Sprintf(format, a...))
		}
	}
	getenv := o.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	if err := o.check(); err != "" {
		logf(LevelErr, "%s", err)
		return ExitFailure
	}
	if _, err := os.Stat("/proc/self"); err != nil {
		logf(LevelErr, "/proc/ is not mounted, but required for successful operation of systemd-tmpfiles. Please mount /proc/. Alternatively, consider using the --root= or --image= switches.")
		return ExitFailure
	}
	dirs := Dirs(o.User, getenv)
	if o.Root == "" || o.Root == "/" {
		logf(LevelDebug, "Looking for configuration files in (higher priority first):\n\t%s", strings.Join(dirs, "\n\t"))
	}
	if o.CatConfig {
		return catConfig(o, dirs, logf)
	}
	p := NewParser(o.Root, o.User, o.Log)
	p.Spec.Getenv = getenv
	p.Boot, p.Include, p.Exclude = o.Boot, o.Prefix, o.Exclude
	if d := getenv("CREDENTIALS_DIRECTORY"); path.IsAbs(d) {
		p.CredentialsDir = d
	}
	cfg := &Config{}
	rd := &Reader{Parser: p, Dirs: dirs, Stdin: o.Stdin, Config: cfg}
	readArgs := func() error {
		for _, f := range o.Files {
			if err := rd.ReadFile(f, false); err != nil {
				return err
			}
		}
		return nil
	}
	if o.Replace != "" || len(o.Files) == 0 {
		replaced := ""
		if o.Replace != "" {
			replaced = joinPath(o.Root, o.Replace)
		}
		for _, f := range ListFiles(dirs, o.Root, o.Replace) {
			if replaced != "" && f == replaced {
				if err := readArgs(); err != nil {
					return ExitFailure
				}
				continue
			}
			_ = rd.ReadFile(f, true)
		}
	} else if err := readArgs(); err != nil {
		return ExitFailure
	}
	if p.CredentialsDir != "" {
		_ = rd.ReadFile(path.Join(p.CredentialsDir, "tmpfiles.extra"), true)
	}
	run := NewRunner(o.Root, o.Log)
	err := run.Run(cfg, Operations{Create: o.Create, Remove: o.Remove, Clean: o.Clean})
	switch {
	case err != nil && (isErrno(err, syscall.ENOMEM) || isErrno(err, syscall.EMFILE) || isErrno(err, syscall.ENFILE)):
		return ExitFailure
	case cfg.Invalid:
		return ExitDataErr
	case err != nil:
		return ExitCantCreat
	}
	return ExitOK
}

// check refuses the combinations systemd-tmpfiles refuses, in its words.
func (o *Options) check() string {
	switch {
	case !o.Create && !o.Clean && !o.Remove && !o.CatConfig:
		return "You need to specify at least one of --clean, --create or --remove."
	case o.Replace != "" && o.CatConfig:
		return "Option --replace= is not supported with --cat-config"
	case o.Replace != "" && len(o.Files) == 0:
		return "When --replace= is given, some configuration items must be specified"
	case o.Root != "" && o.User:
		return "Combination of --user and --root= is not supported."
	}
	return ""
}

// ValidReplace reports whether a --replace= argument is acceptable: an absolute path of a
// .conf file.
func ValidReplace(p string) bool {
	return strings.HasPrefix(p, "/") && strings.HasSuffix(p, ".conf")
}

// catConfig prints the configuration files as systemd-tmpfiles --cat-config: each after a
// "# PATH" line, a blank line between them.
func catConfig(o Options, dirs []string, logf func(Level, string, ...any)) int {
	w := o.Stdout
	if w == nil {
		w = os.Stdout
	}
	for k, f := range ListFiles(dirs, o.Root, "") {
		data, err := os.ReadFile(f)
		if err != nil {
			logf(LevelWarning, "Failed to open %s: %s", f, strerror(err))
			continue
		}
		if k > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "# %s\n", f)
		lines, _ := splitLines(data)
		for _, l := range lines {
			fmt.Fprintln(w, l)
		}
	}
	return ExitOK
}
