package sdbus

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// maxAuthLines bounds the SASL exchange: a client that talks longer without BEGIN is dropped.
const maxAuthLines = 16

// newGUID is the server's GUID of the SASL OK line (32 hex digits).
func newGUID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// authenticate runs the server side of the D-Bus SASL exchange on a fresh connection: a NUL
// byte, then AUTH EXTERNAL with the client's uid (hex of its decimal digits, or given after a
// DATA challenge), optional NEGOTIATE_UNIX_FD, then BEGIN. EXTERNAL is the only mechanism: the
// uid the client claims must be the one the kernel reports (uid). It returns nil at BEGIN; r
// then holds the first bytes of the binary protocol.
func authenticate(r *bufio.Reader, w io.Writer, uid int, guid string) error {
	nul, err := r.ReadByte()
	if err != nil {
		return err
	}
	if nul != 0 {
		return errors.New("auth: no leading NUL byte")
	}
	send := func(s string) error {
		_, err := io.WriteString(w, s+"\r\n")
		return err
	}
	ok := false       // OK sent
	waitData := false // DATA sent: the client's identity comes next
	check := func(data string) error {
		if data != "" {
			raw, err := hex.DecodeString(data)
			if err != nil {
				return send("REJECTED EXTERNAL")
			}
			claimed, err := strconv.Atoi(string(raw))
			if err != nil || claimed != uid {
				return send("REJECTED EXTERNAL")
			}
		}
		ok = true
		return send("OK " + guid)
	}
	for range maxAuthLines {
		line, err := r.ReadString('\n')
		if err != nil {
			return err
		}
		line = strings.TrimRight(line, "\r\n")
		cmd, arg, _ := strings.Cut(line, " ")
		switch {
		case cmd == "AUTH" && !ok:
			mech, data, _ := strings.Cut(arg, " ")
			switch {
			case mech != "EXTERNAL":
				err = send("REJECTED EXTERNAL")
			case data == "":
				waitData = true
				err = send("DATA")
			default:
				err = check(data)
			}
		case cmd == "DATA" && waitData && !ok:
			waitData = false
			err = check(arg)
		case cmd == "CANCEL" || cmd == "ERROR":
			waitData = false
			err = send("REJECTED EXTERNAL")
		case cmd == "NEGOTIATE_UNIX_FD" && ok:
			err = send("AGREE_UNIX_FD")
		case cmd == "BEGIN" && ok:
			return nil
		default:
			err = send("ERROR")
		}
		if err != nil {
			return err
		}
	}
	return fmt.Errorf("auth: no BEGIN after %d lines", maxAuthLines)
}
