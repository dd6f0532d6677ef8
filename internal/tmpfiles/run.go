package tmpfiles

import (
	"fmt"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Operations select what Run does, as systemd-tmpfiles' --create, --remove and --clean.
type Operations struct {
	Create, Remove, Clean bool
}

// Runner applies a Config to the file system under a root directory.
type Runner struct {
	root fsRoot
	log  Logger
	cfg  *Config
	// now is the clock of --clean.
	now func() time.Time
	// sockets are the listening unix sockets of /proc/net/unix (read once, on demand).
	sockets map[string]bool
	// protectedHardlinks is fs.protected_hardlinks (read once).
	protectedHardlinks *bool
}

// NewRunner returns a runner for the root directory root ("" for the host). Messages go to
// log.
func NewRunner(root string, log Logger) *Runner {
	if root == "/" {
		root = ""
	}
	return &Runner{root: fsRoot{prefix: root, log: log}, log: log, now: time.Now}
}

// SetClock replaces the clock --clean compares ages with.
func (r *Runner) SetClock(now func() time.Time) { r.now = now }

func (r *Runner) logf(level Level, format string, a ...any) {
	if r.log != nil {
		r.log(level, fmt.Sprintf(format, a...))
	}
}

// errorf logs at error level and returns err (systemd's log_error_errno()).
func (r *Runner) errorf(err error, format string, a ...any) error {
	r.logf(LevelErr, format, a...)
	return err
}

func sprintf(format string, a ...any) string { return fmt.Sprintf(format, a...) }

// Run applies cfg: first removal and cleaning of every path, then creation, plain paths
// before globs, each path after the configured paths above it (for creation) or before them
// (removal, cleaning). It returns the first error of a line (those of lines with '-' during
// creation aside); every error has been logged. The process umask is 0 while it runs, as
// systemd-tmpfiles creates every inode with the mode of its line.
func (r *Runner) Run(cfg *Config, ops Operations) error {
	r.cfg = cfg
	cfg.link()
	old := unix.Umask(0)
	defer unix.Umask(old)
	var first error
	phases := []operation{0, 0}
	if ops.Remove {
		phases[0] |= opRemove
	}
	if ops.Clean {
		phases[0] |= opClean
	}
	if ops.Create {
		phases[1] = opCreate
	}
	for _, op := range phases {
		if op == 0 {
			continue
		}
		for _, m := range []*orderedArrays{&cfg.items, &cfg.globs} {
			for _, a := range m.order {
				if err := r.processArray(a, op); err != nil && first == nil {
					first = err
				}
			}
		}
	}
	return first
}

// processArray applies the lines of one path: parents first when creating, children first
// when removing or cleaning.
func (r *Runner) processArray(a *itemArray, op operation) error {
	var first error
	keep := func(err error) {
		if err != nil && first == nil {
			first = err
		}
	}
	if op&opCreate != 0 && a.parent != nil {
		keep(r.processArray(a.parent, op&opCreate))
	}
	if op&(opRemove|opClean) != 0 {
		for _, c := range a.children {
			keep(r.processArray(c, op&(opRemove|opClean)))
		}
	}
	for _, i := range a.items {
		keep(r.processItem(i, op))
	}
	return first
}

func (r *Runner) processItem(i *Item, op operation) error {
	if op&^i.done == 0 {
		return nil
	}
	i.done |= op
	p := i.Path
	if isGlob(p) {
		p = globPrefix(p)
	}
	if _, _, _, err := r.root.chase(r.root.inner(p), chaseNoAutofs|chaseNonexistent); isErrno(err, syscall.EREMOTE) {
		r.logf(LevelNotice, "Skipping %s", i.Path)
		return nil
	}
	var cerr, rerr, kerr error
	if op&opCreate != 0 {
		r.logf(LevelDebug, "Running create action for entry %c %s", i.Type, i.Path)
		cerr = r.create(i)
		if i.AllowFailure {
			cerr = nil
		}
	}
	if op&opRemove != 0 {
		rerr = r.remove(i)
	}
	if op&opClean != 0 {
		kerr = r.clean(i)
	}
	switch {
	case cerr != nil:
		return cerr
	case rerr != nil:
		return rerr
	}
	return kerr
}

// isGlob reports whether p has glob characters.
func isGlob(p string) bool { return strings.ContainsAny(p, "*?[") }

// globPrefix is the part of a glob before the component with its first glob character.
func globPrefix(p string) string {
	k := strings.IndexAny(p, "*?[")
	s := strings.LastIndexByte(p[:k], '/')
	if s <= 0 {
		return "/"
	}
	return p[:s]
}
