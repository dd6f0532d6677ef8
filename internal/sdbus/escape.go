package sdbus

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/godbus/dbus/v5"
)

// UnitPath is the object path of a unit: /org/freedesktop/systemd1/unit/ and the name with
// every byte but [A-Za-z0-9] written as _XX (hex), as systemd's bus_label_escape.
func UnitPath(name string) dbus.ObjectPath {
	return dbus.ObjectPath(ManagerPath + "/unit/" + escapeLabel(name))
}

// JobPath is the object path of job id.
func JobPath(id int) dbus.ObjectPath {
	return dbus.ObjectPath(fmt.Sprintf("%s/job/%d", ManagerPath, id))
}

func escapeLabel(s string) string {
	if s == "" {
		return "_"
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' && i > 0 {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "_%02x", c)
	}
	return b.String()
}

// UnescapeLabel undoes escapeLabel; ok is false for a label that escapeLabel cannot make.
func UnescapeLabel(s string) (string, bool) {
	if s == "_" {
		return "", true
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '_' {
			b.WriteByte(c)
			continue
		}
		if i+3 > len(s) {
			return "", false
		}
		x, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
		if err != nil {
			return "", false
		}
		b.WriteByte(byte(x))
		i += 2
	}
	return b.String(), true
}
