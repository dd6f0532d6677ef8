package bpf

import (
	"bufio"
	"fmt"
	"os"
	"path"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// From DeviceAllow= entries to device rules, as systemd 252 resolves them when it applies
// them: a device node's type and numbers from stat(2), "char-NAME" and "block-NAME" as every
// major of /proc/devices whose driver name matches NAME (a glob).

// StaticDevices are the entries DevicePolicy=closed allows besides DeviceAllow= (and "auto"
// with a DeviceAllow= list): the pseudo devices every program expects, and the nodes
// InaccessiblePaths= maps, plus read and write of the pseudo terminals (char-pts rw).
var StaticDevices = [][2]string{
	{"/dev/null", "rwm"}, {"/dev/zero", "rwm"}, {"/dev/full", "rwm"}, {"/dev/random", "rwm"},
	{"/dev/urandom", "rwm"}, {"/dev/tty", "rwm"}, {"/dev/ptmx", "rwm"},
	{"/run/systemd/inaccessible/chr", "rwm"}, {"/run/systemd/inaccessible/blk", "rwm"},
	{"char-pts", "rw"},
}

// Access is the access bits of a DeviceAllow= access string ("rwm" or a part of it).
func Access(s string) int {
	a := 0
	for _, c := range s {
		switch c {
		case 'r':
			a |= DevRead
		case 'w':
			a |= DevWrite
		case 'm':
			a |= DevMknod
		}
	}
	return a
}

// ResolveDevice turns one DeviceAllow= entry into rules. An entry that names no device (a
// missing node, a driver not loaded) gives none and an error saying so, which the caller
// logs, as systemd does, and goes on.
func ResolveDevice(p, access string) ([]DeviceRule, error) {
	acc := Access(access)
	for _, k := range []struct {
		prefix, section string
		typ             int
	}{{"char-", "Character devices:", DevChar}, {"block-", "Block devices:", DevBlock}} {
		name, ok := strings.CutPrefix(p, k.prefix)
		if !ok {
			continue
		}
		majors, err := driverMajors("/proc/devices", k.section, name)
		if err != nil {
			return nil, err
		}
		if len(majors) == 0 {
			return nil, fmt.Errorf("no %sdevice driver matches %q", k.prefix, name)
		}
		var out []DeviceRule
		for _, mj := range majors {
			out = append(out, DeviceRule{Type: k.typ, Major: mj, AnyMinor: true, Access: acc})
		}
		return out, nil
	}
	var st unix.Stat_t
	if err := unix.Stat(p, &st); err != nil {
		return nil, fmt.Errorf("couldn't stat device %s: %w", p, err)
	}
	r := DeviceRule{Major: unix.Major(st.Rdev), Minor: unix.Minor(st.Rdev), Access: acc}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFCHR:
		r.Type = DevChar
	case unix.S_IFBLK:
		r.Type = DevBlock
	default:
		return nil, fmt.Errorf("%s is not a device", p)
	}
	return []DeviceRule{r}, nil
}

// driverMajors lists the majors of file's section whose driver name matches the glob pat.
func driverMajors(file, section, pat string) ([]uint32, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []uint32
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasSuffix(line, ":") {
			in = line == section
			continue
		}
		num, name, ok := strings.Cut(line, " ")
		if !in || !ok {
			continue
		}
		n, err := strconv.ParseUint(num, 10, 32)
		if err != nil {
			continue
		}
		if m, _ := path.Match(pat, strings.TrimSpace(name)); m {
			out = append(out, uint32(n))
		}
	}
	return out, sc.Err()
}
