package manager

import (
	"fmt"
	"os"
	"os/user"
	"slices"
	"strconv"
	"strings"

	"github.com/flint-init/flint/internal/spawn"
	"github.com/flint-init/flint/unit"
)

// creds are what User=, Group= and SupplementaryGroups= resolve to (resolveCreds).
//
// The supplementary groups follow systemd 252's exec_child: for a User= whose gid (the
// user's, or Group=) is not 0, initgroups(user, gid) sets that gid and every group of
// /etc/group that lists the user, early and for every command whatever its prefix (a '+'
// command runs as root, with the user's groups). SupplementaryGroups= adds its groups to
// those (or, without them, alone) for the commands that change user. Without either the
// supplementary groups stay the manager's: Group= alone, or User=root, changes none.
type creds struct {
	uid, gid uint32
	// initGroups are initgroups' groups (nil: User= is not set or its gid is 0).
	initGroups []uint32
	// groups are the supplementary groups of a command that changes user; setGroups says
	// whether there are any to set.
	groups    []uint32
	setGroups bool
	home      string
	name      string
	shell     string
	dynamic   bool // a dynamic user (DynamicUser=): no HOME= nor SHELL=
}

// resolveCreds resolves User=/Group=/SupplementaryGroups= (nil when nothing to change).
func resolveCreds(ec *unit.ExecContext) (*creds, error) {
	if ec.User == "" && ec.Group == "" && len(ec.SupplementaryGroups) == 0 {
		return nil, nil
	}
	c := &creds{uid: uint32(os.Getuid()), gid: uint32(os.Getgid())}
	if ec.User != "" {
		var u *user.User
		var err error
		if _, nerr := strconv.Atoi(ec.User); nerr == nil {
			u, err = user.LookupId(ec.User)
			if err != nil {
				n, _ := strconv.Atoi(ec.User)
				c.uid, c.gid, c.name, c.home, c.shell = uint32(n), uint32(n), ec.User, "/", "/usr/sbin/nologin"
				u = nil
				err = nil
			}
		} else {
			u, err = user.Lookup(ec.User)
		}
		if err != nil {
			return nil, &spawn.ExecError{Status: 217, Step: "USER", Err: fmt.Errorf("user %s: %w", ec.User, err)}
		}
		if u != nil {
			uid, _ := strconv.Atoi(u.Uid)
			gid, _ := strconv.Atoi(u.Gid)
			c.uid, c.gid, c.name, c.home = uint32(uid), uint32(gid), u.Username, u.HomeDir
			c.shell = lookupShell(u.Username)
		}
	}
	if ec.Group != "" {
		gid, err := lookupGroup(ec.Group)
		if err != nil {
			return nil, &spawn.ExecError{Status: 216, Step: "GROUP", Err: err}
		}
		c.gid = gid
	}
	if ec.User != "" && c.gid != 0 {
		c.initGroups = appendNew([]uint32{c.gid}, memberGroups(c.name)...)
		c.groups, c.setGroups = c.initGroups, true
	}
	if len(ec.SupplementaryGroups) > 0 {
		groups := slices.Clone(c.initGroups)
		for _, g := range ec.SupplementaryGroups {
			gid, err := lookupGroup(g)
			if err != nil {
				return nil, &spawn.ExecError{Status: 216, Step: "GROUP", Err: err}
			}
			groups = append(groups, gid)
		}
		c.groups, c.setGroups = groups, true
	}
	return c, nil
}

// appendNew appends the gids of add that are not in gids yet.
func appendNew(gids []uint32, add ...uint32) []uint32 {
	for _, g := range add {
		if !slices.Contains(gids, g) {
			gids = append(gids, g)
		}
	}
	return gids
}

// memberGroups are the gids of the groups of /etc/group whose member list names user.
func memberGroups(name string) []uint32 {
	data, err := os.ReadFile("/etc/group")
	if err != nil {
		return nil
	}
	var gids []uint32
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Split(line, ":")
		if len(f) < 4 || !slices.Contains(strings.Split(f[3], ","), name) {
			continue
		}
		if n, err := strconv.ParseUint(f[2], 10, 32); err == nil {
			gids = append(gids, uint32(n))
		}
	}
	return gids
}

func lookupGroup(g string) (uint32, error) {
	if n, err := strconv.Atoi(g); err == nil {
		return uint32(n), nil
	}
	gr, err := user.LookupGroup(g)
	if err != nil {
		return 0, fmt.Errorf("group %s: %w", g, err)
	}
	n, _ := strconv.Atoi(gr.Gid)
	return uint32(n), nil
}

func lookupShell(name string) string {
	data, err := os.ReadFile("/etc/passwd")
	if err != nil {
		return "/bin/sh"
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Split(line, ":")
		if len(f) >= 7 && f[0] == name {
			return f[6]
		}
	}
	return "/bin/sh"
}
