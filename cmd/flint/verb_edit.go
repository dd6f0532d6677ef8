package main

import (
	"bufio"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/flint-init/flint/unit"
	"github.com/flint-init/flint/unit/install"
)

// flint edit: systemctl 252's edit. Each unit gets a temporary file next to the file it
// will become (a drop-in override.conf in the manager's configuration directory, or with
// --full a copy of the unit file there), opened in $SYSTEMD_EDITOR, $EDITOR or $VISUAL (else
// editor, nano, vim or vi), all units at once; a file left empty cancels its unit's edit, any
// other content is installed, and the manager is reloaded.

func init() {
	register(&verb{name: "edit", summary: "edit a unit: a drop-in override.conf, or with --full the whole unit file", manager: true, usage: editUsage, run: runEdit})
}

const editUsage = `usage: flint edit [--full] [--runtime] [--force] UNIT...

Edit a drop-in override.conf of each unit (with --full: a copy of the unit file) in the
manager's configuration directory (with --runtime: its runtime directory), in
$SYSTEMD_EDITOR, $EDITOR or $VISUAL; --force creates a unit that does not exist yet. The
files are installed when the editor exits, unless left empty, and the manager is reloaded.
Standard output and standard error must be a terminal.
`

const (
	editMarkerStart = "### Anything between here and the comment below will become the new contents of the file"
	editMarkerEnd   = "### Lines below this comment will be discarded"
)

// editFile is one file being edited: where it goes and the temporary file the editor gets.
type editFile struct{ path, tmp string }

func runEdit(g *globals, args []string) int {
	if !isTerminal(os.Stdout) || !isTerminal(os.Stderr) {
		fmt.Fprintln(os.Stderr, "Cannot edit units if not on a tty.")
		return 1
	}
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "Too few arguments.")
		return 1
	}
	fs := g.files()
	if !fs.online() && len(g.units) == 0 {
		// edit works through the manager (--units DIR names files to edit without one)
		fmt.Fprintln(os.Stderr, noManagerMessage(g.control))
		return 1
	}
	var names []string
	for _, a := range args {
		names = append(names, mangleName(a))
	}
	for _, n := range names {
		if fs.l.Load(n).LoadState == unit.Masked {
			fmt.Fprintf(os.Stderr, "Cannot edit %s: unit is masked.\n", n)
			return 1
		}
	}
	var files []editFile
	cleanup := func() {
		for _, f := range files {
			os.Remove(f.tmp)
			if !g.full {
				os.Remove(filepath.Dir(f.path)) // an empty drop-in directory, as systemctl
			}
		}
	}
	for _, n := range names {
		f, err := prepareEdit(g, fs.l, n)
		if err != nil {
			if err != errEditReported {
				fmt.Fprintln(os.Stderr, err)
			}
			cleanup()
			return 1
		}
		files = append(files, f)
	}
	if err := runEditor(files); err != nil {
		fmt.Fprintln(os.Stderr, err)
		cleanup()
		return 1
	}
	for _, f := range files {
		empty, err := trimEditMarkers(f.tmp)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			continue
		}
		if empty {
			fmt.Fprintf(os.Stderr, "Editing \"%s\" canceled: temporary file is empty.\n", f.path)
			continue
		}
		if err := os.Rename(f.tmp, f.path); err != nil {
			fmt.Fprintf(os.Stderr, "Failed to rename \"%s\" to \"%s\": %v\n", f.tmp, f.path, unit.Strerror(err))
			cleanup()
			return 1
		}
	}
	code := fs.reload(g, os.Stderr)
	cleanup()
	return code
}

// errEditReported: prepareEdit has printed what went wrong.
var errEditReported = errors.New("reported")

// prepareEdit finds the file to edit for unit n and writes its temporary file.
func prepareEdit(g *globals, l *unit.Loader, n string) (editFile, error) {
	u := l.Load(n)
	name := n
	if u.FragmentPath != "" {
		// aliases lead to the unit's own name (an instance keeps its instance)
		name = filepath.Base(u.FragmentPath)
		if unit.IsTemplate(name) && unit.IsInstance(n) {
			_, inst, _, _ := unit.ParseName(n)
			if in, err := unit.Instantiate(name, inst); err == nil {
				name = in
			}
		}
	} else if g.force == 0 {
		scope := ""
		if g.user {
			scope = " --user"
		}
		fmt.Fprintf(os.Stderr, "No files found for %s.\nRun '%s edit%s --force --full %s' to create a new unit.\n", n, progName(), scope, n)
		return editFile{}, errEditReported
	}
	lk := l.Lookup()
	dir := lk.Config
	if g.runtime {
		if lk.Runtime == "" {
			return editFile{}, fmt.Errorf("Cannot edit %s with --runtime: %v.", n, install.ErrNoRuntimeDir)
		}
		dir = lk.Runtime
	}
	rel := name + ".d/override.conf"
	if g.full {
		rel = name
	}
	path := filepath.Join(dir, rel)
	if g.runtime {
		if persistent := filepath.Join(lk.Config, rel); exists(persistent) {
			return editFile{}, fmt.Errorf("Refusing to create \"%s\" because it would be overridden by \"%s\" anyway.", path, persistent)
		}
	}
	if g.full && u.FragmentPath != "" && path != u.FragmentPath && exists(path) {
		if !askYes(fmt.Sprintf("\"%s\" already exists. Overwrite with \"%s\"? [(y)es, (n)o] ", path, u.FragmentPath)) {
			fmt.Fprintf(os.Stderr, "%s skipped.\n", name)
			return editFile{}, errEditReported
		}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return editFile{}, fmt.Errorf("Failed to create directories for \"%s\": %v", path, unit.Strerror(err))
	}
	tmp := tempName(path)
	f := editFile{path: path, tmp: tmp}
	switch {
	case u.FragmentPath == "":
		// a new unit: the editor starts from nothing
	case g.full:
		data, err := os.ReadFile(u.FragmentPath)
		if err != nil && !os.IsNotExist(err) {
			return f, fmt.Errorf("Failed to create temporary file for \"%s\": %v", path, unit.Strerror(err))
		}
		if err := os.WriteFile(tmp, data, 0o644); err != nil {
			return f, fmt.Errorf("Failed to create temporary file for \"%s\": %v", path, unit.Strerror(err))
		}
	default:
		content, err := dropInTemplate(path, append([]string{u.FragmentPath}, u.DropInPaths...))
		if err != nil {
			return f, err
		}
		if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
			return f, fmt.Errorf("Failed to open \"%s\": %v", tmp, unit.Strerror(err))
		}
	}
	return f, nil
}

