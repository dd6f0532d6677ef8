//go:build difftest

package unit

import (
	"bufio"
	"bytes"
	"os/exec"
	"strings"
	"testing"
)

// TestDirectivesMatchSystemd compares the directive table with the one compiled into the
// installed systemd (systemd --dump-configuration-items): every [Unit], [Service],
// [Socket] and [Install] directive systemd knows must be in the table, and the table may
// only add the options systemd keeps just to say they were removed.
func TestDirectivesMatchSystemd(t *testing.T) {
	out, err := exec.Command("/lib/systemd/systemd", "--dump-configuration-items").Output()
	if err != nil || len(out) == 0 {
		t.Skip("systemd not installed")
	}
	theirs := map[string]bool{}
	section := ""
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "[") {
			section = strings.Trim(line, "[]")
			continue
		}
		name, _, ok := strings.Cut(line, "=")
		if !ok || sectionOrder[section] == 0 && section != "Unit" {
			continue
		}
		theirs[section+"."+name] = true
	}
	ours := map[string]bool{}
	for _, d := range Directives() {
		ours[d.Section+"."+d.Name] = true
	}
	for k := range theirs {
		if !ours[k] {
			t.Errorf("systemd knows %s, flint does not", k)
		}
	}
	legacy := map[string]bool{"Unit.IgnoreOnSnapshot": true, "Service.SysVStartPriority": true,
		"Service.Capabilities": true, "Socket.Capabilities": true}
	for k := range ours {
		if !theirs[k] && !legacy[k] {
			t.Errorf("flint knows %s, systemd 252 does not", k)
		}
	}
}
