package e2e

import (
	"fmt"
	"io"
	"net"
	"testing"
	"time"
)

// TestInetdStyle runs /bin/cat per connection with Accept=yes and StandardInput=socket, the way
// inetd-style daemons (tinysshd, micro-httpd) are packaged: the connection is fd 0, and fd 1
// too — StandardOutput= defaults to inherit when StandardInput=socket (systemd.exec(5)). Control
// processes (ExecStartPre=) get the connection as well: systemd 252 answers "pre\nmsg\n" for
// the last case (checked with scripts/systemd-ns); tinysshd's packaged ExecStartPre needs this.
func TestInetdStyle(t *testing.T) {
	for i, tc := range []struct {
		name    string
		service string // [Service] body
		prefix  string // what comes back before the echo
	}{
		{name: "stdout_defaults_to_socket", service: "ExecStart=/bin/cat\nStandardInput=socket\n"},
		{name: "stdout_socket_explicit", service: "ExecStart=/bin/cat\nStandardInput=socket\nStandardOutput=socket\n"},
		{
			name:    "ExecStartPre_gets_the_connection",
			service: "ExecStartPre=/bin/echo pre\nExecStart=/bin/cat\nStandardInput=socket\nStandardOutput=socket\n",
			prefix:  "pre\n",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := fmt.Sprintf("127.0.0.1:%d", 20511+i)
			units := writeUnits(t, map[string]string{
				"echo.socket":   "[Unit]\nDescription=echo socket\n\n[Socket]\nListenStream=" + addr + "\nAccept=yes\n",
				"echo@.service": "[Unit]\nDescription=echo per connection\n\n[Service]\n" + tc.service,
			})
			wantedBy(t, units, "sockets.target", "echo.socket")
			startManager(t, units)
			for n := 1; n <= 3; n++ {
				msg := fmt.Sprintf("connection %d\n", n)
				var got []byte
				if !waitFor(10*time.Second, func() bool {
					c, err := net.Dial("tcp", addr)
					if err != nil {
						return false
					}
					defer c.Close()
					c.SetDeadline(time.Now().Add(10 * time.Second))
					fmt.Fprint(c, msg)
					c.(*net.TCPConn).CloseWrite()
					got, err = io.ReadAll(c)
					return true
				}) {
					t.Fatalf("cannot connect to %s", addr)
				}
				if string(got) != tc.prefix+msg {
					t.Fatalf("connection %d: got %q, want %q", n, got, tc.prefix+msg)
				}
			}
		})
	}
}