// dropInTemplate is what the editor gets for a drop-in: the drop-in as it is now between the
// two markers, then the unit's other files, commented out, for reference.
func dropInTemplate(path string, others []string) (string, error) {
	cur, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return "", fmt.Errorf("Failed to read \"%s\": %v", path, unit.Strerror(err))
	}
	var b strings.Builder
	nl := "\n"
	if strings.HasSuffix(string(cur), "\n") {
		nl = ""
	}
	fmt.Fprintf(&b, "### Editing %s\n%s\n\n%s%s\n%s", path, editMarkerStart, cur, nl, editMarkerEnd)
	for _, p := range others {
		if p == path {
			continue
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return "", fmt.Errorf("Failed to read \"%s\": %v", p, unit.Strerror(err))
		}
		fmt.Fprintf(&b, "\n\n### %s", p)
		if c := strings.Trim(string(data), " \t\n\r"); c != "" {
			fmt.Fprintf(&b, "\n# %s", strings.ReplaceAll(c, "\n", "\n# "))
		}
	}
	return b.String(), nil
}

// trimEditMarkers keeps what the user wrote between the markers, as systemctl's
// trim_edit_markers: the text after the first marker up to the second, stripped of
// surrounding whitespace, rewritten (without a final newline) when that cut anything at the
// end. It reports whether the file is empty then.
func trimEditMarkers(tmp string) (bool, error) {
	data, err := os.ReadFile(tmp)
	if err != nil {
		return false, fmt.Errorf("Failed to read temporary file \"%s\": %v", tmp, unit.Strerror(err))
	}
	s := string(data)
	start := 0
	if i := strings.Index(s, editMarkerStart); i >= 0 {
		start = i + len(editMarkerStart)
	}
	end := len(s)
	if i := strings.Index(s[start:], editMarkerEnd); i >= 0 {
		end = start + i
	}
	kept := strings.TrimRight(s[start:end], " \t\n\r")
	end = start + len(kept)
	kept = strings.TrimLeft(kept, " \t\n\r")
	if end != len(s) {
		if err := os.WriteFile(tmp, []byte(kept), 0o644); err != nil {
			return false, fmt.Errorf("Failed to modify temporary file \"%s\": %v", tmp, unit.Strerror(err))
		}
		return kept == "", nil
	}
	return len(data) == 0, nil
}

// runEditor runs the editor on every temporary file and waits for it.
func runEditor(files []editFile) error {
	var tmps []string
	for _, f := range files {
		tmps = append(tmps, f.tmp)
	}
	var editors [][]string
	for _, env := range []string{"SYSTEMD_EDITOR", "EDITOR", "VISUAL"} {
		if v, ok := os.LookupEnv(env); ok {
			if w := strings.Fields(v); len(w) > 0 {
				editors = append(editors, w)
			}
			break // the first one set decides, even empty (then the fallbacks)
		}
	}
	for _, e := range []string{"editor", "nano", "vim", "vi"} {
		editors = append(editors, []string{e})
	}
	for _, e := range editors {
		path, err := exec.LookPath(e[0])
		if err != nil {
			continue
		}
		cmd := exec.Command(path, append(e[1:], tmps...)...)
		cmd.Args[0] = e[0]
		cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
		err = cmd.Run()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			if st, ok := ee.Sys().(syscall.WaitStatus); ok && st.Signaled() {
				return fmt.Errorf("(editor) terminated by signal %s.", unix.SignalName(st.Signal()))
			}
			return fmt.Errorf("(editor) failed with exit status %d.", ee.ExitCode())
		}
		if err != nil {
			return fmt.Errorf("Failed to execute %s: %v", e[0], err)
		}
		return nil
	}
	return errors.New("Cannot edit units, no editor available. Please set either $SYSTEMD_EDITOR, $EDITOR or $VISUAL.")
}

// tempName is systemd's tempfn_random: ".#NAME" and 16 random hex digits, next to path.
func tempName(path string) string {
	var b [8]byte
	for n := 0; n < len(b); {
		k, err := unix.Getrandom(b[n:], 0)
		if err != nil && err != unix.EINTR {
			break
		}
		n += max(k, 0)
	}
	return filepath.Join(filepath.Dir(path), ".#"+filepath.Base(path)+hex.EncodeToString(b[:]))
}

// askYes asks a yes/no question on the terminal, as systemd's ask_char with "yn".
func askYes(prompt string) bool {
	in := bufio.NewReader(os.Stdin)
	for {
		fmt.Fprint(os.Stdout, prompt)
		line, err := in.ReadString('\n')
		line = strings.TrimSpace(line)
		switch {
		case line == "y" || line == "yes":
			return true
		case line == "n" || line == "no":
			return false
		case err != nil:
			return false
		}
		fmt.Fprintf(os.Stdout, "'%s' isn't a valid answer.\n", line)
	}
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}
