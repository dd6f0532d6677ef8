package e2e

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestCgroupIOAccounting: a service with IOAccounting=yes that writes and reads 4 MiB with
// direct IO (past the page cache, so that its group is charged) shows them in
// IOReadBytes=/IOWriteBytes= and the operations, and status has systemctl's IO: line.
func TestCgroupIOAccounting(t *testing.T) {
	dir := t.TempDir()
	data, done := filepath.Join(dir, "data"), filepath.Join(dir, "done")
	units := writeUnits(t, map[string]string{
		"io.service": unitFile("Service", "ExecStart=/bin/sh -c 'dd if=/dev/zero of="+data+" bs=64k count=64 oflag=direct 2>/dev/null && "+
			"dd if="+data+" of=/dev/null bs=64k iflag=direct 2>/dev/null && echo ok >"+done+"; exec sleep 1000'\nIOAccounting=yes\n"+
			// A limit far above the device's speed: Linux 6 counts v1's blkio.throttle
			// statistics only while throttling is active on the device.
			"IOReadBandwidthMax="+dir+" 100G\nIOWriteBandwidthMax="+dir+" 100G"),
		"noacct.service": unitFile("Service", "ExecStart=/bin/sleep 1000"),
	})
	m, _ := cgroupManager(t, units)
	c := on(t, m)
	c.start("io.service")
	c.start("noacct.service")
	readWait(t, done)
	p := c.props("io.service", "IOReadBytes", "IOWriteBytes", "IOReadOperations", "IOWriteOperations")
	for name, least := range map[string]uint64{"IOReadBytes": 4 << 20, "IOWriteBytes": 4 << 20, "IOReadOperations": 64, "IOWriteOperations": 64} {
		n, err := strconv.ParseUint(p[name], 10, 64)
		if err != nil || n < least || n == 1<<64-1 {
			t.Errorf("%s=%s, want at least %d", name, p[name], least)
		}
	}
	st, _ := c.flint("status", "io.service")
	if !strings.Contains(st, "\n         IO: ") || !strings.Contains(st, " read, ") || !strings.Contains(st, " written\n") {
		t.Errorf("status lacks the IO: line:\n%s", st)
	}
	if got := c.prop("noacct.service", "IOReadBytes"); got != "18446744073709551615" {
		t.Errorf("IOReadBytes=%s without IOAccounting=", got)
	}
	if st, _ := c.flint("status", "noacct.service"); strings.Contains(st, " IO: ") {
		t.Errorf("IO: line without IOAccounting=:\n%s", st)
	}
}
