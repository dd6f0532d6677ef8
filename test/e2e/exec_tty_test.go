package e2e

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestExecTTY: a service with StandardInput=tty on a terminal of its own gets it as its
// controlling terminal, sized by TTYRows=/TTYColumns=, reset by TTYReset= (the test left it
// without echo and canonical mode), and TTYVHangup= hangs up whoever had it open before.
func TestExecTTY(t *testing.T) {
	master, tty := openPTY(t)
	defer master.Close()
	defer tty.Close()
	// A state TTYReset= undoes.
	tio, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	tio.Lflag &^= unix.ECHO | unix.ICANON
	if err := unix.IoctlSetTermios(int(tty.Fd()), unix.TCSETS, tio); err != nil {
		t.Fatal(err)
	}
	name, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(int(tty.Fd())))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	units := writeUnits(t, map[string]string{
		"tty.service": unitFile("Service", "Type=oneshot\nStandardInput=tty\nStandardOutput=file:"+out+
			"\nTTYPath="+name+"\nTTYRows=33\nTTYColumns=101\nTTYReset=yes\nTTYVHangup=yes\n"+
			`ExecStart=/bin/sh -c 'stty size; stty -a | tr " " "\n" | grep -x -e echo -e icanon; ps -o tty= -p $$$$'`),
	})
	m := startManager(t, units)
	c := on(t, m)
	c.start("tty.service")
	got := strings.Fields(readWait(t, out))
	want := []string{"33", "101", "icanon", "echo", strings.TrimPrefix(name, "/dev/")}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("service saw %q, want %q", got, want)
	}
	// The test's own descriptor of the terminal was hung up.
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := unix.Write(int(tty.Fd()), []byte("x"))
		if err == unix.EIO {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("write to the hung-up terminal: %v, want EIO", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
