package notify

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// FuzzParse feeds parse a datagram with control data built from the input: sender
// credentials (or none), up to three real descriptors, the receive flags, and raw bytes
// appended to the control data (inputs whose raw bytes would name descriptors this test does
// not own are skipped: parse closes what it drops). It checks that parse keeps or closes every
// descriptor, keeps only what systemd keeps, and that its fields survive being written out
// again (escaped as systemd reads them) and read back.
func FuzzParse(f *testing.F) {
	f.Add([]byte("READY=1\nSTATUS=ok"), int32(42), uint32(0), true, uint8(0), uint8(0), []byte(nil))
	f.Add([]byte("FDSTORE=1\nFDNAME=a"), int32(7), uint32(65534), true, uint8(2), uint8(0), []byte(nil))
	f.Add([]byte("MAINPID=1\r\nREADY=1\x00"), int32(1), uint32(1), true, uint8(1), uint8(1), []byte{1, 2, 3})
	f.Add([]byte(`STATUS=a\\b\`), int32(-1), uint32(0), false, uint8(3), uint8(2), []byte(nil))
	f.Add([]byte("X=\x00Y=1"), int32(9), uint32(9), true, uint8(0), uint8(0), []byte(nil))
	f.Fuzz(func(t *testing.T, data []byte, pid int32, uid uint32, withCred bool, nfds, flagBits uint8, raw []byte) {
		var own []int
		for i := 0; i < int(nfds%4); i++ {
			fd, err := unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0)
			if err != nil {
				t.Fatal(err)
			}
			own = append(own, fd)
		}
		var oob []byte
		if len(own) > 0 {
			oob = append(oob, unix.UnixRights(own...)...)
		}
		if withCred {
			oob = append(oob, unix.UnixCredentials(&unix.Ucred{Pid: pid, Uid: uid, Gid: uid})...)
		}
		oob = append(oob, raw...)
		wellFormed, mine := controlRights(oob, own)
		if !mine {
			closeAll(own)
			return
		}
		flags := 0
		if flagBits&1 != 0 {
			flags |= unix.MSG_TRUNC
		}
		if flagBits&2 != 0 {
			flags |= unix.MSG_CTRUNC
		}
		m, ok := parse(data, oob, flags)
		if !ok && !wellFormed {
			// Control data the kernel never writes: parse looks at none of it.
			closeAll(own)
			return
		}
		if !ok {
			for _, fd := range own {
				if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != unix.EBADF {
					t.Errorf("dropped message: fd %d left open", fd)
					unix.Close(fd)
				}
			}
			return
		}
		defer m.CloseFiles()
		if m.PID <= 0 || flags != 0 || len(data) > MaxMessage {
			t.Fatalf("accepted pid %d, flags %#x, %d bytes", m.PID, flags, len(data))
		}
		if len(m.Files) != len(own) {
			t.Fatalf("%d descriptors sent, %d received", len(own), len(m.Files))
		}
		for i, f := range m.Files {
			if int(f.Fd()) != own[i] {
				t.Fatalf("descriptor %d is %d, sent %d", i, f.Fd(), own[i])
			}
		}
		if i := bytes.IndexByte(data, 0); i >= 0 && i != len(data)-1 {
			t.Fatalf("accepted a message with an embedded NUL: %q", data)
		}
		for _, fl := range m.Fields {
			if fl.Key == "" || strings.ContainsAny(fl.Key, "=\x00") || strings.ContainsRune(fl.Value, 0) {
				t.Fatalf("bad field %q=%q from %q", fl.Key, fl.Value, data)
			}
		}
		// Without escapes or carriage returns a message is plain lines (what sd_notify sends).
		if !bytes.ContainsAny(data, "\\\r") {
			var want []Field
			for _, line := range strings.Split(strings.TrimSuffix(string(data), "\x00"), "\n") {
				if k, v, found := strings.Cut(line, "="); found && k != "" {
					want = append(want, Field{k, v})
				}
			}
			if !reflect.DeepEqual(m.Fields, want) {
				t.Fatalf("plain message %q: fields %q, want %q", data, m.Fields, want)
			}
		}
		// The fields, escaped and joined, read back the same.
		var enc strings.Builder
		for _, fl := range m.Fields {
			enc.WriteString(escapeField(fl.Key + "=" + fl.Value))
			enc.WriteByte('\n')
		}
		again, ok := parseFields([]byte(enc.String()))
		if !ok || !reflect.DeepEqual(again, m.Fields) {
			t.Fatalf("fields %q written as %q read back as %q (%v)", m.Fields, enc.String(), again, ok)
		}
	})
}

// escapeField writes a line so that parseFields reads it back: backslash before '\\', '\n'
// and '\r'.
func escapeField(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '\\' || c == '\n' || c == '\r' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// controlRights reports whether oob is well-formed control data and whether every
// SCM_RIGHTS descriptor in it is one of own, in order, so that parse, which closes the
// descriptors of what it drops, closes nothing else.
func controlRights(oob []byte, own []int) (wellFormed, mine bool) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return false, true // parse drops the message without looking at any descriptor
	}
	n := 0
	for _, c := range msgs {
		if c.Header.Level != unix.SOL_SOCKET || c.Header.Type != unix.SCM_RIGHTS {
			continue
		}
		fds, err := unix.ParseUnixRights(&c)
		if err != nil {
			continue
		}
		for _, fd := range fds {
			if n >= len(own) || fd != own[n] {
				return true, false
			}
			n++
		}
	}
	return true, true
}

func closeAll(fds []int) {
	for _, fd := range fds {
		unix.Close(fd)
	}
}
