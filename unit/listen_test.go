package unit

import "testing"

func TestParseListen(t *testing.T) {
	for _, tc := range []struct {
		name string
		kind ListenKind
		in   string
		want Listen
		err  bool
	}{
		{"unix", ListenStream, "/run/foo.sock", Listen{Family: FamilyUnix, Path: "/run/foo.sock", Raw: "/run/foo.sock"}, false},
		{"unix-as-written", ListenStream, "/run//foo.sock", Listen{Family: FamilyUnix, Path: "/run//foo.sock", Raw: "/run//foo.sock"}, false},
		{"abstract", ListenStream, "@foo", Listen{Family: FamilyUnix, Path: "@foo", Raw: "@foo"}, false},
		{"abstract-empty", ListenStream, "@", Listen{}, true},
		{"port", ListenStream, "8080", Listen{Family: FamilyInet6, Port: 8080, Raw: "[::]:8080"}, false},
		{"ipv4", ListenStream, "127.0.0.1:80", Listen{Family: FamilyInet, Host: "127.0.0.1", Port: 80, Raw: "127.0.0.1:80"}, false},
		{"ipv4-dev", ListenDatagram, "0.0.0.0:53%eth0", Listen{Family: FamilyInet, Host: "0.0.0.0", Port: 53, Interface: "eth0", Raw: "0.0.0.0:53"}, false},
		{"ipv6", ListenStream, "[::1]:443", Listen{Family: FamilyInet6, Host: "::1", Port: 443, Raw: "[::1]:443"}, false},
		{"ipv6-any-dev", ListenStream, "[::]:80%lo", Listen{Family: FamilyInet6, Host: "::", Port: 80, Interface: "lo", Raw: "[::]:80%lo"}, false},
		{"ipv6-zone-inside", ListenStream, "[fe80::1%eth0]:80", Listen{}, true},
		{"vsock", ListenStream, "vsock:2:1234", Listen{Family: FamilyVsock, VsockCID: 2, Port: 1234, Raw: "vsock:2:1234"}, false},
		{"vsock-any", ListenStream, "vsock::1234", Listen{Family: FamilyVsock, VsockCID: vmaddrCIDAny, Port: 1234, Raw: "vsock::1234"}, false},
		{"seqpacket-unix", ListenSequentialPacket, "/run/x", Listen{Family: FamilyUnix, Path: "/run/x", Raw: "/run/x"}, false},
		{"netlink", ListenNetlink, "kobject-uevent 1", Listen{Family: FamilyNetlink, NetlinkFamily: "kobject-uevent", NetlinkGroup: 1, Raw: "kobject-uevent 1"}, false},
		{"netlink-nogroup", ListenNetlink, "route", Listen{Family: FamilyNetlink, NetlinkFamily: "route", Raw: "route 0"}, false},
		{"fifo", ListenFIFO, "/run/fifo", Listen{Path: "/run/fifo", Raw: "/run/fifo"}, false},
		{"special", ListenSpecial, "/dev/kmsg", Listen{Path: "/dev/kmsg", Raw: "/dev/kmsg"}, false},
		{"mqueue", ListenMessageQueue, "/q", Listen{Path: "/q", Raw: "/q"}, false},
		{"usb", ListenUSBFunction, "/dev/usb-ffs/x", Listen{Path: "/dev/usb-ffs/x", Raw: "/dev/usb-ffs/x"}, false},
		{"port-zero", ListenStream, "0", Listen{}, true},
		{"port-too-big", ListenStream, "65536", Listen{}, true},
		{"ipv4-no-port", ListenStream, "127.0.0.1", Listen{}, true},
		{"bad-ipv4", ListenStream, "999.0.0.1:80", Listen{}, true},
		{"ipv6-no-brackets", ListenStream, "::1:80", Listen{}, true},
		{"ipv6-no-port", ListenStream, "[::1]", Listen{}, true},
		{"hostname", ListenStream, "localhost:80", Listen{}, true},
		{"seqpacket-inet", ListenSequentialPacket, "127.0.0.1:80", Listen{}, true},
		{"unix-too-long", ListenStream, "/" + string(make([]byte, 120)), Listen{}, true},
		{"fifo-relative", ListenFIFO, "run/fifo", Listen{}, true},
		{"netlink-bad", ListenNetlink, "nosuchfamily 1", Listen{}, true},
		{"bad-dev", ListenStream, "127.0.0.1:80%a/b", Listen{}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseListen(tc.kind, tc.in)
			if tc.err {
				if err == nil {
					t.Errorf("ParseListen(%q) = %+v, want error", tc.in, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseListen(%q): %v", tc.in, err)
			}
			tc.want.Kind = tc.kind
			if got != tc.want {
				t.Errorf("ParseListen(%q) =\n %+v\nwant\n %+v", tc.in, got, tc.want)
			}
		})
	}
}

func FuzzParseListen(f *testing.F) {
	for _, s := range []string{"/run/a", "@x", "80", "1.2.3.4:5", "[::1]:80%lo", "vsock:1:2", "route 1", "[::", "1.2.3.4:"} {
		f.Add(s)
	}
	kinds := []ListenKind{ListenStream, ListenDatagram, ListenSequentialPacket, ListenFIFO, ListenSpecial, ListenNetlink, ListenMessageQueue, ListenUSBFunction}
	f.Fuzz(func(t *testing.T, s string) {
		for _, k := range kinds {
			l, err := ParseListen(k, s)
			if err == nil && l.Raw == "" {
				t.Errorf("ParseListen(%s, %q): empty Raw", k, s)
			}
			if err == nil && (l.Family == FamilyInet || l.Family == FamilyInet6) {
				if l.Port <= 0 || l.Port > 65535 {
					t.Errorf("ParseListen(%s, %q): port %d", k, s, l.Port)
				}
				// Raw must parse back to the same address
				back, err := ParseListen(k, l.Raw)
				if err != nil || back.Port != l.Port || back.Host != l.Host && !(l.Host == "" && back.Host == "::") {
					t.Errorf("ParseListen(%s, %q) Raw %q does not round-trip: %+v %v", k, s, l.Raw, back, err)
				}
			}
		}
	})
}
