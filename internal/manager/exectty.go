package manager

import (
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/flint-init/flint/unit"
)

// The terminal settings of systemd.exec(5): TTYVHangup=, TTYReset= and TTYVTDisallocate= act
// on the unit's terminal (TTYPath=, else /dev/console) before each of its processes starts,
// as systemd's exec_context_tty_reset; TTYRows=/TTYColumns= size the terminal given as
// StandardInput=tty. Failures are ignored, as in systemd. flint does this in the manager
// before the fork; the terminal is opened O_NONBLOCK, so a serial line without carrier
// never blocks the loop.

// Linux console ioctls (linux/kd.h, linux/vt.h).
const (
	ioKDSETMODE     = 0x4B3A
	ioKDSKBMODE     = 0x4B45
	ioVTDisallocate = 0x5608
	kdText          = 0
	kbXlate         = 1
	kbUnicode       = 3
)

func ttyPathOf(ec *unit.ExecContext) string {
	if ec.TTYPath != "" {
		return ec.TTYPath
	}
	return "/dev/console"
}

func openTTY(path string) (int, error) {
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	for err == unix.EINTR || err == unix.EIO { // EIO: a terminal being closed, as open_terminal retries
		fd, err = unix.Open(path, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
		if err == unix.EIO {
			break
		}
	}
	return fd, err
}

// ttyReset is exec_context_tty_reset for a process of ec.
func ttyReset(ec *unit.ExecContext) {
	if !ec.TTYVHangup && !ec.TTYReset && !ec.TTYVTDisallocate {
		return
	}
	path := ttyPathOf(ec)
	if ec.TTYVHangup {
		if fd, err := openTTY(path); err == nil {
			unix.IoctlSetInt(fd, unix.TIOCVHANGUP, 0)
			unix.Close(fd)
		}
	}
	if ec.TTYReset {
		if fd, err := openTTY(path); err == nil {
			resetTerminal(fd)
			unix.Close(fd)
		}
	}
	if ec.TTYVTDisallocate {
		vtDisallocate(path)
	}
}

// resetTerminal sets a terminal to sane defaults, as systemd's reset_terminal_fd: no
// exclusive mode, text mode, the default keyboard mode, and the line discipline settings that
// matter to software (the hardware's are left).
func resetTerminal(fd int) {
	if _, err := unix.IoctlGetTermios(fd, unix.TCGETS); err != nil {
		return // not a terminal
	}
	unix.IoctlSetInt(fd, unix.TIOCNXCL, 0)
	unix.IoctlSetInt(fd, ioKDSETMODE, kdText)
	kb := kbUnicode
	if b, err := os.ReadFile("/sys/module/vt/parameters/default_utf8"); err == nil && strings.TrimSpace(string(b)) == "0" {
		kb = kbXlate
	}
	unix.IoctlSetInt(fd, ioKDSKBMODE, kb)
	if t, err := unix.IoctlGetTermios(fd, unix.TCGETS); err == nil {
		t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.IUCLC
		t.Iflag |= unix.ICRNL | unix.IMAXBEL | unix.IUTF8
		t.Oflag |= unix.ONLCR | unix.OPOST
		t.Cflag |= unix.CREAD
		t.Lflag = unix.ISIG | unix.ICANON | unix.IEXTEN | unix.ECHO | unix.ECHOE | unix.ECHOK | unix.ECHOCTL | unix.ECHOKE
		cc := map[int]uint8{unix.VINTR: 0o3, unix.VQUIT: 0o34, unix.VERASE: 0o177, unix.VKILL: 0o25, unix.VEOF: 0o4,
			unix.VSTART: 0o21, unix.VSTOP: 0o23, unix.VSUSP: 0o32, unix.VLNEXT: 0o26, unix.VWERASE: 0o27,
			unix.VREPRINT: 0o22, unix.VEOL: 0, unix.VEOL2: 0, unix.VTIME: 0, unix.VMIN: 1}
		for i, v := range cc {
			t.Cc[i] = v
		}
		unix.IoctlSetTermios(fd, unix.TCSETS, t)
	}
	unix.IoctlSetInt(fd, unix.TCFLSH, unix.TCIOFLUSH)
}

// vtDisallocate is systemd's vt_disallocate: a virtual console (/dev/ttyN) is deallocated;
// one that cannot be (the active one), or another terminal, is cleared with its scrollback.
func vtDisallocate(path string) {
	name, ok := strings.CutPrefix(path, "/dev/")
	if !ok {
		return
	}
	if n, isVC := strings.CutPrefix(name, "tty"); isVC {
		if u, err := strconv.ParseUint(n, 10, 31); err == nil {
			if u == 0 {
				return
			}
			fd, err := openTTY("/dev/tty0")
			if err != nil {
				return
			}
			err = unix.IoctlSetInt(fd, ioVTDisallocate, int(u))
			unix.Close(fd)
			if err == nil || err != unix.EBUSY {
				return
			}
		}
	}
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return
	}
	defer unix.Close(fd)
	// Clear the scrolling region, go home, clear the screen and its scrollback.
	unix.Write(fd, []byte("\033[r\033[H\033[3J"))
}

// ttySize applies TTYRows=/TTYColumns= to the terminal f (terminal_set_size_fd): an unset
// one keeps the terminal's.
func ttySize(f *os.File, ec *unit.ExecContext) {
	if ec.TTYRows == nil && ec.TTYColumns == nil {
		return
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return
	}
	rc.Control(func(fd uintptr) {
		ws, err := unix.IoctlGetWinsize(int(fd), unix.TIOCGWINSZ)
		if err != nil {
			return
		}
		rows, cols := ws.Row, ws.Col
		if ec.TTYRows != nil {
			rows = uint16(min(*ec.TTYRows, 0xffff))
		}
		if ec.TTYColumns != nil {
			cols = uint16(min(*ec.TTYColumns, 0xffff))
		}
		if rows == ws.Row && cols == ws.Col {
			return
		}
		ws.Row, ws.Col = rows, cols
		unix.IoctlSetWinsize(int(fd), unix.TIOCSWINSZ, ws)
	})
}
