package tmpfiles

import (
	"fmt"
	"io"
	"syscall"

	"github.com/flint-init/flint/unit"
)

// Level is a syslog level, as systemd's log levels.
type Level int

// The levels systemd-tmpfiles logs at.
const (
	LevelErr     Level = 3
	LevelWarning Level = 4
	LevelNotice  Level = 5
	LevelInfo    Level = 6
	LevelDebug   Level = 7
)

// Logger receives every message, with its level.
type Logger func(level Level, msg string)

// WriterLogger prints the messages at max or more important to w, one a line, as
// systemd-tmpfiles prints them on a console.
func WriterLogger(w io.Writer, max Level) Logger {
	return func(level Level, msg string) {
		if level <= max {
			fmt.Fprintln(w, msg)
		}
	}
}

// ParseLevel reads a level as $SYSTEMD_LOG_LEVEL: a name (err, warning, notice, info, debug,
// ...) or a number.
func ParseLevel(s string) (Level, bool) {
	names := []string{"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"}
	for i, n := range names {
		if s == n {
			return Level(i), true
		}
	}
	if len(s) == 1 && s[0] >= '0' && s[0] <= '7' {
		return Level(s[0] - '0'), true
	}
	return 0, false
}

// strerror is an error in the words of glibc's strerror() ("No such file or directory").
func strerror(err error) string {
	var e syscall.Errno
	if asErrno(err, &e) {
		if e == 0 {
			return "Success"
		}
		return unit.Strerror(e)
	}
	return err.Error()
}

func asErrno(err error, e *syscall.Errno) bool {
	for err != nil {
		if x, ok := err.(syscall.Errno); ok {
			*e = x
			return true
		}
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return false
		}
		err = u.Unwrap()
	}
	return false
}

// errnoOf is the errno of err (EIO when it carries none).
func errnoOf(err error) syscall.Errno {
	var e syscall.Errno
	if asErrno(err, &e) {
		return e
	}
	return syscall.EIO
}

// LineError is a line that cannot be used.
type LineError struct {
	File string
	Line int
	Msg  string
	// Invalid: the configuration is wrong (exit status 65, EX_DATAERR); otherwise the line
	// failed for another reason (a credential that cannot be read, a path too long).
	Invalid bool
	Err     error // the errno, when there is one
}

func (e *LineError) Error() string {
	if e.File == "" {
		return e.Msg
	}
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
}

func (e *LineError) Unwrap() error { return e.Err }
