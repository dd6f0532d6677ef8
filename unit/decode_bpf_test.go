package unit

import (
	"net/netip"
	"reflect"
	"testing"
)

func TestDecodeBPF(t *testing.T) {
	pfx := func(ss ...string) []netip.Prefix {
		var out []netip.Prefix
		for _, s := range ss {
			out = append(out, netip.MustParsePrefix(s))
		}
		return out
	}
	for _, tc := range []struct {
		name, lines string
		want        BPFContext
		warnings    int
	}{
		{"symbolic names", "IPAddressDeny=any\nIPAddressAllow=localhost link-local multicast\n", BPFContext{
			IPAddressDeny:  pfx("0.0.0.0/0", "::/0"),
			IPAddressAllow: pfx("127.0.0.0/8", "::1/128", "169.254.0.0/16", "fe80::/64", "224.0.0.0/4", "ff00::/8"),
		}, 0},
		{"addresses and prefixes, masked", "IPAddressAllow=10.1.2.3/8 192.168.1.1 ::1 2001:db8::5/32\n", BPFContext{
			IPAddressAllow: pfx("10.0.0.0/8", "192.168.1.1/32", "::1/128", "2001:db8::/32"),
		}, 0},
		{"bad word skipped, others kept", "IPAddressDeny=10.0.0.0/8 bogus 11.0.0.0/8\n", BPFContext{
			IPAddressDeny: pfx("10.0.0.0/8", "11.0.0.0/8"),
		}, 1},
		{"empty resets", "IPAddressDeny=any\nIPAddressDeny=\nIPAddressDeny=10.0.0.1\n", BPFContext{
			IPAddressDeny: pfx("10.0.0.1/32"),
		}, 0},
		{"accounting", "IPAccounting=yes\n", BPFContext{IPAccounting: true}, 0},
		{"bind rules", "SocketBindAllow=ipv6:tcp:8080-8090\nSocketBindAllow=udp:53\nSocketBindAllow=ipv4:any\nSocketBindDeny=any\n", BPFContext{
			SocketBindAllow: []SocketBindRule{{"ipv6", "tcp", 8080, 8090}, {"", "udp", 53, 53}, {"ipv4", "", 0, 0}},
			SocketBindDeny:  []SocketBindRule{{}},
		}, 0},
		{"bad bind rules", "SocketBindDeny=ipv5:80\nSocketBindDeny=0\nSocketBindDeny=90-80\nSocketBindDeny=tcp:ipv4:80\n", BPFContext{}, 4},
		{"device policy and list", "DevicePolicy=closed\nDeviceAllow=/dev/sda r\nDeviceAllow=char-pts\nDeviceAllow=/dev/x rwz\nDeviceAllow=sda\n", BPFContext{
			DevicePolicy: "closed",
			DeviceAllow:  []DeviceAllow{{"/dev/sda", "r"}, {"char-pts", "rwm"}},
		}, 2},
		{"device policy auto is empty", "DevicePolicy=strict\nDevicePolicy=auto\n", BPFContext{}, 0},
		{"interfaces allow list", "RestrictNetworkInterfaces=lo eth0\nRestrictNetworkInterfaces=~eth0\n", BPFContext{
			RestrictNetworkInterfaces: []string{"lo"}, RestrictNetworkInterfacesAllow: true,
		}, 0},
		{"interfaces reset keeps the kind", "RestrictNetworkInterfaces=lo\nRestrictNetworkInterfaces=\n", BPFContext{
			RestrictNetworkInterfacesAllow: true,
		}, 0},
		{"interfaces deny list", "RestrictNetworkInterfaces=~eth0\nRestrictNetworkInterfaces=eth1\nRestrictNetworkInterfaces=~wlan0\n", BPFContext{
			RestrictNetworkInterfaces: []string{"eth0", "wlan0"},
		}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u, diags := decodeText(t, "foo.service", "[Service]\nExecStart=/bin/true\n"+tc.lines)
			got := u.Service.Exec.BPF
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v\nwant %+v\ndiags %v", got, tc.want, msgs(diags))
			}
			if len(diags) != tc.warnings {
				t.Errorf("%d diagnostics, want %d: %v", len(diags), tc.warnings, msgs(diags))
			}
			if len(u.Service.Exec.NotEnforced) != 0 {
				t.Errorf("listed as not enforced: %v", u.Service.Exec.NotEnforced)
			}
		})
	}
}

func FuzzParseSocketBindRule(f *testing.F) {
	for _, s := range []string{"any", "ipv4:tcp:80", "udp:53-54", "ipv6:any", "tcp:ipv4:1", "0", "65536", "1-"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, ok := ParseSocketBindRule(s)
		if !ok {
			return
		}
		if r.PortMin > r.PortMax || r.PortMin == 0 && r.PortMax != 0 {
			t.Errorf("%q: ports %d-%d", s, r.PortMin, r.PortMax)
		}
		if (r.Family != "" && r.Family != "ipv4" && r.Family != "ipv6") || (r.Protocol != "" && r.Protocol != "tcp" && r.Protocol != "udp") {
			t.Errorf("%q: %+v", s, r)
		}
	})
}

func FuzzParseIPPrefix(f *testing.F) {
	for _, s := range []string{"any", "localhost", "10.0.0.1", "10.1.2.3/8", "::1", "fe80::1%eth0", "1.2.3.4/33"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ps, ok := ParseIPPrefix(s)
		if !ok {
			return
		}
		for _, p := range ps {
			if !p.IsValid() || p != p.Masked() || p.Addr().Zone() != "" {
				t.Errorf("%q: %v", s, p)
			}
		}
	})
}
