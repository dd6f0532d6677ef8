package manager

import (
	"fmt"
	"os"

	"github.com/godbus/dbus/v5"
	"golang.org/x/sys/unix"

	"github.com/flint-init/flint/internal/sdbus"
	"github.com/flint-init/flint/internal/spawn"
	"github.com/flint-init/flint/unit"
)

// A transient service's standard streams passed as file descriptors (systemd-run --pipe:
// StandardInputFileDescriptor=, StandardOutputFileDescriptor=, StandardErrorFileDescriptor=,
// type 'h'). As in systemd (stdio_as_fds), each fd given replaces what StandardInput=,
// StandardOutput= or StandardError= would open, for every process of the service; the
// manager holds them until the service is inactive again (or unloaded), so that the
// client's pipes see their end when the service's processes are gone.

// stdioFDProps are the properties, by stream (0 stdin, 1 stdout, 2 stderr).
var stdioFDProps = map[string]int{
	"StandardInputFileDescriptor":  0,
	"StandardOutputFileDescriptor": 1,
	"StandardErrorFileDescriptor":  2,
}

// takeStdioFDs removes the Standard*FileDescriptor properties from props and takes their
// files from the call. On error the files taken are closed.
func takeStdioFDs(c *sdbus.Call, props [][]any) (rest [][]any, fds *[3]*os.File, err error) {
	var got [3]*os.File
	n := 0
	for _, p := range props {
		name, _ := p[0].(string)
		i, isFD := stdioFDProps[name]
		if len(p) != 2 || !isFD {
			rest = append(rest, p)
			continue
		}
		v, _ := p[1].(dbus.Variant)
		idx, ok := v.Value().(dbus.UnixFDIndex)
		if !ok {
			err = fmt.Errorf("Invalid value for %s: not a file descriptor.", name)
			break
		}
		f, ferr := c.FD(idx)
		if ferr != nil {
			err = fmt.Errorf("%s: %v", name, ferr)
			break
		}
		// One fd may be given for several streams (systemd-run --pty of later versions): each
		// stream gets its own descriptor.
		d, derr := dupFile(f)
		if derr != nil {
			err = fmt.Errorf("%s: %v", name, derr)
			break
		}
		if got[i] != nil {
			got[i].Close()
		} else {
			n++
		}
		got[i] = d
	}
	if err != nil {
		for _, f := range got {
			if f != nil {
				f.Close()
			}
		}
		return nil, nil, err
	}
	if n == 0 {
		return rest, nil, nil
	}
	return rest, &got, nil
}

// dupFile is a close-on-exec duplicate of f.
func dupFile(f *os.File) (*os.File, error) {
	sc, err := f.SyscallConn()
	if err != nil {
		return nil, err
	}
	var nfd int
	var derr error
	if err := sc.Control(func(fd uintptr) { nfd, derr = unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 3) }); err != nil {
		return nil, err
	}
	if derr != nil {
		return nil, derr
	}
	return os.NewFile(uintptr(nfd), f.Name()), nil
}

// passedStdio are the files passed for u's standard streams (nil: none passed for that one).
func (m *Manager) passedStdio(u *Unit) [3]*os.File {
	if m.dbus == nil || m.dbus.stdio[u] == nil {
		return [3]*os.File{}
	}
	return *m.dbus.stdio[u]
}

// releaseStdio closes the files passed for u's streams once u is inactive with no job
// (dbusUnitChanged), or unloaded.
func (d *dbusState) releaseStdio(u *Unit, force bool) {
	fds, ok := d.stdio[u]
	if !ok || !force && (!isInactiveOrFailed(u.activeState()) || u.job != nil) {
		return
	}
	delete(d.stdio, u)
	closeStdio(fds)
}

// closeStdio closes the files of takeStdioFDs (nil: none).
func closeStdio(fds *[3]*os.File) {
	if fds == nil {
		return
	}
	for _, f := range fds {
		if f != nil {
			f.Close()
		}
	}
}

// passedTTY readies a passed stdin that is a terminal as systemd's setup_input does for each
// process of the service: the line settings reset (reset_terminal_fd), TTYRows=/TTYColumns=
// applied, and the spawn told to make it the controlling terminal after setsid (TIOCSCTTY,
// stealing it only with StandardInput=tty-force; refused quietly when another session has
// it). It returns the spawn's mode, CTTYNone when stdin is not a passed terminal.
func passedTTY(in *os.File, ec *unit.ExecContext) int {
	if in == nil {
		return spawn.CTTYNone
	}
	rc, err := in.SyscallConn()
	if err != nil {
		return spawn.CTTYNone
	}
	tty := false
	rc.Control(func(fd uintptr) {
		if _, err := unix.IoctlGetTermios(int(fd), unix.TCGETS); err == nil {
			tty = true
			resetTerminal(int(fd)) // exectty.go
		}
	})
	if !tty {
		return spawn.CTTYNone
	}
	ttySize(in, ec)
	if ec.StandardInput == "tty-force" {
		return spawn.CTTYForce
	}
	return spawn.CTTYTry
}
