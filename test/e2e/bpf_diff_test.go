package e2e

import (
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/flint-init/flint/internal/difftest"
)

// bpfDiffUnits have the cgroup BPF settings whose show and status lines flint and systemd
// 252 must word alike. Lists with more than one address or interface are left out: systemd
// keeps them in a hash set, whose order changes from one boot to the next.
var bpfDiffUnits = map[string]string{
	"ip.service": unitFile("Unit", "DefaultDependencies=no", "Service", "ExecStart=/bin/sleep 1000\n"+
		"IPAddressDeny=10.0.0.0/8\nIPAddressAllow=10.1.2.3/16\nIPAccounting=yes\nRestrictNetworkInterfaces=~eth7"),
	"bind.service": unitFile("Unit", "DefaultDependencies=no", "Service", "ExecStart=/bin/sleep 1000\n"+
		"SocketBindAllow=ipv6:tcp:8080-8090\nSocketBindAllow=udp:53\nSocketBindAllow=ipv4:any\nSocketBindAllow=tcp:any\n"+
		"SocketBindDeny=any\nSocketBindDeny=ipv6:9000"),
	"dev.service": unitFile("Unit", "DefaultDependencies=no", "Service", "ExecStart=/bin/sleep 1000\n"+
		"DevicePolicy=strict\nDeviceAllow=/dev/null\nDeviceAllow=char-pts rw\nDeviceAllow=/dev/zero r\nProtectClock=yes"),
	"priv.service": unitFile("Unit", "DefaultDependencies=no", "Service", "ExecStart=/bin/sleep 1000\nPrivateDevices=yes\nRestrictNetworkInterfaces=lo"),
	// A slice's own programs (all but the IP lists, which merge into its units').
	"bpfsl.slice": "[Slice]\nIPAccounting=yes\nDevicePolicy=closed\nDeviceAllow=/dev/zero r\n" +
		"SocketBindDeny=ipv6:tcp:9000\nRestrictNetworkInterfaces=lo\nIPAddressDeny=10.0.0.0/8\n",
	"insl.service": unitFile("Unit", "DefaultDependencies=no", "Service", "ExecStart=/bin/sleep 1000\nSlice=bpfsl.slice"),
	"reset.service": unitFile("Unit", "DefaultDependencies=no", "Service", "ExecStart=/bin/sleep 1000\n"+
		"IPAddressDeny=any\nIPAddressDeny=\nDeviceAllow=/dev/null\nDeviceAllow=\nSocketBindDeny=any\nSocketBindDeny=\n"+
		"RestrictNetworkInterfaces=lo\nRestrictNetworkInterfaces="),
}

func TestBPFShowMatchSystemctl(t *testing.T) {
	needCgroupBPF(t)
	units := writeUnits(t, bpfDiffUnits)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	sd, err := difftest.Boot(ctx, filepath.Dir(units), units+":")
	if err != nil {
		t.Fatalf("boot systemd: %v", err)
	}
	defer sd.Stop()
	m, _ := cgroupManager(t, units)
	systemctl := func(args ...string) string {
		out, errb, _ := sd.SystemctlOutput(ctx, args...)
		return string(out) + string(errb)
	}
	props := "-p IPAddressAllow,IPAddressDeny,IPAccounting,IPIngressBytes,IPIngressPackets,IPEgressBytes,IPEgressPackets," +
		"SocketBindAllow,SocketBindDeny,DeviceAllow,DevicePolicy,RestrictNetworkInterfaces"
	for _, u := range []string{"ip", "bind", "dev", "priv", "reset"} {
		args := append([]string{"show", u + ".service"}, strings.Fields(props)...)
		if want, got := systemctl(args...), flintOut(m, args...); want != got {
			t.Errorf("show %s:\nsystemctl:\n%s\nflint:\n%s", u, want, got)
		}
		// And a full show: the same lines of these properties, in the same places.
		if want, got := bpfLines(systemctl("show", u+".service")), bpfLines(flintOut(m, "show", u+".service")); want != got {
			t.Errorf("full show %s:\nsystemctl:\n%s\nflint:\n%s", u, want, got)
		}
	}
	args := append([]string{"show", "bpfsl.slice"}, strings.Fields(props)...)
	if want, got := systemctl(args...), flintOut(m, args...); want != got {
		t.Errorf("show bpfsl.slice:\nsystemctl:\n%s\nflint:\n%s", want, got)
	}
	if want, got := bpfLines(systemctl("show", "bpfsl.slice")), bpfLines(flintOut(m, "show", "bpfsl.slice")); want != got {
		t.Errorf("full show bpfsl.slice:\nsystemctl:\n%s\nflint:\n%s", want, got)
	}
	// A unit in the slice started: the slice's programs attached, its counters shown.
	systemctl("start", "insl.service")
	if out, code := m.flint("start", "insl.service"); code != 0 {
		t.Fatalf("flint start insl.service: exit %d: %s", code, out)
	}
	args = []string{"show", "bpfsl.slice", "-p", "ActiveState,IPAccounting,IPIngressBytes,IPIngressPackets,IPEgressBytes,IPEgressPackets"}
	if want, got := systemctl(args...), flintOut(m, args...); want != got {
		t.Errorf("show of the started slice:\nsystemctl:\n%s\nflint:\n%s", want, got)
	}
	ipLine := regexp.MustCompile(`(?m)^ +IP: .*$`)
	if want, got := ipLine.FindString(systemctl("status", "bpfsl.slice", "-n", "0")), ipLine.FindString(flintOut(m, "status", "bpfsl.slice", "-n", "0")); want != got {
		t.Errorf("status bpfsl.slice IP: line: systemctl %q, flint %q", want, got)
	}
	// Started: the accounting counts (nothing sent yet) and status's IP: line.
	systemctl("start", "ip.service")
	if _, code := m.flint("start", "ip.service"); code != 0 {
		t.Fatalf("flint start ip.service: exit %d", code)
	}
	want := ipLine.FindString(systemctl("status", "ip.service", "-n", "0"))
	got := ipLine.FindString(flintOut(m, "status", "ip.service", "-n", "0"))
	if want == "" || want != got {
		t.Errorf("status IP: line: systemctl %q, flint %q", want, got)
	}
	args = []string{"show", "ip.service", "-p", "IPIngressBytes,IPIngressPackets,IPEgressBytes,IPEgressPackets"}
	if want, got := systemctl(args...), flintOut(m, args...); want != got {
		t.Errorf("show of a started unit:\nsystemctl:\n%s\nflint:\n%s", want, got)
	}
}

func flintOut(m *manager, args ...string) string {
	out, _ := m.flint(args...)
	return out
}

// bpfLines keeps the lines of a full show that name a cgroup BPF property, with the name of
// the property before each (where it stands).
func bpfLines(show string) string {
	re := regexp.MustCompile(`^(IPAddress|IPAccounting|SocketBind|DeviceAllow|DevicePolicy|RestrictNetworkInterfaces)`)
	var out []string
	lines := strings.Split(show, "\n")
	for i, l := range lines {
		if re.MatchString(l) && i > 0 {
			before, _, _ := strings.Cut(lines[i-1], "=")
			out = append(out, before+"= before "+l)
		}
	}
	return strings.Join(out, "\n")
}
