package sdbus

import (
	"errors"
	"io"
	"os"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
)

// fakeTransient serves StartTransientUnit for the fake backend: it writes the unit's name to
// the file passed as StandardOutputFileDescriptor and leaves the call to close the files.
func fakeTransient(c *Call) {
	name, _ := c.Body[0].(string)
	props, _ := c.Body[2].([][]any)
	for _, p := range props {
		if p[0] != "StandardOutputFileDescriptor" {
			continue
		}
		idx, ok := p[1].(dbus.Variant).Value().(dbus.UnixFDIndex)
		if !ok {
			c.Fail(ErrInvalidArgs, "not an fd")
			return
		}
		f, err := c.FD(idx)
		if err != nil {
			c.Fail(ErrInvalidArgs, err.Error())
			return
		}
		if _, err := f.WriteString(name + "\n"); err != nil {
			c.Fail(ErrFailed, err.Error())
			return
		}
		c.Reply(JobPath(8))
		return
	}
	c.Fail(ErrInvalidArgs, "no StandardOutputFileDescriptor")
}

// checkFDPassing calls StartTransientUnit on obj with the write end of a pipe as the
// service's stdout; the fake writes the unit's name to it; once the call is answered the
// server has closed its copy (the read end sees EOF).
func checkFDPassing(t *testing.T, c *dbus.Conn, obj dbus.BusObject) {
	t.Helper()
	if !c.SupportsUnixFDs() {
		t.Fatal("the connection does not pass fds")
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	props := []struct {
		Name  string
		Value dbus.Variant
	}{{"StandardOutputFileDescriptor", dbus.MakeVariant(dbus.UnixFD(w.Fd()))}}
	var job dbus.ObjectPath
	err = obj.Call(IfaceManager+".StartTransientUnit", 0, "piped.service", "fail", props, []struct {
		Name  string
		Props []struct {
			Name  string
			Value dbus.Variant
		}
	}{}).Store(&job)
	w.Close()
	if err != nil || job != JobPath(8) {
		t.Fatalf("StartTransientUnit: %v %v", job, err)
	}
	r.SetReadDeadline(time.Now().Add(time.Minute))
	got, err := io.ReadAll(r)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("the server keeps the passed fd open (read %q)", got)
	}
	if err != nil || string(got) != "piped.service\n" {
		t.Errorf("through the passed fd: %q %v", got, err)
	}
}

// TestPrivateFDs: a peer of the private socket passes an fd with a call.
func TestPrivateFDs(t *testing.T) {
	_, path := startServer(t)
	c, err := dbus.Dial("unix:path=" + path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Auth(nil); err != nil {
		t.Fatal(err)
	}
	checkFDPassing(t, c, c.Object("", ManagerPath))
}

// TestBusFDs: a client of the bus passes an fd with a call to the server's name.
func TestBusFDs(t *testing.T) {
	addr, _ := startBusDaemon(t)
	srv, _ := startServer(t)
	b, err := srv.ConnectBus(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	c, err := dbus.Connect(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	checkFDPassing(t, c, c.Object(busName, ManagerPath))
}

// TestReadMessageFDs: the fds queued are claimed in order by the messages that announce
// them; a message that announces more than came is an error.
func TestReadMessageFDs(t *testing.T) {
	fr := &fdReader{}
	var files []*os.File
	for range 3 {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		w.Close()
		files = append(files, r)
	}
	fr.queued = append(fr.queued, files...)
	got, err := fr.take(2)
	if err != nil || len(got) != 2 || got[0] != files[0] || got[1] != files[1] {
		t.Errorf("take(2) = %v %v", got, err)
	}
	if _, err := fr.take(2); err == nil {
		t.Error("take(2) of 1 queued: no error")
	}
	fr.closeAll()
	closeFiles(got)
	if len(fr.queued) != 0 {
		t.Errorf("queued after closeAll: %v", fr.queued)
	}
}
