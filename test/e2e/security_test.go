package e2e

import (
	"strings"
	"testing"
)

// TestAnalyzeSecuritySummary: without a unit, flint analyze security prints the summary
// table of the services the manager has loaded, sorted, without oneshot services, with the
// same scores as the table printed for the units named.
func TestAnalyzeSecuritySummary(t *testing.T) {
	units := writeUnits(t, map[string]string{
		"sec-hard.service": unitFile("Unit", "DefaultDependencies=no", "Service",
			"ExecStart=/bin/sleep 30\nDynamicUser=yes\nPrivateNetwork=yes\nCapabilityBoundingSet=\nSystemCallFilter=@system-service\nRestrictAddressFamilies=none"),
		"sec-plain.service": unitFile("Unit", "DefaultDependencies=no", "Service", "ExecStart=/bin/sleep 30"),
		"sec-once.service":  unitFile("Unit", "DefaultDependencies=no", "Service", "Type=oneshot\nRemainAfterExit=yes\nExecStart=/bin/true"),
	})
	m := startManager(t, units)
	c := on(t, m)
	for _, u := range []string{"sec-plain.service", "sec-hard.service", "sec-once.service"} {
		c.start(u)
	}

	out, code := c.flint("analyze", "security")
	if code != 0 {
		t.Fatalf("analyze security: exit %d\n%s", code, out)
	}
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) < 3 || strings.Join(strings.Fields(lines[0]), " ") != "UNIT EXPOSURE PREDICATE HAPPY" {
		t.Fatalf("summary:\n%s", out)
	}
	var rows []string
	for _, l := range lines[1:] {
		if strings.HasPrefix(l, "sec-") {
			rows = append(rows, l)
		}
	}
	// the table for the units named ends with the same summary
	named, code := c.flint("analyze", "security", "sec-hard.service", "sec-plain.service")
	if code != 0 {
		t.Fatalf("analyze security sec-hard sec-plain: exit %d\n%s", code, named)
	}
	nl := strings.Split(strings.TrimRight(named, "\n"), "\n")
	want := nl[len(nl)-2:]
	if strings.Join(rows, "\n") != strings.Join(want, "\n") {
		t.Errorf("summary rows:\n%s\nwant (as for the units named):\n%s", strings.Join(rows, "\n"), strings.Join(want, "\n"))
	}
	if !strings.Contains(rows[0], "sec-hard.service") || strings.Contains(out, "sec-once.service") {
		t.Errorf("summary:\n%s", out)
	}
	if f := strings.Fields(rows[0]); len(f) < 3 || f[1] >= strings.Fields(rows[1])[1] {
		t.Errorf("the sandboxed service does not score better:\n%s", out)
	}
}
